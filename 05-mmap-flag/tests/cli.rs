//! What `05-mmap-flag` promises, checked on the real binary as a student or a
//! script would run it. (`workers::testkit` only starts programs and signals
//! them; every assertion is here.)

use assert_cmd::cargo::cargo_bin;
use std::path::Path;
use std::time::Duration;
use workers::fraud;
use workers::ps;
use workers::search::{Case, candidates};
use workers::testkit::{self as kit, Load, Target};

fn bin() -> &'static Path {
    cargo_bin!("05-mmap-flag")
}

/// What a run must never leave: its directory of worker sockets. (The flag
/// itself is a memory file with no name at all.)
const PREFIX: &str = "05-mmap-flag";

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
fn the_flag_overhead_is_a_verdict_and_the_looks_are_priced() {
    let _turn = kit::turn();
    let args = ["--case", "prime", "--workers", "2", "--repeats", "2"];
    let v = kit::json_run(bin(), &[&args[..], &["--trials", "3"]].concat());
    // A verdict word, never a bare percentage; and from two repeats each, no
    // order of them is rare enough for 99%, so none at all.
    assert_eq!(v["overhead"].as_str(), Some("too_few"), "{}", v["overhead"]);
    // Each worker looks once per 1000 candidates of its half, rounded up.
    let half = candidates(Case::Prime.number().0).div_ceil(2);
    let looks = v["looks"]["per_worker"].as_u64().unwrap();
    assert_eq!(looks, half.div_ceil(1000), "{}", v["looks"]);
    let look = v["check_ns"]["median"].as_f64().unwrap();
    let cost = v["looks"]["cost_ns"]["median"].as_f64().unwrap();
    assert!((cost - look * looks as f64).abs() <= 1e-6 * cost, "{cost}");
    // The text says the same in words, with both ranges.
    let out = assert_cmd::Command::new(bin())
        .args(args)
        .args(["--trials", "3"])
        .timeout(Duration::from_secs(120))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("Looking at the flag: "))
        .unwrap_or_else(|| panic!("no overhead line in:\n{text}"));
    assert!(
        line.contains("with the flag") && line.contains("never looking"),
        "{line}"
    );
    assert!(
        text.contains(&format!("What the looks cost: {looks} looks per worker"))
    );
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
        // This chapter has no counter beside its flag.
        (&["--count", "10"], "--count"),
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
fn the_flag_cannot_be_truncated_under_the_workers() {
    let _turn = kit::turn();
    let (child, kids) = kit::start_long(bin());
    let worker_0 = kit::find_child(&kids, " worker ", 0).expect("worker 0 runs");
    // The flag is a descriptor the worker inherited; reach it as another
    // process of the same user could, through /proc.
    let fds = std::fs::read_dir(format!("/proc/{worker_0}/fd")).unwrap();
    let flag = fds
        .flatten()
        .find(|e| {
            let target = std::fs::read_link(e.path()).unwrap_or_default();
            target.to_string_lossy().starts_with("/memfd:05-mmap-flag")
        })
        .expect("the worker holds the flag's memory file");
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(flag.path())
        .unwrap();
    let shrunk = file.set_len(0);
    assert!(shrunk.is_err(), "a sealed memory file was truncated");
    // The run goes on: no SIGBUS, and Ctrl-C still ends it cleanly.
    std::thread::sleep(Duration::from_millis(200));
    kit::send_signal(child.id(), "INT");
    let (code, stderr) = kit::ended(child);
    assert_eq!(code, Some(130), "{stderr}");
}

