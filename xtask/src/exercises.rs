//! The build-it exercises' check: every test passes on the solutions and
//! fails on the stubs.
//!
//! A test that passes on the unsolved stub grades nothing, and a solution
//! that fails its own test teaches the wrong answer. So both runs are made,
//! and each test's verdict is read from cargo's `test NAME ... ok|FAILED`
//! lines.

use crate::workspace::{root, step};
use anyhow::{Context, bail};
use std::collections::BTreeMap;
use std::process::Command;

pub fn check() -> anyhow::Result<()> {
    // The stubs are linted with the workspace; the solutions only here.
    step(
        "cargo",
        &[
            "clippy",
            "-p",
            "exercises",
            "--all-targets",
            "--features",
            "solutions",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    let solved = verdicts(true)?;
    if solved.is_empty() {
        bail!("the exercises crate has no exercise tests");
    }
    let wrong: Vec<&String> = (solved.iter())
        .filter(|(_, ok)| !**ok)
        .map(|(name, _)| name)
        .collect();
    if !wrong.is_empty() {
        bail!("these exercises fail on their own solutions: {wrong:?}");
    }
    // The stubs last: the `exercises` binary left built is theirs, as a
    // student's checkout has it.
    let stubs = verdicts(false)?;
    let passing: Vec<&String> = (stubs.iter())
        .filter(|(_, ok)| **ok)
        .map(|(name, _)| name)
        .collect();
    if !passing.is_empty() {
        bail!("these exercise tests pass on the unsolved stubs: {passing:?}");
    }
    if stubs.keys().ne(solved.keys()) {
        bail!(
            "the stubs and the solutions do not run the same tests: {:?} against {:?}",
            stubs.keys(),
            solved.keys()
        );
    }
    println!(
        "exercises: {} tests pass on the solutions and fail on the stubs",
        solved.len()
    );
    Ok(())
}

/// Each exercise test's verdict (true: passed), with or without the
/// solutions.
fn verdicts(solutions: bool) -> anyhow::Result<BTreeMap<String, bool>> {
    let mut args = vec!["test", "-p", "exercises", "--no-fail-fast"];
    if solutions {
        args.extend(["--features", "solutions"]);
    }
    args.extend(["--", "--ignored"]);
    println!("xtask ci: $ cargo {}", args.join(" "));
    let out = Command::new("cargo")
        .args(&args)
        .current_dir(root())
        .output()
        .context("cannot run cargo")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let found = parse(&stdout);
    // A build error shows up as no verdicts at all: say what cargo said.
    if found.is_empty() {
        bail!(
            "`cargo {}` ran no tests:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for (name, ok) in &found {
        let verdict = if *ok { "passes" } else { "fails" };
        let with = if solutions { "solution" } else { "stub" };
        println!("exercises: {name} {verdict} on the {with}");
    }
    Ok(found)
}

/// The verdicts in cargo test's output: `test NAME ... ok` or `... FAILED`.
fn parse(stdout: &str) -> BTreeMap<String, bool> {
    stdout
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("test ")?;
            let (name, verdict) = rest.split_once(" ... ")?;
            match verdict.trim() {
                "ok" => Some((name.to_string(), true)),
                "FAILED" => Some((name.to_string(), false)),
                _ => None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn verdicts_come_from_cargos_test_lines() {
        let out = "running 2 tests\n\
            test ch01_a ... ok\n\
            test ch01_b ... FAILED\n\
            test ch01_c ... ignored, exercise\n\
            test result: FAILED. 1 passed; 1 failed; 0 ignored\n";
        let v = parse(out);
        assert_eq!(v.len(), 2);
        assert_eq!((v["ch01_a"], v["ch01_b"]), (true, false));
    }
}
