//! What `07-message-stop` promises, checked on the real binary as a student or
//! a script would run it. (`workers::testkit` only starts programs and signals
//! them; every assertion is here.)

use assert_cmd::cargo::cargo_bin;
use rustix::fs::{Mode, OFlags};
use std::path::Path;
use std::time::Duration;
use workers::ps;
use workers::search::{Case, candidates};
use workers::testkit::{self as kit, Load};

fn bin() -> &'static Path {
    cargo_bin!("07-message-stop")
}

/// What a run must never leave: its directory of worker sockets. (The
/// inboxes are pipes, which have no names at all.)
const PREFIX: &str = "07-message-stop";

/// A short run: the prime or a case with a factor, one timed search, a few
/// latency trials.
fn short(case: Case, workers: &str) -> kit::Value {
    let args = ["--case", case.name(), "--workers", workers];
    kit::json_run(
        bin(),
        &[&args[..], &["--repeats", "1", "--trials", "3"]].concat(),
    )
}

/// The pipes process `pid` holds beyond its standard streams: (descriptor,
/// the pipe's inode). Both ends of one pipe have the same inode.
fn pipes(pid: u32) -> Vec<(u32, String)> {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap();
    fds.flatten()
        .filter_map(|e| {
            let fd: u32 = e.file_name().to_string_lossy().parse().ok()?;
            let target = std::fs::read_link(e.path()).ok()?;
            let inode = target.to_string_lossy().strip_prefix("pipe:")?.to_string();
            (fd > 2).then_some((fd, inode))
        })
        .collect()
}

/// For each of `workers`, the descriptors of the pipes no other of them
/// holds: its own inbox, and nothing else, if inboxes are private.
fn private_pipes(workers: &[u32]) -> Vec<Vec<u32>> {
    let all: Vec<_> = workers.iter().map(|&w| pipes(w)).collect();
    (0..workers.len())
        .map(|w| {
            let others = |inode: &String| {
                (all.iter().enumerate())
                    .any(|(o, p)| o != w && p.iter().any(|(_, i)| i == inode))
            };
            (all[w].iter())
                .filter(|(_, inode)| !others(inode))
                .map(|(fd, _)| *fd)
                .collect()
        })
        .collect()
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
fn the_message_stops_the_worker_that_did_not_find_the_factor() {
    let _turn = kit::turn();
    let v = short(Case::Early, "2");
    // Worker 1 holds the factor (at 55% of the divisors); worker 0 would
    // search its whole half without the stop, and stops before its end.
    let half = candidates(Case::Early.number().0) / 2;
    kit::check_stopped_by_the_finder(&v, 174_020_123, half);
}

#[test]
fn many_searches_in_a_row_are_each_stopped_by_their_own_stop() {
    let _turn = kit::turn();
    // Each latency trial is a search stopped by the parent's message, and
    // the finder's stops of the timed searches arrive at workers that may
    // have finished already. A stale stop that ended a later search would
    // fail a trial ("ended without the flag") or stop a search that had
    // not found its factor ("stopped from outside").
    let args = ["--case", "early", "--workers", "3", "--repeats", "5"];
    let v = kit::json_run(bin(), &[&args[..], &["--trials", "200"]].concat());
    assert_eq!(v["factor"].as_u64(), Case::Early.number().1);
    assert_eq!(v["stop_latency_ns"]["n"], 200);
}

#[test]
fn the_largest_worker_count_works_with_every_core_busy() {
    let _turn = kit::turn();
    // 256 processes on two busy cores: the supervisor sends 256 stops, and
    // its thread, like every worker, waits for a core at every step.
    let _load = Load::every_core();
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
        (&["--workers", "0"], "--workers"),
        (&["--workers", "257"], "--workers"),
        (&["--repeats", "0"], "--repeats"),
        (&["--trials", "0"], "--trials"),
        (&["--silence-ms", "10"], "--silence-ms"),
        // No counter: there is no shared state to count in.
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
    assert_eq!(help.matches("[default: 10000]").count(), 1, "{help}");
}

#[test]
fn each_inbox_is_held_by_its_worker_alone() {
    let _turn = kit::turn();
    let (child, kids) = kit::start_long_with(bin(), &["--workers", "3"]);
    let workers: Vec<u32> = (0..3)
        .map(|w| kit::find_child(&kids, " worker ", w).expect("the worker runs"))
        .collect();
    // Every worker inherited every inbox; each closed all but its own.
    let private = private_pipes(&workers);
    for (w, fds) in private.iter().enumerate() {
        assert_eq!(fds.len(), 1, "worker {w} holds private pipes {fds:?}");
        let flags = std::fs::read_to_string(format!(
            "/proc/{}/fdinfo/{}",
            workers[w], fds[0]
        ))
        .unwrap();
        // O_RDONLY | O_NONBLOCK, in octal: a read end that never waits.
        assert!(flags.contains("flags:\t04000"), "{flags}");
    }
    kit::send_signal(child.id(), "INT");
    let (code, stderr) = kit::ended(child);
    assert_eq!(code, Some(130), "{stderr}");
}

#[test]
fn a_full_inbox_holds_up_nobody_and_stale_stops_stop_nothing() {
    let _turn = kit::turn();
    let (child, kids) = kit::start_long(bin());
    let workers: Vec<u32> = (0..2)
        .map(|w| kit::find_child(&kids, " worker ", w).expect("the worker runs"))
        .collect();
    let inbox = private_pipes(&workers)[0][0];
    // Reach worker 0's inbox as another process of the same user could,
    // and fill it with stops for search 0, which never runs (searches are
    // numbered from 1): all stale.
    let path = format!("/proc/{}/fd/{inbox}", workers[0]);
    let to =
        rustix::fs::open(&path, OFlags::WRONLY | OFlags::NONBLOCK, Mode::empty())
            .unwrap();
    let mut sent = 0;
    while rustix::io::write(&to, &0u64.to_le_bytes()).is_ok() {
        sent += 1;
    }
    assert!(sent >= 512, "a pipe holds at least a page: {sent} messages");
    // The worker reads its inbox at every look and drops what is stale;
    // the run goes on, neither stopped nor stuck.
    let drained = ps::wait_for(Duration::from_secs(20), || {
        (rustix::io::ioctl_fionread(&to).unwrap() == 0).then_some(())
    });
    assert!(drained.is_some(), "worker 0 never emptied its inbox");
    assert!(ps::exists(child.id()), "the run ended on stale stops");
    kit::send_signal(child.id(), "INT");
    let (code, stderr) = kit::ended(child);
    assert_eq!(code, Some(130), "{stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
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
    // Alive but silent: SIGSTOP closes nothing, and the supervisor's stops
    // pile up unread in its inbox; only the heartbeat's absence gives it
    // away, after --silence-ms.
    kit::check_stopped_worker(bin(), PREFIX);
}

#[test]
fn ctrl_c_while_workers_start_exits_130_and_leaves_nothing() {
    let _turn = kit::turn();
    kit::check_ctrl_c_during_start_up(bin(), PREFIX);
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

/// The fraud scan runs with the message stop as with every flag: the pair
/// planted late is found by worker 1, whose slice holds it, and nowhere else.
#[test]
fn the_fraud_scan_stops_on_the_message_too() {
    let _turn = kit::turn();
    kit::check_fraud_scan(bin(), Case::Late);
}
