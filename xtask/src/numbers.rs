//! No number typed by hand: every figure in a page's prose is one a
//! measured file or a data file holds, or a constant on [`ALLOWED`].
//!
//! Prose is what a page says outside code: fenced blocks, `inline code`,
//! `{{#include}}` lines and link targets are left out, and so are the
//! rendered files under `measured/`, which are made from the data. A
//! figure is a number with a unit of time, a percent or a ratio (`3.2 µs`,
//! `40 ms`, `12%`, `1.5x`, `2×`) or any decimal (`0.36`). It is traced if
//! the same number, as a number of its own, appears in a file under
//! `book/src/measured/` or `book/data/`: change the figure there and the
//! page that quotes it fails here, instead of going stale.

use crate::workspace::root;
use std::path::{Path, PathBuf};

/// Figures that are not measurements, allowed anywhere in prose, each
/// with why.
const ALLOWED: &[(&str, &str)] = &[
    // Versions of the tools and crates the pages name.
    ("0.5", "mdBook 0.5"),
    ("0.23", "ipc-channel 0.23"),
    ("0.12", "shared_memory 0.12"),
    ("0.9", "memmap2 0.9"),
    ("2.1", "assert_cmd 2.1"),
    ("6.2", "Redis 6.2, the first with XAUTOCLAIM"),
    ("3.4", "Linux 3.4, the first with O_DIRECT pipes"),
    // Constants of the code, not measurements.
    ("250", "workers::pool's HEARTBEAT, 250 ms"),
    (
        "99",
        "workers::stats::CONFIDENCE: every verdict is drawn at 99%",
    ),
    (
        "95",
        "the usual confidence, which the book does not use (measuring.md)",
    ),
    (
        "5",
        "workers::stats::SMALLEST_EFFECT: no verdict claims a difference under 5%",
    ),
    // Where the factor of search.md's numbers sits among their divisors:
    // arithmetic on the numbers, not a measurement.
    ("55", "the early case's factor, at 55% of the divisors"),
    ("75", "the mid case's factor, at 75% of the divisors"),
];

/// TEMPORARY, to be emptied when the branches merge: lines, as `file:line`,
/// of pages that another branch (issue 14's prose) is rewriting at the same
/// time. None is of this branch's pages (`measuring.md`, `tradeoffs.md`,
/// `talk-less.md`).
const TEMPORARY: &[&str] = &[];

/// One figure in prose: where, and as written.
#[derive(Debug, PartialEq)]
pub struct Figure {
    /// `file:line`.
    pub place: String,
    /// The number, without its unit.
    pub number: String,
}

/// Every figure in the prose of `markdown` (pages outside `measured/`)
/// that no measured or data file holds and [`ALLOWED`] does not name, as
/// `file:line: number` lines.
pub fn check(markdown: &[PathBuf]) -> anyhow::Result<Vec<String>> {
    let sources = sources()?;
    let measured = root().join("book/src/measured");
    let mut problems = Vec::new();
    for page in markdown.iter().filter(|p| !p.starts_with(&measured)) {
        let text = std::fs::read_to_string(page)?;
        let name = page
            .strip_prefix(root())
            .unwrap_or(page)
            .display()
            .to_string();
        for f in figures(&name, &text) {
            let traced = sources
                .iter()
                .any(|s| crate::book::contains_number(s, &f.number));
            let allowed = ALLOWED.iter().any(|(n, _)| *n == f.number);
            if !traced && !allowed && !TEMPORARY.contains(&f.place.as_str()) {
                problems.push(format!(
                    "{}: {}: a figure typed by hand; include the measured file it \
                     comes from, or drop it",
                    f.place, f.number
                ));
            }
        }
    }
    Ok(problems)
}

/// The text of every file a figure may be traced to.
fn sources() -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for dir in ["book/src/measured", "book/data"] {
        for entry in std::fs::read_dir(root().join(dir))? {
            let path = entry?.path();
            if path.is_file() && !is_image(&path) {
                out.push(std::fs::read_to_string(&path)?);
            }
        }
    }
    Ok(out)
}

fn is_image(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "svg" || e == "png")
}

/// The figures in the prose of one page.
pub fn figures(name: &str, text: &str) -> Vec<Figure> {
    let mut out = Vec::new();
    let mut fenced = false;
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced || line.trim_start().starts_with("{{#") {
            continue;
        }
        for number in numbers_in(&prose_of(&without_labels(line))) {
            out.push(Figure {
                place: format!("{name}:{}", i + 1),
                number,
            });
        }
    }
    out
}

