//! The book's checks.
//!
//! mdBook fails quietly: a missing include file logs an error and exits 0, a
//! missing anchor includes nothing, a bad `book.toml` key drops a whole table.
//! So these checks resolve every include and anchor themselves, check every
//! internal link and every measured file, and treat any ERROR or WARN line of
//! `mdbook build` as a failure.

use crate::data::{
    self, Data, Hpp, MEASUREMENTS, PYTHON, REDIS_FLOOR, RTT_PLANS, measured_dir,
};
use crate::render::RENDERED;
use crate::workspace::root;
use anyhow::{Context, bail};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

pub fn check() -> anyhow::Result<()> {
    let src = root().join("book/src");
    let mut problems = Vec::new();
    let markdown = markdown_files(&src)?;
    for md in &markdown {
        let text = std::fs::read_to_string(md)?;
        let dir = md.parent().expect("a file has a folder");
        let name = md.strip_prefix(root()).unwrap_or(md).display().to_string();
        for include in includes(&text) {
            if let Err(e) = check_include(dir, &include) {
                problems.push(format!("{name}: {{{{#include {include}}}}}: {e}"));
            }
        }
        for link in links(&text) {
            let path = link.split('#').next().unwrap_or_default();
            if !path.is_empty() && !dir.join(path).exists() {
                problems.push(format!("{name}: broken link to {link}"));
            }
        }
    }
    problems.extend(check_measured());
    problems.extend(check_hpp_figures(&markdown)?);
    problems.extend(crate::numbers::check(&markdown)?);
    problems.extend(crate::commands::check(&markdown)?);
    if !problems.is_empty() {
        bail!(
            "the book has {} problems:\n  {}",
            problems.len(),
            problems.join("\n  ")
        );
    }
    mdbook_build()?;
    println!(
        "book: includes, anchors, links, measured files and shown commands check out"
    );
    Ok(())
}

fn markdown_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            out.extend(markdown_files(&path)?);
        } else if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
    Ok(out)
}

/// The arguments of every `{{#include ...}}` (and `rustdoc_include`).
fn includes(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for marker in ["{{#include ", "{{#rustdoc_include "] {
        for (at, _) in text.match_indices(marker) {
            let rest = &text[at + marker.len()..];
            if let Some(end) = rest.find("}}") {
                out.push(rest[..end].trim().to_string());
            }
        }
    }
    out
}

/// `path` or `path:anchor`; line numbers are refused, they rot silently.
fn check_include(dir: &Path, include: &str) -> anyhow::Result<()> {
    let (path, anchor) = match include.split_once(':') {
        Some((p, a)) => (p, Some(a)),
        None => (include, None),
    };
    let file = dir.join(path);
    let text = std::fs::read_to_string(&file).context("file not found")?;
    let Some(anchor) = anchor else { return Ok(()) };
    if anchor
        .split(':')
        .all(|p| p.chars().all(|c| c.is_ascii_digit()))
    {
        bail!("includes by line number; use a named ANCHOR");
    }
    for mark in [format!("ANCHOR: {anchor}"), format!("ANCHOR_END: {anchor}")] {
        if !text.lines().any(|l| l.trim_end().ends_with(&mark)) {
            bail!("no `{mark}` line in {path}");
        }
    }
    Ok(())
}

/// Targets of inline markdown links that point inside the book.
fn links(text: &str) -> Vec<String> {
    text.match_indices("](")
        .filter_map(|(at, _)| {
            let rest = &text[at + 2..];
            let target = &rest[..rest.find(')')?];
            let external = target.contains("://") || target.starts_with(['#', '{']);
            (!external && !target.starts_with("mailto:")).then(|| target.to_string())
        })
        .collect()
}

/// Every file under `book/src/measured/`: what the programs write, the
/// documents `measure` writes itself (the floor, Python's, chapter 6 at each
/// distance), and what is rendered from them.
fn all_files() -> Vec<&'static str> {
    MEASUREMENTS
        .iter()
        .map(|m| m.file)
        .chain([REDIS_FLOOR, PYTHON])
        .chain(RTT_PLANS.iter().map(|p| p.file))
        .chain(RENDERED.iter().map(|(f, _)| *f))
        .collect()
}

