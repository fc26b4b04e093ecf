//! What `03-manager-flag` promises, checked on the real binary as a student or a
//! script would run it. (`workers::testkit` only starts programs and signals
//! them; every assertion is here.)

use assert_cmd::cargo::cargo_bin;
use std::path::Path;
use std::time::Duration;
use workers::ps;
use workers::search::{Case, candidates};
use workers::testkit::{self as kit, Load};

fn bin() -> &'static Path {
    cargo_bin!("03-manager-flag")
}

/// What a run must never leave: its directory of worker sockets.
const PREFIX: &str = "03-manager-flag";

/// A short run: the prime or a case with a factor, one timed search, a few
/// latency trials.
fn short(case: Case, workers: &str) -> kit::Value {
    let args = ["--case", case.name(), "--workers", workers];
    kit::json_run(
        bin(),
        &[&args[..], &["--repeats", "1", "--trials", "3"]].concat(),
    )
}

#[test]
fn every_case_finds_its_factor() {
    let _turn = kit::turn();
    for case in Case::ALL {
        let v = short(case, "2");
        assert_eq!(v["n"], case.number().0);
        assert_eq!(
            v["factor"].as_u64(),
            case.number().1,
            "case {}",
            case.name()
        );
    }
}

#[test]
fn the_flag_stops_the_worker_that_did_not_find_the_factor() {
    let _turn = kit::turn();
    let v = short(Case::Early, "2");
    // Worker 1 holds the factor (at 55% of the divisors); worker 0 would
    // search its whole half without the flag, and stops before its end.
    let half = candidates(Case::Early.number().0) / 2;
    kit::check_stopped_by_the_finder(&v, 174_020_123, half);
}

#[test]
fn the_largest_worker_count_works_for_every_case() {
    let _turn = kit::turn();
    // 256 processes on a small machine: most wait for a core at every step,
    // and the start barrier must still hold every one until all are ready.
    for case in [Case::Prime, Case::Early] {
        let v = short(case, "256");
        assert_eq!(v["workers"], 256);
        assert_eq!(v["factor"].as_u64(), case.number().1);
    }
}

#[test]
fn every_core_busy_changes_timings_not_results() {
    let _turn = kit::turn();
    let _load = Load::every_core();
    for workers in ["2", "32"] {
        let v = short(Case::Early, workers);
        assert_eq!(v["factor"].as_u64(), Case::Early.number().1);
    }
}

#[test]
fn bad_input_is_refused_with_exit_2_before_anything_starts() {
    let cases: &[(&[&str], &str)] = &[
        (&["--check-every", "0"], "--check-every"),
        (&["--check-every", "-5"], "'-5'"),
        (&["--case", "nope"], "--case"),
        (&["--workload", "nope"], "--workload"),
        (
            &["--workload", "fraud", "--transactions", "999"],
            "--transactions",
        ),
        (
            &["--workload", "fraud", "--transactions", "12000001"],
            "--transactions",
        ),
        (&["--workers", "0"], "--workers"),
        (&["--workers", "257"], "--workers"),
        (&["--repeats", "0"], "--repeats"),
        (&["--trials", "0"], "--trials"),
        (&["--count", "0"], "--count"),
    ];
    kit::refused_with_exit_2(bin(), cases);
}

#[test]
fn help_offers_exactly_the_options_it_honours_each_default_once() {
    let options = kit::help_options(bin(), &[]);
    let honoured = [
        "--workload",
        "--case",
        "--transactions",
        "--check-every",
        "--json",
        "--workers",
        "--repeats",
        "--trials",
        "--silence-ms",
        "--count",
        "--help",
    ];
    assert_eq!(options, honoured);
    let help = kit::help_text(bin(), &[]);
    assert_eq!(help.matches("[default: 100000]").count(), 1, "{help}");
}

#[test]
fn ctrl_c_mid_run_exits_130_and_leaves_nothing() {
    let _turn = kit::turn();
    kit::check_ctrl_c_mid_run(bin(), PREFIX);
}

#[test]
fn a_killed_worker_is_named_in_one_line_and_nothing_is_left() {
    let _turn = kit::turn();
    kit::check_killed_worker(bin(), PREFIX);
}

