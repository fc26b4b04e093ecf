//! `cargo xtask verdicts BEFORE`: which verdicts moved between two runs of
//! `cargo xtask measure`.
//!
//! Copy `book/src/measured/` aside, measure again, then compare:
//!
//! ```text
//! cp -r book/src/measured /tmp/run1 && cargo xtask measure
//! cargo xtask verdicts /tmp/run1
//! ```
//!
//! Every rendered table and every program's text output states its
//! comparisons in a few fixed words ("faster", "within noise", "one run",
//! "SLOWER than serial, beyond noise"). This pairs the lines of each file of the
//! two folders in order, skips the stamps, and lists each line whose verdict
//! words differ. A measurement that gains or loses lines is named whole.

use anyhow::Context;
use std::path::Path;

/// The words a verdict is said in, longest first so that a phrase is not
/// also counted by a word inside it. Sources: `render::verdict`, the table
/// of Python against Rust, `workers::flag::report`, chapter 1's report,
/// chapter 7's conclusion.
const VERDICT_WORDS: &[&str] = &[
    "faster looking than not",
    "slower beyond noise",
    "faster beyond noise",
    "SLOWER than serial, beyond noise",
    "no verdict from",
    "too few for a verdict",
    "too few repeats for a verdict",
    "about as fast as serial",
    "faster than serial",
    "cheapest coordination",
    "cost no more",
    "is the cheaper",
    "as long at the median",
    "as dear",
    "Python slower",
    "Python faster",
    "too few repeats",
    "within noise",
    "(faster)",
    "(slower)",
    "(one run)",
    " runs)",
    "is faster",
    "| ~",
];

/// One line whose verdict differs between the runs.
#[derive(Debug, PartialEq)]
pub struct Moved {
    /// The measured file.
    pub file: String,
    /// The line's label: its first table cell, or its start.
    pub label: String,
    pub before: Vec<&'static str>,
    pub after: Vec<&'static str>,
}

/// The verdict words of `line`, in order.
fn verdicts(line: &str) -> Vec<&'static str> {
    let mut found = Vec::new();
    let mut rest = line;
    while !rest.is_empty() {
        match VERDICT_WORDS.iter().find(|w| rest.starts_with(**w)) {
            Some(w) => {
                found.push(*w);
                rest = &rest[w.len()..];
            }
            None => {
                let step = rest.chars().next().map_or(1, char::len_utf8);
                rest = &rest[step..];
            }
        }
    }
    found
}

/// The lines of a measured file that come from the measurement, not its
/// stamp.
fn figures(text: &str) -> Vec<&str> {
    (text.lines())
        .filter(|l| !l.starts_with("_Measured") && !l.starts_with("# measured"))
        .collect()
}

/// The lines of file `name` whose verdicts differ between `before` and
/// `after`; and whether the two have the same number of lines.
pub fn moved(name: &str, before: &str, after: &str) -> (Vec<Moved>, bool) {
    let (a, b) = (figures(before), figures(after));
    let moved = (a.iter().zip(&b))
        .filter_map(|(x, y)| {
            let (before, after) = (verdicts(x), verdicts(y));
            (before != after).then(|| Moved {
                file: name.to_string(),
                label: label(x),
                before,
                after,
            })
        })
        .collect();
    (moved, a.len() == b.len())
}

/// A line's first table cell, or its first words.
fn label(line: &str) -> String {
    let cell = match line.strip_prefix('|') {
        Some(row) => row.split('|').next().unwrap_or(row),
        None => line,
    };
    cell.trim().chars().take(72).collect()
}

/// Compares the measured files in `before` with the current ones, prints
/// each moved verdict and a count. Never fails on what it finds: two runs
/// of a noisy machine are what it reports on, not a test.
pub fn run(before: &Path) -> anyhow::Result<()> {
    let now = crate::data::measured_dir();
    let (mut lines, mut all_moved) = (0, Vec::new());
    let mut names: Vec<_> = std::fs::read_dir(before)
        .with_context(|| format!("cannot read {}", before.display()))?
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .collect();
    names.sort();
    for name in names {
        let name = name.to_string_lossy().into_owned();
        if !(name.ends_with(".md") || name.ends_with(".txt")) {
            continue;
        }
        let Ok(after) = std::fs::read_to_string(now.join(&name)) else {
            continue;
        };
        let before = std::fs::read_to_string(before.join(&name))?;
        lines += figures(&before)
            .iter()
            .filter(|l| !verdicts(l).is_empty())
            .count();
        let (moved, same_shape) = self::moved(&name, &before, &after);
        if !same_shape {
            println!("{name}: the two runs have different lines; compare it by eye");
        }
        all_moved.extend(moved);
    }
    for m in &all_moved {
        println!(
            "{} | {}\n    before: {:?}\n    now:    {:?}",
            m.file, m.label, m.before, m.after
        );
    }
    println!(
        "verdicts: {lines} lines with a verdict, {} moved",
        all_moved.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verdict_that_moves_is_named_with_its_row() {
        let before =
            "| mmap | +1.0% (within noise) |\n| Redis | +30% |\n_Measured x_\n";
        let after = "| mmap | +4.0% |\n| Redis | +31% |\n_Measured y_\n";
        let (moved, same) = super::moved("t.md", before, after);
        assert!(same);
        assert_eq!(
            moved,
            [Moved {
                file: "t.md".into(),
                label: "mmap".into(),
                before: vec!["within noise"],
                after: vec![],
            }]
        );
    }

    #[test]
    fn numbers_alone_do_not_move_a_verdict() {
        let before = "Parallel was 1.90x faster than serial.\n| 10^4 | ~1.02x |";
        let after = "Parallel was 1.97x faster than serial.\n| 10^4 | ~0.98x |";
        assert!(super::moved("t.txt", before, after).0.is_empty());
    }

    #[test]
    fn the_longest_phrase_wins() {
        assert_eq!(
            verdicts("+3% (faster looking than not)"),
            ["faster looking than not"]
        );
        assert_eq!(
            verdicts("x (faster) and y is faster"),
            ["(faster)", "is faster"]
        );
    }
}
