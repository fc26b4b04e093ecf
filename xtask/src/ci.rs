//! `cargo xtask ci`: everything CI checks, in one command a newcomer can run.

use crate::book;
use crate::workspace::{root, step};
use anyhow::{Context, bail};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// The mdbook the book is built and checked with.
pub const MDBOOK_VERSION: &str = "0.5.4";

pub fn run() -> anyhow::Result<()> {
    install_mdbook()?;
    install_redis()?;
    step("cargo", &["fmt", "--all", "--", "--check"])?;
    step(
        "cargo",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    let (passed, failed) = cargo_test(&["--workspace"], &[])?;
    // The build-it exercises: `#[ignore]`d above, run here twice.
    crate::exercises::check()?;
    // Chapter 1's ring under the loom model checker: a build of its own,
    // with `--cfg loom`, in a target folder of its own so that the main
    // build's artifacts stay valid.
    let loom_target = crate::workspace::target_dir().join("loom");
    let (loom_passed, _) = cargo_test(
        &["-p", "work-queue", "--test", "ring_loom", "--release"],
        &[
            ("RUSTFLAGS", "--cfg loom".as_ref()),
            ("CARGO_TARGET_DIR", loom_target.as_os_str()),
        ],
    )?;
    let passed = passed + loom_passed;
    book::check()?;
    println!("xtask ci: all checks passed");
    // One closing line for the whole run: cargo ends on its doc-test summary,
    // which would otherwise read as "0 passed".
    println!("tests: {passed} passed, {failed} failed");
    Ok(())
}

/// `cargo test ARGS` with `envs` set, echoed as it runs, with its counts
/// added up.
fn cargo_test(
    args: &[&str],
    envs: &[(&str, &std::ffi::OsStr)],
) -> anyhow::Result<(u64, u64)> {
    let shown: Vec<String> =
        envs.iter().map(|(k, v)| format!("{k}={v:?} ")).collect();
    println!(
        "xtask ci: $ {}cargo test {}",
        shown.concat(),
        args.join(" ")
    );
    let mut child = Command::new("cargo")
        .arg("test")
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(root())
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot run cargo")?;
    let (mut passed, mut failed) = (0, 0);
    let stdout = child.stdout.take().expect("stdout was piped");
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        println!("{line}");
        if let Some(rest) = line.strip_prefix("test result: ") {
            passed += count(rest, " passed");
            failed += count(rest, " failed");
        }
    }
    let status = child.wait()?;
    if !status.success() || failed > 0 {
        bail!("cargo test failed: {passed} passed, {failed} failed");
    }
    Ok((passed, failed))
}

/// The number before `label` in "ok. 9 passed; 0 failed; ...".
fn count(summary: &str, label: &str) -> u64 {
    summary
        .split(';')
        .find_map(|part| part.trim().trim_start_matches("ok. ").strip_suffix(label))
        .and_then(|n| n.trim_start_matches("FAILED. ").trim().parse().ok())
        .unwrap_or(0)
}

/// The output of `program --version`, if it runs.
fn version(program: &str) -> Option<String> {
    let out = Command::new(program).arg("--version").output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// mdbook, at exactly the pinned version: its behaviour on missing includes
/// changed between releases, and the book's checks rely on this one's.
fn install_mdbook() -> anyhow::Result<()> {
    let wanted = format!("v{MDBOOK_VERSION}");
    if version("mdbook").is_some_and(|v| v.contains(&wanted)) {
        return Ok(());
    }
    let pinned = format!("mdbook@{MDBOOK_VERSION}");
    step("cargo", &["install", "--locked", &pinned])
}

/// redis-server, for the chapters whose flag lives in Redis. Installed through
/// apt-get where that works (a Debian or Ubuntu machine, as root); elsewhere a
/// clear message says how to install it.
fn install_redis() -> anyhow::Result<()> {
    if version("redis-server").is_some() {
        return Ok(());
    }
    let root_user = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"));
    if version("apt-get").is_none() || !root_user {
        bail!(
            "redis-server is missing and cannot be installed here: install it \
             (e.g. `sudo apt-get install redis-server`) and run again"
        );
    }
    step("apt-get", &["update", "-qq"])?;
    step("apt-get", &["install", "-y", "-qq", "redis-server"])
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn counts_come_from_cargos_summary_line() {
        let ok = "ok. 9 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out";
        assert_eq!((count(ok, " passed"), count(ok, " failed")), (9, 0));
        let bad = "FAILED. 11 passed; 1 failed; 0 ignored; 0 measured";
        assert_eq!((count(bad, " passed"), count(bad, " failed")), (11, 1));
    }
}
