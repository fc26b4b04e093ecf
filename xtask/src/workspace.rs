//! The workspace: where it is, and running a command in it.
//!
//! Every other module needs these; they need no other module, so they sit
//! at the bottom of the module graph.

use anyhow::{Context, bail};
use std::path::PathBuf;
use std::process::Command;

/// The workspace root (the parent of this crate's folder).
pub fn root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}

/// Cargo's target folder: `CARGO_TARGET_DIR` if that is set (relative to
/// the workspace root, as cargo reads it), else `target/`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root().join(dir),
        _ => root().join("target"),
    }
}

/// Where cargo puts the programs it builds for `cargo run`: the dev
/// profile's folder under [`target_dir`].
pub fn bin_dir() -> PathBuf {
    target_dir().join("debug")
}

/// Runs a command in the workspace root, echoed, failing if it fails.
pub fn step(program: &str, args: &[&str]) -> anyhow::Result<()> {
    println!("xtask ci: $ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .current_dir(root())
        .status()
        .with_context(|| format!("cannot run {program}"))?;
    if !status.success() {
        bail!("`{program} {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

/// Runs a command in the workspace root and returns its trimmed stdout.
pub fn sh(program: &str, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new(program)
        .args(args)
        .current_dir(root())
        .output()?;
    if !out.status.success() {
        bail!("{program} {} failed", args.join(" "));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}