/// A line without exercise labels: a heading's leading "4.2", and "4.2"
/// after the word "exercise", name an exercise, not a figure.
fn without_labels(line: &str) -> String {
    let label = |w: &str| {
        let w = w.trim_end_matches(|c: char| !c.is_ascii_digit());
        w.split_once('.').is_some_and(|(a, b)| {
            !a.is_empty()
                && !b.is_empty()
                && a.len() <= 2
                && b.len() <= 2
                && (a.chars().chain(b.chars())).all(|c| c.is_ascii_digit())
        })
    };
    let mut words: Vec<&str> = line.split(' ').collect();
    let heading = line.starts_with('#');
    for i in 0..words.len() {
        let first_after_hashes = heading
            && i > 0
            && words[..i].iter().all(|w| w.chars().all(|c| c == '#'));
        let after_exercise = i > 0 && words[i - 1].eq_ignore_ascii_case("exercise");
        if (first_after_hashes || after_exercise) && label(words[i]) {
            words[i] = "";
        }
    }
    words.join(" ")
}

/// A line without its inline code, link targets and includes.
fn prose_of(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '`' => {
                for c in chars.by_ref() {
                    if c == '`' {
                        break;
                    }
                }
                out.push(' ');
            }
            ']' if chars.peek() == Some(&'(') => {
                for c in chars.by_ref() {
                    if c == ')' {
                        break;
                    }
                }
                out.push(' ');
            }
            '{' if chars.peek() == Some(&'{') => {
                for c in chars.by_ref() {
                    if c == '}' {
                        break;
                    }
                }
                out.push(' ');
            }
            c => out.push(c),
        }
    }
    out
}

/// Units that make a number a figure.
const UNITS: &[&str] = &["µs", "ns", "ms", "s", "%", "×", "x", "seconds"];

/// The figures of a line of prose: decimals, and numbers with a unit.
fn numbers_in(line: &str) -> Vec<String> {
    let chars: Vec<char> = line.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let starts = chars[i].is_ascii_digit()
            && (i == 0
                || !(chars[i - 1].is_alphanumeric()
                    || "._^-/".contains(chars[i - 1])));
        if !starts {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < chars.len()
            && (chars[j].is_ascii_digit()
                || (",.".contains(chars[j])
                    && chars.get(j + 1).is_some_and(|c| c.is_ascii_digit())))
        {
            j += 1;
        }
        let number: String = chars[i..j].iter().collect();
        // A power (10^17) is a size, not a figure.
        if chars.get(j) == Some(&'^') {
            i = j + 1;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            continue;
        }
        let rest: String = chars[j..].iter().collect();
        let after = rest.strip_prefix(' ').unwrap_or(&rest);
        let unit = UNITS.iter().any(|u| {
            after.strip_prefix(u).is_some_and(|tail| {
                !tail.chars().next().is_some_and(char::is_alphanumeric)
            })
        });
        if unit || number.contains('.') {
            out.push(number);
        }
        i = j;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_numbers_with_units_or_decimals() {
        let said = numbers_in("took 3.2 µs, 40 ms and 12%: 1.5x, 2× faster, 0.36");
        assert_eq!(said, ["3.2", "40", "12", "1.5", "2", "0.36"]);
    }

    #[test]
    fn exercise_labels_are_not_figures() {
        assert!(figures("p", "### 4.2 A million additions").is_empty());
        assert!(figures("p", "as exercise 3.1's answer shows").is_empty());
        assert_eq!(figures("p", "### Costs 4.2 ms")[0].number, "4.2");
    }

    #[test]
    fn sizes_counts_and_names_are_not_figures() {
        let said = numbers_in(
            "10^17 on 2 cores, chapter 3, 20 runs, step 2, x86-64, 1000 samples",
        );
        assert!(said.is_empty(), "{said:?}");
    }

    #[test]
    fn code_links_and_includes_are_not_prose() {
        let page = "a 1.5 s look\n```text\n2.5 s\n```\n`3.5 s` [x](a-4.5.md) {{#include b}}\n";
        let found = figures("p.md", page);
        assert_eq!(
            found,
            [Figure {
                place: "p.md:1".into(),
                number: "1.5".into()
            }]
        );
    }

    #[test]
    fn a_figure_no_file_holds_is_reported_with_its_place() {
        // A page of its own, outside the book: the check reads the pages
        // it is given.
        let dir = std::env::temp_dir()
            .join(format!("xtask-numbers-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("page.md");
        std::fs::write(&file, "It took 987654.321 µs, on mdBook 0.5.\n").unwrap();
        let problems = check(std::slice::from_ref(&file)).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("page.md:1: 987654.321"),
            "{}",
            problems[0]
        );
    }
}
