//! What both test files of this crate need: the program, and reading what it
//! prints as it runs.
// Each test file is its own crate and uses part of this module.
#![allow(dead_code)]

use assert_cmd::cargo::cargo_bin;
use std::path::Path;
use std::process::{Child, Stdio};
use workers::testkit as kit;

pub fn bin() -> &'static Path {
    cargo_bin!("06-redis-flag")
}

/// The next line a program writes on its piped standard error, or "" at its
/// end. (Byte by byte: a reader that buffers more would take lines the test
/// reads later.)
pub fn next_line(child: &mut Child) -> String {
    let stderr = child.stderr.as_mut().unwrap();
    let mut line = Vec::new();
    let mut byte = [0u8];
    while std::io::Read::read(stderr, &mut byte).unwrap() == 1 && byte[0] != b'\n' {
        line.push(byte[0]);
    }
    String::from_utf8(line).unwrap()
}

/// The first line on a child's piped standard error that starts with
/// `start` (a note about an earlier run's leftovers may come first), or ""
/// if the program ends first.
pub fn line_starting(child: &mut Child, start: &str) -> String {
    loop {
        let line = next_line(child);
        if line.is_empty() || line.starts_with(start) {
            return line;
        }
    }
}

/// `coordinate --json args...`, returned once its ranges are queued (its
/// line "Run ..." is out).
pub fn coordinator(args: &[&str]) -> Child {
    let mut child = kit::program(bin())
        .arg("coordinate")
        .args(args)
        .arg("--json")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let first = line_starting(&mut child, "Run ");
    assert!(first.starts_with("Run "), "{first}");
    child
}
