//! The real binary, run as a student or a script would run it.

use assert_cmd::cargo::{cargo_bin, cargo_bin_cmd};
use predicates::prelude::*;
use serde_json::Value;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use workers::prime::is_prime;
use workers::ps;
use workers::testkit as kit;

fn json_run(args: &[&str]) -> Value {
    kit::json_run(cargo_bin!("01-work-queue"), args)
}

#[test]
fn default_run_prints_the_texts_fifteen_primes() {
    let _turn = kit::turn();
    cargo_bin_cmd!("01-work-queue")
        .timeout(Duration::from_secs(60))
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "Checked 200 numbers (100000..100200)",
        ))
        .stdout(predicate::str::contains("15 primes:"))
        .stdout(predicate::str::contains("100003 100019"))
        .stdout(predicate::str::contains("100193"))
        .stdout(predicate::str::contains(
            "Every number checked exactly once, same primes as serial: yes",
        ));
}

#[test]
fn every_task_once_and_the_primes_of_a_serial_run() {
    let _turn = kit::turn();
    let (from, to) = (1_000_000u64, 1_010_000u64);
    let (f, t) = (from.to_string(), to.to_string());
    let v = json_run(&[
        "--from",
        &f,
        "--to",
        &t,
        "--workers",
        "3",
        "--batch",
        "7",
        "--repeats",
        "2",
    ]);
    let serial: Vec<u64> = (from..to).filter(|&n| is_prime(n)).collect();
    let primes: Vec<u64> = serde_json::from_value(v["primes"].clone()).unwrap();
    assert_eq!(primes, serial);
    let tasks: Vec<u64> =
        serde_json::from_value(v["tasks_per_worker"].clone()).unwrap();
    assert_eq!(tasks.len(), 3);
    assert_eq!(tasks.iter().sum::<u64>(), to - from);
    assert_eq!(v["exactly_once"], true);
}

#[test]
fn a_slow_worker_takes_fewer_tasks() {
    let _turn = kit::turn();
    let v = json_run(&["--workers", "2", "--slow-worker", "1", "--repeats", "1"]);
    let tasks: Vec<u64> =
        serde_json::from_value(v["tasks_per_worker"].clone()).unwrap();
    assert!(tasks[1] < tasks[0], "slow worker took {tasks:?}");
    assert_eq!(tasks.iter().sum::<u64>(), 200);
}

#[test]
fn sweep_reports_every_size_and_both_legs() {
    let _turn = kit::turn();
    let v = json_run(&["--sweep", "--repeats", "1", "--workers", "2"]);
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 7);
    for row in rows {
        assert_eq!(row["unbatched"]["batch"], 1);
        assert_eq!(row["batched"]["batch"], 64);
        assert!(row["task_ns"].as_f64().unwrap() > 0.0);
    }
}

#[test]
fn bad_input_is_refused_with_exit_2_before_anything_starts() {
    let cases: &[(&[&str], &str)] = &[
        (&["--workers", "0"], "--workers"),
        (&["--from", "5", "--to", "5"], "must be below"),
        (&["--from", "10", "--to", "5"], "must be below"),
        (&["--batch", "0"], "--batch"),
        (&["--to", "99999999999999999999999"], "--to"),
        (&["--from", "0", "--to", "100000000000"], "at most"),
        (&["--workers", "2", "--slow-worker", "2"], "names no worker"),
        (&["--repeats", "0"], "--repeats"),
        (&["--wat"], "--wat"),
    ];
    kit::refused_with_exit_2(cargo_bin!("01-work-queue"), cases);
}

/// Starts a run long enough to interfere with, and waits for its workers.
fn long_run(workers: &str) -> (Child, Vec<u32>) {
    long_run_with(workers, &[])
}

