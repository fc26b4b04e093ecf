//! The real binary, run as a student or a script would run it.
//!
//! Most tests run once per queue design (`--queue broker|pipe|shm`): each
//! must keep the same promises.

use assert_cmd::cargo::{cargo_bin, cargo_bin_cmd};
use predicates::prelude::*;
use serde_json::Value;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use workers::prime::is_prime;
use workers::ps;
use workers::testkit as kit;

const DESIGNS: [&str; 3] = ["broker", "pipe", "shm"];

fn json_run(args: &[&str]) -> Value {
    kit::json_run(cargo_bin!("01-work-queue"), args)
}

/// The primes in `from..to`: how many, and their sum modulo 2^64.
fn serial(from: u64, to: u64) -> (u64, u64) {
    (from..to)
        .filter(|&n| is_prime(n))
        .fold((0, 0), |(c, s), n| (c + 1, s + n))
}

fn count_and_sum(v: &Value) -> (u64, u64) {
    (
        v["primes"].as_u64().unwrap(),
        v["prime_sum"].as_u64().unwrap(),
    )
}

#[test]
fn default_run_finds_the_texts_fifteen_primes_through_every_queue() {
    let _turn = kit::turn();
    for q in DESIGNS {
        cargo_bin_cmd!("01-work-queue")
            .args(["--queue", q])
            .timeout(Duration::from_secs(60))
            .assert()
            .success()
            .stdout(predicate::str::contains(
                "Checked 200 numbers (100000..100200)",
            ))
            .stdout(predicate::str::contains("15 primes, summing to 1501619."))
            .stdout(predicate::str::contains(
                "Every number checked exactly once, same primes as serial: yes",
            ));
    }
}