#[test]
fn a_full_dev_shm_does_not_matter_to_a_memory_file() {
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
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

#[test]
fn too_few_file_descriptors_are_refused_before_anything_starts() {
    let script = format!("ulimit -n 40 && exec {} --workers 40", bin().display());
    let out = std::process::Command::new("sh")
        .args(["-c", &script])
        .output()
        .unwrap();
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
    let out = kit::program(bin())
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

#[test]
fn the_fraud_scan_finds_the_planted_pair_in_every_case() {
    let _turn = kit::turn();
    for case in Case::ALL {
        kit::check_fraud_scan(bin(), case);
    }
}

/// A fraud scan's arguments for a run long enough to be signalled mid-way:
/// 2,000,000 transactions (64 MB).
const LONG_SCAN: &[&str] = &["--workload", "fraud", "--transactions", "2000000"];

#[test]
fn the_worker_without_the_planted_pair_stops_on_the_flag() {
    let _turn = kit::turn();
    let args = [LONG_SCAN, &["--case", "early", "--workers", "2"]].concat();
    let v = kit::json_run(
        bin(),
        &[&args[..], &["--repeats", "1", "--trials", "3"]].concat(),
    );
    // Worker 1 finds the pair 10% into its slice; worker 0 would scan its
    // whole half without the flag, and stops before its end.
    let planted = fraud::planted(Case::Early, 2_000_000).unwrap();
    kit::check_stopped_by_the_finder(&v, planted, 1_000_000);
}

#[test]
fn a_normal_fraud_scan_leaves_nothing() {
    let _turn = kit::turn();
    kit::normal_run_leaves_nothing(
        bin(),
        PREFIX,
        &[
            "--workload",
            "fraud",
            "--case",
            "early",
            "--trials",
            "5",
            "--transactions",
            "200000",
        ],
    );
}

#[test]
fn ctrl_c_mid_scan_exits_130_and_leaves_nothing() {
    let _turn = kit::turn();
    let run = kit::signal_mid_run(bin(), PREFIX, Target::Parent, "INT", LONG_SCAN);
    assert_eq!(run.code, Some(130), "{}", run.stderr);
    assert!(run.errors().is_empty(), "{}", run.stderr);
    assert!(run.left_nothing(), "{run:?}");
}

#[test]
fn sigkill_of_the_parent_mid_scan_leaves_no_transactions_and_no_process() {
    let _turn = kit::turn();
    let (child, kids) = kit::start_long_with(bin(), LONG_SCAN);
    let pid = child.id();
    // The workers hold the transactions: a memory file with no name.
    let worker_0 = kit::find_child(&kids, " worker ", 0).expect("worker 0 runs");
    assert!(holds_transactions(worker_0), "worker 0 has no transactions");
    kit::send_signal(pid, "KILL");
    let (code, _) = kit::ended(child);
    // No clean-up runs after SIGKILL: the run's socket directory stays
    // until the next run sweeps it (removed here, at once, so that no
    // other test's run reports sweeping it). Nothing else may be left.
    let sockets = std::env::temp_dir().join(format!("{PREFIX}-sockets-{pid}"));
    let _ = std::fs::remove_dir_all(&sockets);
    assert_eq!(code, None);
    assert!(kit::leftovers(PREFIX, pid).is_empty());
    // The workers die with their parent, and with the last of them the
    // transactions' memory.
    assert!(ps::left_behind(&kids, Duration::from_secs(2)).is_empty());
}

/// Whether process `pid` holds the transactions' memory file.
fn holds_transactions(pid: u32) -> bool {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten().any(|e| {
        let target = std::fs::read_link(e.path()).unwrap_or_default();
        target
            .to_string_lossy()
            .starts_with("/memfd:fraud-transactions")
    })
}

#[test]
fn the_transactions_cannot_be_changed_under_the_workers() {
    let _turn = kit::turn();
    let (child, kids) = kit::start_long_with(bin(), LONG_SCAN);
    let worker_0 = kit::find_child(&kids, " worker ", 0).expect("worker 0 runs");
    // Reach the worker's descriptor as another process of the same user
    // (here root) could, through /proc: sealed, it refuses every change.
    let fds = std::fs::read_dir(format!("/proc/{worker_0}/fd")).unwrap();
    let data = fds
        .flatten()
        .find(|e| {
            let target = std::fs::read_link(e.path()).unwrap_or_default();
            target
                .to_string_lossy()
                .starts_with("/memfd:fraud-transactions")
        })
        .expect("the worker holds the transactions");
    let file = std::fs::OpenOptions::new().write(true).open(data.path());
    if let Ok(file) = file {
        assert!(
            file.set_len(0).is_err(),
            "sealed transactions were truncated"
        );
        let wrote = std::io::Write::write_all(&mut &file, b"forged");
        assert!(wrote.is_err(), "sealed transactions were written");
    }
    // The run goes on, and Ctrl-C still ends it cleanly.
    std::thread::sleep(Duration::from_millis(200));
    kit::send_signal(child.id(), "INT");
    let (code, stderr) = kit::ended(child);
    assert_eq!(code, Some(130), "{stderr}");
}

#[test]
fn ctrl_c_while_the_transactions_are_generated_exits_130_and_leaves_nothing() {
    let _turn = kit::turn();
    // 384 MB take the parent a good fraction of a second to write, before
    // any worker starts.
    let args = ["--workload", "fraud", "--transactions", "12000000"];
    let run = kit::ctrl_c_at_start(bin(), PREFIX, &args, Duration::from_millis(50));
    assert_eq!(run.code, Some(130), "{}", run.stderr);
    assert!(!run.stderr.contains("error"), "{}", run.stderr);
    assert!(run.left_nothing(), "{run:?}");
}