/// [`long_run`] with more arguments.
fn long_run_with(workers: &str, extra: &[&str]) -> (Child, Vec<u32>) {
    let child = Command::new(cargo_bin!("01-work-queue"))
        .args(["--from", "1000000000000", "--to", "1000000100000"])
        .args(["--workers", workers, "--batch", "4", "--repeats", "1"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let n = workers.parse().unwrap();
    let kids = ps::wait_for_children(child.id(), n, Duration::from_secs(10))
        .expect("workers started");
    // Let the first batches go out, so the kill lands mid-run.
    std::thread::sleep(Duration::from_millis(200));
    (child, kids)
}

fn finish(child: Child) -> (i32, String) {
    let out = child.wait_with_output().unwrap();
    let code = out.status.code().expect("exited, not killed");
    (code, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn a_killed_worker_is_named_and_its_tasks_requeued() {
    let _turn = kit::turn();
    let (child, kids) = long_run("2");
    kit::send_signal(kids[1], "KILL");
    let (code, stderr) = finish(child);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("worker 1"), "{stderr}");
    assert!(stderr.contains("killed by signal 9 (SIGKILL)"), "{stderr}");
    assert!(stderr.contains("went back on the queue"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line for the run: {stderr}");
    assert!(ps::left_behind(&kids, Duration::from_secs(2)).is_empty());
}

#[test]
fn the_last_worker_killed_ends_the_run_with_its_tasks_reported_lost() {
    let _turn = kit::turn();
    let (child, kids) = long_run("1");
    kit::send_signal(kids[0], "KILL");
    let (code, stderr) = finish(child);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("no worker is left"), "{stderr}");
    assert!(stderr.contains("were never checked"), "{stderr}");
}

#[test]
fn ctrl_c_leaves_no_worker_and_exits_130() {
    let _turn = kit::turn();
    let (child, kids) = long_run("2");
    kit::send_signal(child.id(), "INT");
    let (code, _) = finish(child);
    assert_eq!(code, 130);
    assert!(ps::left_behind(&kids, Duration::from_secs(2)).is_empty());
}

#[test]
fn a_normal_run_leaves_no_worker() {
    let _turn = kit::turn();
    let child = Command::new(cargo_bin!("01-work-queue"))
        .args([
            "--from",
            "1000000000000",
            "--to",
            "1000000004000",
            "--batch",
            "16",
        ])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let kids =
        ps::wait_for_children(child.id(), 1, Duration::from_secs(10)).unwrap();
    let (code, _) = finish(child);
    assert_eq!(code, 0);
    assert!(ps::left_behind(&kids, Duration::from_secs(2)).is_empty());
}

/// What a run must never leave: its directory of worker sockets.
const PREFIX: &str = "01-work-queue";

#[test]
fn a_stopped_worker_is_named_killed_and_its_tasks_done_by_the_others() {
    let _turn = kit::turn();
    // Alive but silent: SIGSTOP closes nothing, so only the heartbeat's
    // absence gives it away, after --silence-ms.
    let (child, kids) = long_run_with("2", &["--silence-ms", "1000", "--json"]);
    kit::send_signal(kids[1], "STOP");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let line = format!("worker 1 (pid {}) was silent for", kids[1]);
    assert!(
        stderr.contains(&line) && stderr.contains("SIGSTOP"),
        "{stderr}"
    );
    assert!(stderr.contains("went back on the queue"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line for the run: {stderr}");
    // Its batches went to worker 0: every number still checked exactly once.
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["exactly_once"], true, "{v}");
    assert!(ps::left_behind(&kids, Duration::from_secs(2)).is_empty());
}

#[test]
fn ctrl_c_while_workers_start_exits_130_and_leaves_nothing() {
    let _turn = kit::turn();
    let bin = cargo_bin!("01-work-queue");
    let args = [
        "--workers",
        "64",
        "--from",
        "1000000000000",
        "--to",
        "1000000100000",
    ];
    for ms in [5, 30, 120] {
        let after = Duration::from_millis(ms);
        let (code, stderr, pid, kids) = kit::ctrl_c_after(bin, &args, after);
        assert_eq!(code, Some(130), "Ctrl-C after {ms} ms: {stderr}");
        assert!(
            !stderr.contains("error") && !stderr.contains("SIGKILL"),
            "{stderr}"
        );
        assert!(ps::left_behind(&kids, Duration::from_secs(2)).is_empty());
        assert!(kit::leftovers(PREFIX, pid).is_empty());
    }
}

#[test]
fn sockets_left_by_a_killed_run_are_removed_by_the_next() {
    let _turn = kit::turn();
    // SIGKILL of the parent while workers start can run no clean-up: its
    // directory of sockets stays until the next run of the program.
    let mut gone = Command::new("true").spawn().unwrap();
    gone.wait().unwrap();
    let left = std::env::temp_dir().join(format!("{PREFIX}-sockets-{}", gone.id()));
    std::fs::create_dir_all(left.join(".tmpAbCdEf")).unwrap();
    let out = Command::new(cargo_bin!("01-work-queue")).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("removed {}", left.display())),
        "{stderr}"
    );
    assert!(!left.exists());
}

#[test]
fn too_few_file_descriptors_are_refused_before_anything_starts() {
    let _turn = kit::turn();
    let bin = cargo_bin!("01-work-queue").display();
    let script = format!("ulimit -n 40 && exec {bin} --workers 40 --repeats 1");
    let out = Command::new("sh").args(["-c", &script]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("file descriptors") && stderr.contains("ulimit"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn an_unusable_temporary_folder_is_one_clear_line() {
    let _turn = kit::turn();
    let out = Command::new(cargo_bin!("01-work-queue"))
        .env("TMPDIR", "/nonexistent")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("TMPDIR") && stderr.contains("/nonexistent"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}