#[test]
fn every_task_once_and_the_primes_of_a_serial_run() {
    let _turn = kit::turn();
    let (from, to) = (1_000_000u64, 1_010_000u64);
    let (f, t) = (from.to_string(), to.to_string());
    for q in DESIGNS {
        let v = json_run(&[
            "--queue",
            q,
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
        assert_eq!(count_and_sum(&v), serial(from, to), "{q}");
        let tasks: Vec<u64> =
            serde_json::from_value(v["tasks_per_worker"].clone()).unwrap();
        assert_eq!(tasks.len(), 3);
        assert_eq!(tasks.iter().sum::<u64>(), to - from);
        assert_eq!(v["exactly_once"], true);
        assert_eq!(v["rechecked"], 0, "nothing is sent twice without a loss");
        assert_eq!(v["queue"], q);
    }
}

#[test]
fn a_slow_worker_takes_fewer_tasks() {
    let _turn = kit::turn();
    for q in DESIGNS {
        let v = json_run(&[
            "--queue",
            q,
            "--workers",
            "2",
            "--slow-worker",
            "1",
            "--repeats",
            "1",
        ]);
        let tasks: Vec<u64> =
            serde_json::from_value(v["tasks_per_worker"].clone()).unwrap();
        assert!(tasks[1] < tasks[0], "{q}: slow worker took {tasks:?}");
        assert_eq!(tasks.iter().sum::<u64>(), 200);
    }
}

#[test]
fn tasks_are_cut_as_needed_so_a_huge_range_needs_little_memory() {
    let _turn = kit::turn();
    // Ten million tasks of one number each. Holding them all would take
    // gigabytes; the address space here is capped at 1 GiB.
    let bin = cargo_bin!("01-work-queue").display();
    let script = format!(
        "ulimit -v 1048576 && exec {bin} --queue shm --from 0 --to 10000000 --batch 1 \
         --repeats 1 --json"
    );
    let out = Command::new("sh").args(["-c", &script]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["primes"], 664_579, "the primes below ten million");
    assert_eq!(v["exactly_once"], true);
}

#[test]
fn sweep_reports_every_size_and_both_legs() {
    let _turn = kit::turn();
    for q in DESIGNS {
        let v =
            json_run(&["--queue", q, "--sweep", "--repeats", "1", "--workers", "2"]);
        assert_eq!(v["queue"], q);
        let rows = v["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 7);
        for row in rows {
            assert_eq!(row["unbatched"]["batch"], 1);
            assert_eq!(row["batched"]["batch"], 64);
            assert!(row["task_ns"].as_f64().unwrap() > 0.0);
        }
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
        (&["--queue", "heap"], "--queue"),
        (&["--workers", "2", "--slow-worker", "2"], "names no worker"),
        (&["--repeats", "0"], "--repeats"),
        (&["--wat"], "--wat"),
    ];
    kit::refused_with_exit_2(cargo_bin!("01-work-queue"), cases);
}

/// Starts a run long enough to interfere with, and waits for its workers.
fn long_run(queue: &str, workers: &str, extra: &[&str]) -> (Child, Vec<u32>) {
    let args = [
        "--queue",
        queue,
        "--from",
        "1000000000000",
        "--to",
        "1000000100000",
    ];
    let more = ["--workers", workers, "--batch", "4", "--repeats", "1"];
    let child = spawn(&[&args[..], &more, extra].concat());
    let n = workers.parse().unwrap();
    let kids = ps::wait_for_children(child.id(), n, Duration::from_secs(10))
        .expect("workers started");
    // Let the first tasks go out, so the fault lands mid-run.
    std::thread::sleep(Duration::from_millis(200));
    (child, kids)
}

/// Starts the program with `args`, its output piped.
fn spawn(args: &[&str]) -> Child {
    Command::new(cargo_bin!("01-work-queue"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The exit code, standard error, and the JSON report if one was printed.
fn finish(child: Child) -> (i32, String, Option<Value>) {
    let out = child.wait_with_output().unwrap();
    let code = out.status.code().expect("exited, not killed");
    let report = serde_json::from_slice(&out.stdout).ok();
    (
        code,
        String::from_utf8_lossy(&out.stderr).into_owned(),
        report,
    )
}

#[test]
fn a_killed_worker_is_named_and_its_tasks_done_by_the_others() {
    let _turn = kit::turn();
    for q in DESIGNS {
        let (child, kids) = long_run(q, "2", &["--json"]);
        let one = kit::find_child(&kids, " worker ", 1).unwrap();
        kit::send_signal(one, "KILL");
        let line = format!("worker 1 (pid {one}) was killed by signal 9 (SIGKILL)");
        others_did_its_work(q, child, &kids, &line);
    }
}

/// The run ends with status 1, one line naming the lost worker (`says`),
/// every number still checked once, and no process left.
fn others_did_its_work(q: &str, child: Child, kids: &[u32], says: &str) {
    let (code, stderr, report) = finish(child);
    assert_eq!(code, 1, "{q}: {stderr}");
    assert!(stderr.contains(says), "{q}: {stderr}");
    assert!(stderr.contains("went back on the queue"), "{q}: {stderr}");
    assert_eq!(
        stderr.lines().count(),
        1,
        "{q}: one line for the run: {stderr}"
    );
    assert_eq!(report.unwrap()["exactly_once"], true, "{q}");
    assert!(ps::left_behind(kids, Duration::from_secs(2)).is_empty());
}

#[test]
fn the_last_worker_killed_ends_the_run_with_its_tasks_reported_lost() {
    let _turn = kit::turn();
    for q in DESIGNS {
        let (child, kids) = long_run(q, "1", &[]);
        kit::send_signal(kids[0], "KILL");
        let (code, stderr, _) = finish(child);
        assert_eq!(code, 1, "{q}: {stderr}");
        assert!(stderr.contains("no worker is left"), "{q}: {stderr}");
        assert!(stderr.contains("were never checked"), "{q}: {stderr}");
    }
}

#[test]
fn ctrl_c_leaves_no_worker_and_exits_130() {
    let _turn = kit::turn();
    for q in DESIGNS {
        let (child, kids) = long_run(q, "2", &[]);
        kit::send_signal(child.id(), "INT");
        let (code, stderr, _) = finish(child);
        assert_eq!(code, 130, "{q}: {stderr}");
        assert!(ps::left_behind(&kids, Duration::from_secs(2)).is_empty());
    }
}

#[test]
fn a_stopped_worker_is_named_killed_and_its_tasks_done_by_the_others() {
    let _turn = kit::turn();
    for q in DESIGNS {
        // Alive but silent: SIGSTOP closes nothing, so only the heartbeat's
        // absence gives it away, after --silence-ms.
        let (child, kids) = long_run(q, "2", &["--silence-ms", "1000", "--json"]);
        let one = kit::find_child(&kids, " worker ", 1).unwrap();
        kit::send_signal(one, "STOP");
        let line =
            format!("worker 1 (pid {one}) was silent for 1.0 s (stopped (SIGSTOP))");
        others_did_its_work(q, child, &kids, &line);
    }
}

/// Kills (or stops) `victims` of 8 workers one after another, every few
/// milliseconds, while tiny tasks fly: the faults land in the middle of
/// queue operations, not only in the work.
fn faults_everywhere(queue: &str, signal: &str) -> (i32, String, Value) {
    let child = spawn(&[
        "--queue",
        queue,
        "--from",
        "1000000000",
        "--to",
        "1000400000",
        "--workers",
        "8",
        "--batch",
        "1",
        "--repeats",
        "1",
        "--json",
        "--silence-ms",
        "1000",
    ]);
    let kids =
        ps::wait_for_children(child.id(), 8, Duration::from_secs(10)).unwrap();
    for (i, &k) in kids.iter().take(5).enumerate() {
        std::thread::sleep(Duration::from_millis(20 + 7 * i as u64));
        kit::send_signal(k, signal);
    }
    let (code, stderr, report) = finish(child);
    (code, stderr, report.expect("a report"))
}

#[test]
fn five_of_eight_workers_killed_mid_operation_lose_no_task() {
    let _turn = kit::turn();
    for q in DESIGNS {
        for round in 0..2 {
            let (code, stderr, v) = faults_everywhere(q, "KILL");
            assert_eq!(code, 1, "{q} #{round}: {stderr}");
            assert_eq!(v["exactly_once"], true, "{q} #{round}: {v}");
            assert_eq!(
                v["deaths"].as_array().unwrap().len(),
                5,
                "{q} #{round}: {v}"
            );
            assert_eq!(count_and_sum(&v), serial(1_000_000_000, 1_000_400_000));
        }
    }
}

#[test]
fn five_of_eight_workers_stopped_mid_operation_lose_no_task() {
    let _turn = kit::turn();
    for q in DESIGNS {
        let (code, stderr, v) = faults_everywhere(q, "STOP");
        assert_eq!(code, 1, "{q}: {stderr}");
        assert_eq!(v["exactly_once"], true, "{q}: {v}");
        assert!(stderr.contains("SIGSTOP"), "{q}: {stderr}");
    }
}

#[test]
fn the_most_workers_on_busy_cores_check_every_number_once() {
    let _turn = kit::turn();
    let _load = kit::Load::every_core();
    for q in DESIGNS {
        let v = json_run(&[
            "--queue",
            q,
            "--workers",
            "256",
            "--from",
            "1000000",
            "--to",
            "1100000",
            "--batch",
            "3",
            "--repeats",
            "1",
        ]);
        assert_eq!(v["exactly_once"], true, "{q}");
        assert_eq!(count_and_sum(&v), serial(1_000_000, 1_100_000), "{q}");
    }
}

#[test]
fn a_normal_run_leaves_no_worker() {
    let _turn = kit::turn();
    for q in DESIGNS {
        let child = Command::new(cargo_bin!("01-work-queue"))
            .args([
                "--queue",
                q,
                "--from",
                "1000000000000",
                "--to",
                "1000000004000",
            ])
            .args(["--batch", "16"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let kids =
            ps::wait_for_children(child.id(), 1, Duration::from_secs(10)).unwrap();
        let (code, _, _) = finish(child);
        assert_eq!(code, 0);
        assert!(ps::left_behind(&kids, Duration::from_secs(2)).is_empty());
    }
}

/// What a run must never leave: its directory of worker sockets.
const PREFIX: &str = "01-work-queue";

#[test]
fn ctrl_c_while_workers_start_exits_130_and_leaves_nothing() {
    let _turn = kit::turn();
    let bin = cargo_bin!("01-work-queue");
    for (q, ms) in DESIGNS.iter().flat_map(|q| [(q, 5), (q, 30), (q, 120)]) {
        let args = [
            "--queue",
            q,
            "--workers",
            "64",
            "--from",
            "1000000000000",
            "--to",
            "1000000100000",
        ];
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

// Faults a review found by breaking the program on purpose; each of these
// tests failed before its fix.

/// `kill -s <signal> -- -<group>`: the whole process group, as a terminal's
/// Ctrl-Z (SIGTSTP) and `fg` (SIGCONT) do.
fn signal_group(group: u32, signal: &str) {
    let ok = Command::new("kill")
        .args(["-s", signal, "--", &format!("-{group}")])
        .status();
    assert!(
        ok.is_ok_and(|s| s.success()),
        "kill -s {signal} -- -{group}"
    );
}

#[test]
fn a_run_suspended_with_ctrl_z_and_resumed_keeps_its_healthy_workers() {
    use std::os::unix::process::CommandExt;
    let _turn = kit::turn();
    for q in DESIGNS {
        // Its own process group, as a shell's job: Ctrl-Z stops every process
        // of it, the parent and the workers alike, and `fg` resumes them all.
        let child = Command::new(cargo_bin!("01-work-queue"))
            .args([
                "--queue",
                q,
                "--workers",
                "4",
                "--batch",
                "4",
                "--repeats",
                "1",
            ])
            .args(["--from", "1000000000000", "--to", "1000000040000"])
            .args(["--silence-ms", "1000", "--json"])
            .process_group(0)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let kids =
            ps::wait_for_children(child.id(), 4, Duration::from_secs(10)).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        signal_group(child.id(), "TSTP");
        std::thread::sleep(Duration::from_millis(2500));
        signal_group(child.id(), "CONT");
        let (code, stderr, report) = finish(child);
        // Nobody was silent: the whole job was suspended, the parent too.
        assert_eq!(code, 0, "{q}: {stderr}");
        let v = report.expect("a report");
        assert_eq!(v["exactly_once"], true, "{q}");
        assert_eq!(v["deaths"].as_array().unwrap().len(), 0, "{q}: {v}");
        assert!(ps::left_behind(&kids, Duration::from_secs(2)).is_empty());
    }
}

#[test]
fn a_late_duplicate_from_the_pipe_is_not_taken_for_a_task_of_the_next_round() {
    let _turn = kit::turn();
    // The slow worker (5 ms a number, 100 numbers a task) holds the round's
    // last task while the fast ones, the queue run dry, sleep. Killing a fast
    // worker then sends the slow worker's task again (the pipe cannot tell
    // who holds what); a fast worker answers the copy, the round ends, and
    // the slow worker's own answer arrives during round 2, naming a task of
    // round 1.
    for attempt in 0..3 {
        let child = spawn(&[
            "--queue",
            "pipe",
            "--workers",
            "3",
            "--slow-worker",
            "2",
            "--batch",
            "100",
            "--from",
            "1000000000",
            "--to",
            "1002000000",
            "--repeats",
            "2",
            "--json",
        ]);
        let kids =
            ps::wait_for_children(child.id(), 3, Duration::from_secs(10)).unwrap();
        let fast = [0, 1].map(|i| kit::find_child(&kids, " worker ", i).unwrap());
        let start = std::time::Instant::now();
        let mut idle_since = None;
        while start.elapsed() < Duration::from_secs(30) {
            if fast.iter().all(|&w| ps::state(w) == "sleeping") {
                let since = *idle_since.get_or_insert_with(std::time::Instant::now);
                if since.elapsed() > Duration::from_millis(20) {
                    kit::send_signal(fast[0], "KILL");
                    break;
                }
            } else {
                idle_since = None;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let (code, stderr, report) = finish(child);
        assert!(!stderr.contains("never sent"), "#{attempt}: {stderr}");
        assert_eq!(code, 1, "#{attempt}: {stderr}");
        assert_eq!(
            report.expect("a report")["exactly_once"],
            true,
            "#{attempt}"
        );
    }
}

#[test]
fn a_small_file_size_limit_is_one_clear_line_not_a_death_by_sigxfsz() {
    let _turn = kit::turn();
    // The shared memory file is 144 KiB; `ulimit -f 100` is 100 KiB.
    let bin = cargo_bin!("01-work-queue").display();
    let script = format!("ulimit -f 100 && exec {bin} --queue shm --repeats 1");
    let out = Command::new("sh").args(["-c", &script]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{:?}: {stderr}", out.status);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}
