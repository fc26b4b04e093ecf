//! The real binary, run as a student or a script would run it: every
//! demonstration's verdict and exit code, and nothing left behind.

use assert_cmd::cargo::{cargo_bin, cargo_bin_cmd};
use serde_json::Value;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use workers::ps;
use workers::testkit as kit;

fn json_run(args: &[&str]) -> Value {
    kit::json_run(cargo_bin!("02-poison-pill"), args)
}

/// Runs with `args`, expecting exit `code`; returns stdout.
fn run_expecting(code: i32, args: &[&str]) -> String {
    let out = cargo_bin_cmd!("02-poison-pill")
        .args(args)
        .timeout(Duration::from_secs(60))
        .assert()
        .code(code)
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).unwrap()
}

fn lost(v: &Value) -> u64 {
    v["ending"]["lost_numbers"].as_u64().unwrap()
}

#[test]
fn the_pill_ends_every_worker_with_every_result_read() {
    let _turn = kit::turn();
    let out = run_expecting(0, &[]);
    assert!(out.contains("Primes found: 335 of 335"), "{out}");
    assert!(out.contains("Verdict: clean"), "{out}");
    let v = json_run(&["--workers", "3"]);
    assert_eq!((v["complete"].clone(), lost(&v)), (Value::Bool(true), 0));
    for w in v["ending"]["per_worker"].as_array().unwrap() {
        assert_eq!(w["exit"], "exited with status 0", "{w}");
        assert!(w["answered_ns"].is_u64(), "every worker answered: {w}");
    }
}

#[test]
fn closing_the_channels_also_loses_nothing() {
    let _turn = kit::turn();
    let v = json_run(&["--shutdown", "close"]);
    assert_eq!((v["complete"].clone(), lost(&v)), (Value::Bool(true), 0));
    assert_eq!(v["ending"]["how"], "close");
}

#[test]
fn killing_loses_what_the_workers_held_and_says_so() {
    let _turn = kit::turn();
    // Batches of 20 ms: the kill lands while every worker holds work.
    let args = ["--shutdown", "kill", "--batch", "512"];
    let out = run_expecting(1, &args);
    assert!(out.contains("Verdict: fast, but"), "{out}");
    let doc: Value = serde_json::from_slice(
        &cargo_bin_cmd!("02-poison-pill")
            .args(args)
            .arg("--json")
            .assert()
            .code(1)
            .get_output()
            .stdout,
    )
    .unwrap();
    assert!(lost(&doc) > 0, "{doc}");
    assert_eq!(doc["complete"], false);
}

#[test]
fn a_worker_without_a_pill_is_named_and_killed_at_the_deadline() {
    let _turn = kit::turn();
    let out = run_expecting(1, &["--pills", "1", "--deadline-ms", "300"]);
    assert!(out.contains("worker 1 never stopped"), "{out}");
    assert!(out.contains("did not exit in time and was killed"), "{out}");
}

#[test]
fn a_crashed_worker_does_not_stall_the_others_shutdown() {
    let _turn = kit::turn();
    let out = run_expecting(1, &["--crash-worker", "1"]);
    assert!(out.contains("worker 1 (pid"), "{out}");
    assert!(out.contains("exited with status 101 mid-run"), "{out}");
    assert!(out.contains("went back on the queue"), "{out}");
    assert!(out.contains("Primes found: 335 of 335"), "{out}");
    assert!(out.contains("(died earlier)"), "{out}");
}

#[test]
fn joining_before_draining_deadlocks_once_results_overflow_the_channel() {
    let _turn = kit::turn();
    // The text's own order works while the results fit in the channel...
    let out = run_expecting(0, &["--join-first"]);
    assert!(out.contains("Verdict: no deadlock, this time"), "{out}");
    // ...and hangs (here: stopped by the deadline) once they do not.
    let big = ["--join-first", "--from", "1000000", "--to", "1100000"];
    let out = run_expecting(1, &[&big[..], &["--deadline-ms", "500"]].concat());
    assert!(out.contains("Verdict: DEADLOCK"), "{out}");
}