/// Every measured and rendered file exists and is stamped; the documents the
/// tables read load into their types; nothing else (a stale file from a
/// measurement since removed) sits beside them.
fn check_measured() -> Vec<String> {
    let mut problems = Vec::new();
    let dir = measured_dir();
    let known = all_files();
    for file in &known {
        let path = dir.join(file);
        let Ok(text) = std::fs::read_to_string(&path) else {
            problems.push(format!("missing {file}: run `cargo xtask measure`"));
            continue;
        };
        let stamped = if file.ends_with(".json") {
            // Any object under a whole stamp here; the documents' own fields
            // are checked by loading them into their types, below.
            if let Err(e) = data::parse::<Map<String, Value>>(file, &text) {
                problems.push(format!("{e:#}"));
                continue;
            }
            true
        } else if file.ends_with(".txt") {
            text.starts_with("# measured ")
        } else if file.ends_with(".svg") {
            text.starts_with("<svg")
        } else {
            text.contains("\n_Measured ")
        };
        if !stamped {
            problems.push(format!("{file} is not stamped or does not parse"));
        }
    }
    // Tables and charts must be what the current code makes of the data:
    // a change to a renderer without `cargo xtask measure` shows up here.
    match Data::load() {
        Err(e) => problems.push(format!("the measured data cannot be read: {e:#}")),
        Ok(data) => {
            for (file, render) in RENDERED {
                let committed =
                    std::fs::read_to_string(dir.join(file)).unwrap_or_default();
                match render(&data) {
                    Ok(text) if text == committed => {}
                    Ok(_) => problems.push(format!(
                        "{file} is not what the current code renders: run `cargo xtask measure`"
                    )),
                    Err(e) => problems.push(format!("{file} cannot be rendered: {e:#}")),
                }
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !known.contains(&name.as_str()) {
                problems
                    .push(format!("{name} in measured/ is made by no measurement"));
            }
        }
    }
    problems
}

/// Every figure of `book/data/hpp.json` reaches the book through that file:
/// none is typed into a page's prose (anything outside `measured/`) or into
/// the code under `xtask/src` that renders the tables. Reported as
/// `file:line: figure`.
fn check_hpp_figures(markdown: &[PathBuf]) -> anyhow::Result<Vec<String>> {
    let hpp = Hpp::load()?;
    let needles = hpp_needles(&hpp);
    let measured = measured_dir();
    let mut files: Vec<PathBuf> = (markdown.iter())
        .filter(|p| !p.starts_with(&measured))
        .cloned()
        .collect();
    files.extend(rust_files(&root().join("xtask/src"))?);
    let mut problems = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)?;
        let name = file.strip_prefix(root()).unwrap_or(&file).display();
        for (i, line) in text.lines().enumerate() {
            for needle in &needles {
                let place = format!("{name}:{}", i + 1);
                if contains_number(line, needle)
                    && !temporarily_allowed(&place, needle)
                {
                    problems.push(format!(
                        "{place}: {needle}: a figure of High Performance Python typed \
                         by hand; include measured/hpp.md or render it from \
                         book/data/hpp.json"
                    ));
                }
            }
        }
    }
    Ok(problems)
}

/// TEMPORARY, to be emptied when the branches merge: lines, as `file:line`,
/// of pages that another branch (issue 14's prose) is rewriting at the same
/// time, whose numbers are not checked. Nothing of this branch's own is here.
const TEMPORARY: &[&str] = &[
    "book/src/01-work-queue.md:338",
    "book/src/01-work-queue.md:339",
];

/// Whether the line at `place` is on the [`TEMPORARY`] list.
fn temporarily_allowed(place: &str, _number: &str) -> bool {
    TEMPORARY.contains(&place)
}

/// How a page would quote each of HPP's figures: with two decimals as the
/// text quotes its seconds ("1.23"); whole seconds with their unit ("60 s"),
/// and bare when they have three digits ("120"); the tiny figures as
/// written ("0.000321").
fn hpp_needles(hpp: &Hpp) -> Vec<String> {
    let mut needles = Vec::new();
    for f in hpp.figures() {
        if f.fract() == 0.0 {
            needles.push(format!("{f:.0} s"));
            if f >= 100.0 {
                needles.push(format!("{f:.0}"));
            }
        } else if f >= 0.01 {
            needles.push(format!("{f:.2}"));
        } else if f >= 0.0001 {
            needles.push(format!("{f}"));
        }
    }
    needles.sort();
    needles.dedup();
    needles
}

/// Whether `line` holds `number` as a number of its own: not inside a
/// longer one ("11.23" does not hold "1.23", nor "1.234").
pub fn contains_number(line: &str, number: &str) -> bool {
    line.match_indices(number).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let mut after = line[at + number.len()..].chars();
        let digit_or_point =
            |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit() || c == '.');
        let (next, then) = (after.next(), after.next());
        let longer = next.is_some_and(|c| c.is_ascii_digit())
            || (next == Some('.') && then.is_some_and(|c| c.is_ascii_digit()));
        !digit_or_point(before) && !longer
    })
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            out.extend(rust_files(&path)?);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(out)
}

fn mdbook_build() -> anyhow::Result<()> {
    let out = Command::new("mdbook")
        .args(["build", "book"])
        .current_dir(root())
        .output()
        .context("cannot run mdbook (`cargo xtask ci` installs it)")?;
    let log =
        String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    let bad: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("ERROR") || l.contains("WARN"))
        .collect();
    if !out.status.success() || !bad.is_empty() {
        bail!("mdbook build is not clean:\n{log}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_is_found_only_as_a_number_of_its_own() {
        assert!(contains_number("took 1.23 s", "1.23"));
        assert!(contains_number("(1.23)", "1.23"));
        assert!(contains_number("1.23.", "1.23"));
        assert!(!contains_number("took 11.23 s", "1.23"));
        assert!(!contains_number("took 1.234 s", "1.23"));
        assert!(!contains_number("1109 and 1110", "110"));
    }

    #[test]
    fn hpp_figures_are_looked_for_as_a_page_would_quote_them() {
        let hpp = Hpp::load().unwrap();
        let needles = hpp_needles(&hpp);
        for f in hpp.figures().into_iter().filter(|f| *f >= 0.01) {
            let quoted = if f.fract() == 0.0 {
                format!("{f:.0} s")
            } else {
                format!("{f:.2}")
            };
            assert!(needles.contains(&quoted), "{quoted} not looked for");
        }
    }

    #[test]
    fn no_page_and_no_renderer_types_an_hpp_figure() {
        let markdown = markdown_files(&root().join("book/src")).unwrap();
        let problems = check_hpp_figures(&markdown).unwrap();
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn no_page_types_a_figure_by_hand() {
        let markdown = markdown_files(&root().join("book/src")).unwrap();
        let problems = crate::numbers::check(&markdown).unwrap();
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn every_measured_file_has_a_name_of_its_own() {
        let mut files = all_files();
        let n = files.len();
        files.sort_unstable();
        files.dedup();
        assert_eq!(files.len(), n);
    }
}
