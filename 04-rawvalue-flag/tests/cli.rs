//! What `04-rawvalue-flag` promises, checked on the real binary as a student or a
//! script would run it. (`workers::testkit` only starts programs and signals
//! them; every assertion is here.)

use assert_cmd::cargo::cargo_bin;
use std::path::Path;
use workers::search::{Case, candidates};
use workers::testkit::{self as kit, Load};

fn bin() -> &'static Path {
    cargo_bin!("04-rawvalue-flag")
}

/// What a run must never leave: its segment's name in `/dev/shm`.
const PREFIX: &str = "04-rawvalue-flag";

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
    assert_eq!(help.matches("[default: 1000]").count(), 1, "{help}");
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
fn a_normal_run_exits_0_and_leaves_nothing() {
    let _turn = kit::turn();
    kit::normal_run_leaves_nothing(
        bin(),
        PREFIX,
        &["--case", "early", "--trials", "5"],
    );
}

#[test]
fn load_then_store_loses_updates_fetch_add_never_does() {
    let _turn = kit::turn();
    // The atomic half is certain, and checked on every attempt. The racy half
    // needs two workers really running at once, which a loaded machine may
    // deny for a whole run: it fails only if three runs lost nothing at all.
    let times: u64 = 200_000;
    let mut seen = Vec::new();
    for _ in 0..3 {
        let args = ["--case", "early", "--workers", "2", "--repeats", "1"];
        let count = ["--trials", "3", "--count", &times.to_string()];
        let v = kit::json_run(bin(), &[&args[..], &count[..]].concat());
        let c = &v["counted"];
        assert_eq!(c["expected"], 2 * times);
        assert_eq!(c["atomic"], 2 * times, "fetch_add lost updates: {c}");
        if c["racy"].as_u64().unwrap() < 2 * times {
            return;
        }
        seen.push(c.clone());
    }
    panic!("load-then-store lost no update in three runs: {seen:?}");
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
fn a_full_dev_shm_is_one_clear_line_at_creation_not_a_crash() {
    let _turn = kit::turn();
    // Docker gives /dev/shm 64 MB; here a private one of 8 KiB, full.
    let script = format!(
        "mount -t tmpfs -o size=8k tmpfs /dev/shm && \
         dd if=/dev/zero of=/dev/shm/fill bs=4096 count=2 2>/dev/null; \
         exec {} --case early --repeats 1 --trials 3",
        bin().display()
    );
    let Some(out) = kit::in_private_mounts(&script) else {
        eprintln!(
            "skipped: this machine makes no private mount namespace (not root?)"
        );
        return;
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("/dev/shm is full"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn a_name_left_by_a_killed_run_is_removed_by_the_next() {
    let _turn = kit::turn();
    // A run SIGKILLed while its workers started leaves its segment's name:
    // make one as it would be, for a process that is gone.
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    gone.wait().unwrap();
    let name = format!("{PREFIX}-{}-12345", gone.id());
    std::fs::write(format!("/dev/shm/{name}"), [0u8; 64]).unwrap();
    let out = kit::program(bin())
        .args(["--case", "early", "--repeats", "1", "--trials", "3"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("removed /dev/shm/{name}")),
        "{stderr}"
    );
    assert!(!std::path::Path::new(&format!("/dev/shm/{name}")).exists());
}

#[test]
fn the_segments_name_is_gone_once_every_worker_has_mapped_it() {
    let _turn = kit::turn();
    let (child, _) = kit::start_long(bin());
    let pid = child.id();
    // Mid-run, only the run's directory of worker sockets is there: the
    // segment's name went as soon as the last worker had opened it.
    let names = kit::leftovers(PREFIX, pid);
    let sockets = format!("{PREFIX}-sockets-{pid}");
    assert!(names.iter().all(|n| *n == sockets), "{names:?}");
    kit::send_signal(pid, "INT");
    let (code, stderr) = kit::ended(child);
    assert_eq!(code, Some(130), "{stderr}");
}

#[test]
fn the_fraud_scan_finds_the_planted_pair_in_every_case() {
    let _turn = kit::turn();
    for case in Case::ALL {
        kit::check_fraud_scan(bin(), case);
    }
}
