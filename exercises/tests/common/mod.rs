//! What the exercises' tests share: running `exercises chNN` as a student
//! would, and checking that it left no process behind.
// Each test file is its own crate and uses part of this module.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use workers::ps;

/// How long one exercise run may take.
const LIMIT: Duration = Duration::from_secs(120);

/// Runs `exercises ARGS` and returns its standard output. Fails the test,
/// with the program's own error line, unless it exits 0 within the limit
/// and leaves none of its worker processes behind.
pub fn exercise(args: &[&str]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_exercises"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the exercises binary starts");
    let read = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = read(Box::new(child.stdout.take().unwrap()));
    let stderr = read(Box::new(child.stderr.take().unwrap()));
    // Note every worker it starts, to look for them once it has ended.
    let mut workers = BTreeSet::new();
    let start = Instant::now();
    let status = loop {
        workers.extend(ps::children_of(child.id()));
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`exercises {}` still ran after {LIMIT:?}", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    let workers: Vec<u32> = workers.into_iter().collect();
    let left = ps::left_behind(&workers, Duration::from_secs(5));
    assert!(left.is_empty(), "processes left behind: {left:?}");
    assert!(
        status.success(),
        "`exercises {}` {status}; it said:\n{stderr}",
        args.join(" ")
    );
    stdout
}