#[test]
fn the_pill_travels_down_a_pipeline_of_three_processes() {
    let _turn = kit::turn();
    let v = json_run(&["--pipeline"]);
    assert_eq!(v["complete"], true);
    let stages: Vec<&str> = v["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    assert_eq!(stages, ["produce", "check", "collect"]);
    // Each stage passed the pill on no earlier than the one before it.
    let at: Vec<u64> = v["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["passed_ns"].as_u64().unwrap())
        .collect();
    assert!(at.windows(2).all(|w| w[0] <= w[1]), "{at:?}");
    let closed = json_run(&["--pipeline", "--shutdown", "close"]);
    assert_eq!(closed["complete"], true);
}

#[test]
fn compare_loses_nothing_with_pill_or_close() {
    let _turn = kit::turn();
    let v = json_run(&["--compare", "--repeats", "2"]);
    let ways = v["ways"].as_array().unwrap();
    let names: Vec<&str> = ways.iter().map(|w| w["how"].as_str().unwrap()).collect();
    assert_eq!(names, ["pill", "close", "kill"]);
    for w in &ways[..2] {
        assert_eq!(
            (w["lost_numbers"].as_u64(), w["lost_primes"].as_u64()),
            (Some(0), Some(0)),
            "{w}"
        );
    }
}

#[test]
fn bad_input_is_refused_with_exit_2_before_anything_starts() {
    let cases: &[(&[&str], &str)] = &[
        (&["--workers", "0"], "--workers"),
        (&["--workers", "-1"], "'-1'"),
        (&["--from", "9", "--to", "9"], "must be below"),
        (&["--batch", "0"], "--batch"),
        (&["--from", "0", "--to", "100000000000"], "at most"),
        (&["--workers", "2", "--pills", "2"], "not fewer than"),
        (&["--workers", "2", "--pills", "99999"], "--pills"),
        (
            &["--workers", "2", "--crash-worker", "2"],
            "names no worker",
        ),
        (
            &["--pills", "1", "--shutdown", "close"],
            "--pills goes with",
        ),
        (&["--pipeline", "--shutdown", "kill"], "--pipeline ends by"),
        (&["--join-first", "--pills", "1"], "cannot be used with"),
        (&["--compare", "--pipeline"], "cannot be used with"),
        (&["--shutdown", "later"], "--shutdown"),
        (&["--deadline-ms", "0"], "--deadline-ms"),
    ];
    kit::refused_with_exit_2(cargo_bin!("02-poison-pill"), cases);
}

/// A run whose batches each hold a few primes near 10^17 (a third of a
/// second each), so that work is in hand whenever a signal arrives.
fn slow_run() -> (Child, Vec<u32>) {
    let from = 100_109_100_129_100_151u64;
    let child = Command::new(cargo_bin!("02-poison-pill"))
        .args([
            "--from",
            &from.to_string(),
            "--to",
            &(from + 2000).to_string(),
        ])
        .args(["--workers", "2", "--batch", "100"])
        // Two batches in hand take about 2 s to finish: give them time.
        .args(["--deadline-ms", "20000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let kids = ps::wait_for_children(child.id(), 2, Duration::from_secs(10))
        .expect("workers started");
    std::thread::sleep(Duration::from_millis(300));
    (child, kids)
}

#[test]
fn first_ctrl_c_finishes_the_work_in_hand_and_exits_130() {
    let _turn = kit::turn();
    let (child, kids) = slow_run();
    kit::send_signal(child.id(), "INT");
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(130), "{stdout}");
    assert!(stdout.contains("Ctrl-C: the feeding stopped"), "{stdout}");
    assert!(stdout.contains("Verdict: interrupted"), "{stdout}");
    assert!(stdout.contains("never finished: 0"), "{stdout}");
    assert!(ps::left_behind(&kids, Duration::from_secs(2)).is_empty());
}

#[test]
fn second_ctrl_c_kills_at_once() {
    let _turn = kit::turn();
    let (child, kids) = slow_run();
    kit::send_signal(child.id(), "INT");
    std::thread::sleep(Duration::from_millis(100));
    kit::send_signal(child.id(), "INT");
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(130), "{stdout}");
    assert!(
        !stdout.contains("Verdict"),
        "no report after a hard stop: {stdout}"
    );
    assert!(ps::left_behind(&kids, Duration::from_secs(2)).is_empty());
}

#[test]
fn a_normal_run_leaves_no_process() {
    let _turn = kit::turn();
    let child = Command::new(cargo_bin!("02-poison-pill"))
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let kids =
        ps::wait_for_children(child.id(), 1, Duration::from_secs(10)).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(ps::left_behind(&kids, Duration::from_secs(2)).is_empty());
}

/// What a run must never leave: its directory of worker sockets.
const PREFIX: &str = "02-poison-pill";

#[test]
fn a_stopped_worker_is_caught_and_what_it_held_is_counted_lost() {
    let _turn = kit::turn();
    // Worker 0 stops with two batches in hand. The others finish the queue;
    // its pill is never answered, and the shutdown deadline catches it.
    let child = Command::new(cargo_bin!("02-poison-pill"))
        .args(["--to", "1000000030000", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let kids =
        ps::wait_for_children(child.id(), 2, Duration::from_secs(10)).unwrap();
    std::thread::sleep(Duration::from_millis(150));
    let worker_0 = kit::find_child(&kids, " worker ", 0).expect("worker 0 runs");
    kit::send_signal(worker_0, "STOP");
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ending = &v["ending"];
    let w0 = &ending["per_worker"][0];
    // Whatever it still held is lost, and counted: nothing vanishes unsaid.
    let held_then = w0["held"].as_u64().unwrap();
    assert!(held_then > 0, "{v}");
    assert_eq!(lost(&v), held_then, "{ending}");
    // (Its 32 numbers may hold no prime at all: then nothing is missing.)
    let found = v["primes"].as_array().unwrap().len() as u64;
    assert!(found <= v["expected"].as_u64().unwrap(), "{v}");
    assert_eq!(w0["overstayed"], true, "{w0}");
    assert!(w0["exit"].as_str().unwrap().contains("SIGSTOP"), "{w0}");
    assert!(ps::left_behind(&kids, Duration::from_secs(2)).is_empty());
}

#[test]
fn a_stopped_worker_is_told_apart_from_one_without_a_pill() {
    let _turn = kit::turn();
    let child = Command::new(cargo_bin!("02-poison-pill"))
        .args(["--to", "1000000030000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let kids =
        ps::wait_for_children(child.id(), 2, Duration::from_secs(10)).unwrap();
    std::thread::sleep(Duration::from_millis(150));
    kit::send_signal(kit::find_child(&kids, " worker ", 0).unwrap(), "STOP");
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("was told to stop but never did"),
        "{stdout}"
    );
    assert!(!stdout.contains("no pill reached it"), "{stdout}");
}

#[test]
fn ctrl_c_while_workers_start_exits_130_and_leaves_nothing() {
    let _turn = kit::turn();
    let bin = cargo_bin!("02-poison-pill");
    for ms in [5, 30, 120] {
        let after = Duration::from_millis(ms);
        let (code, stderr, pid, kids) =
            kit::ctrl_c_after(bin, &["--workers", "64"], after);
        assert_eq!(code, Some(130), "Ctrl-C after {ms} ms: {stderr}");
        assert!(!stderr.contains("error"), "Ctrl-C after {ms} ms: {stderr}");
        assert!(ps::left_behind(&kids, Duration::from_secs(2)).is_empty());
        assert!(kit::leftovers(PREFIX, pid).is_empty());
    }
}

#[test]
fn the_pipelines_deadline_bounds_its_shutdown_not_its_work() {
    let _turn = kit::turn();
    // 30,000 numbers near 10^12 through one checker take well over 300 ms;
    // the deadline counts only from the producer passing the pill on.
    let args = [
        "--pipeline",
        "--to",
        "1000000030000",
        "--deadline-ms",
        "300",
    ];
    let out = Command::new(cargo_bin!("02-poison-pill"))
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
}