#[test]
fn a_normal_run_exits_0_and_leaves_no_process() {
    let _turn = kit::turn();
    let child = kit::program(bin())
        .args(["--case", "early", "--trials", "5"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let kids =
        ps::wait_for_children(child.id(), 1, Duration::from_secs(10)).unwrap();
    let (code, stderr) = kit::ended(child);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(ps::left_behind(&kids, Duration::from_secs(2)).is_empty());
}

#[test]
fn get_then_set_through_the_proxy_loses_updates_the_managers_add_never_does() {
    let _turn = kit::turn();
    // The manager's add is certain, and checked on every attempt. The racy
    // get-then-set needs two workers really running at once, which a loaded
    // machine may deny for a whole run: it fails only if three runs lost
    // nothing at all.
    let times: u64 = 2000;
    let mut seen = Vec::new();
    for _ in 0..3 {
        let args = ["--case", "early", "--workers", "2", "--repeats", "1"];
        let count = ["--trials", "3", "--count", &times.to_string()];
        let v = kit::json_run(bin(), &[&args[..], &count[..]].concat());
        let c = &v["counted"];
        assert_eq!(c["expected"], 2 * times);
        assert_eq!(
            c["atomic"],
            2 * times,
            "the manager's add lost updates: {c}"
        );
        if c["racy"].as_u64().unwrap() < 2 * times {
            return;
        }
        seen.push(c.clone());
    }
    panic!("get-then-set lost no update in three runs: {seen:?}");
}

#[test]
fn a_dead_manager_ends_the_run_with_one_clear_line() {
    let _turn = kit::turn();
    let (child, kids) = kit::start_long(bin());
    let manager = kit::find_child(&kids, " manager ", 0).expect("the manager runs");
    kit::send_signal(manager, "KILL");
    let (code, stderr) = kit::ended(child);
    assert_eq!(code, Some(1), "{stderr}");
    let named =
        format!("the manager process (pid {manager}) was killed by signal 9");
    assert!(stderr.contains(&named), "{stderr}");
    assert_eq!(
        stderr.lines().count(),
        1,
        "one line, not a cascade: {stderr}"
    );
    assert!(ps::left_behind(&kids, Duration::from_secs(2)).is_empty());
}

#[test]
fn a_stopped_worker_is_named_killed_and_nothing_is_left() {
    let _turn = kit::turn();
    // Alive but silent: SIGSTOP closes nothing, so only the heartbeat's
    // absence gives it away, after --silence-ms.
    kit::check_stopped_worker(bin(), PREFIX);
}

#[test]
fn ctrl_c_while_workers_start_exits_130_and_leaves_nothing() {
    let _turn = kit::turn();
    kit::check_ctrl_c_during_start_up(bin(), PREFIX);
}

#[test]
fn a_stopped_manager_ends_the_run_with_one_clear_line() {
    let _turn = kit::turn();
    // Every worker waits on the manager; a proxy's wait has a deadline.
    let (child, kids) = kit::start_long_with(bin(), &["--silence-ms", "1000"]);
    let manager = kit::find_child(&kids, " manager ", 0).expect("the manager runs");
    kit::send_signal(manager, "STOP");
    let (code, stderr) = kit::ended(child);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("the manager process (pid {manager}) was silent")),
        "{stderr}"
    );
    assert_eq!(
        stderr.lines().count(),
        1,
        "one line, not a cascade: {stderr}"
    );
    assert!(ps::left_behind(&kids, Duration::from_secs(2)).is_empty());
}

#[test]
fn a_manager_killed_while_workers_start_is_named_in_one_line() {
    let _turn = kit::turn();
    for ms in [20, 60] {
        let child = kit::program(bin())
            .args(["--workers", "32", "--case", "prime", "--repeats", "2"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let manager = ps::wait_for(Duration::from_secs(10), || {
            let kids = ps::children_of(child.id());
            kit::find_child(&kids, " manager ", 0)
        })
        .expect("the manager runs");
        std::thread::sleep(Duration::from_millis(ms));
        kit::send_signal(manager, "KILL");
        let kids = ps::children_of(child.id());
        let (code, stderr) = kit::ended(child);
        assert_eq!(code, Some(1), "{stderr}");
        assert!(stderr.contains("the manager process"), "{stderr}");
        assert_eq!(
            stderr.lines().count(),
            1,
            "one line, not one per worker: {stderr}"
        );
        assert!(ps::left_behind(&kids, Duration::from_secs(2)).is_empty());
    }
}

#[test]
fn the_fraud_scan_finds_the_planted_pair_in_every_case() {
    let _turn = kit::turn();
    for case in Case::ALL {
        kit::check_fraud_scan(bin(), case);
    }
}
