//! What the chapters' integration tests use to run their real binaries.
//!
//! Runners only: start a program as a student would, with a deadline; send it
//! a signal; find what it might have left behind; load every core. What each
//! program must do is asserted in that chapter's own `tests/cli.rs`. Only
//! built with the `testkit` feature, for dev-dependencies.

use crate::ps;
use assert_cmd::Command;
use predicates::prelude::*;
pub use serde_json::Value;
use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The machine, one test at a time. Each check starts processes that use
/// every core, and some (the lost-update race) need two workers truly running
/// together: the tests of one binary take turns so that one's load cannot
/// change another's outcome.
///
/// Chapter tests that load the machine without these checks take turns too;
/// never call a check while holding a turn (the lock is not reentrant).
pub fn turn() -> std::sync::MutexGuard<'static, ()> {
    static MACHINE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    MACHINE.lock().unwrap_or_else(|e| e.into_inner())
}

thread_local! {
    /// Variables the checks of this thread set for the programs they start.
    static ENV: std::cell::RefCell<Vec<(String, String)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `f` with `vars` set for every program the checks in it start (a
/// server's URL, say). Per thread, so tests running side by side, each with
/// its own server, do not see each other's; the process environment, which
/// every thread shares, is left alone.
pub fn with_env<T>(vars: &[(&str, &str)], f: impl FnOnce() -> T) -> T {
    let owned = vars.iter().map(|(k, v)| (k.to_string(), v.to_string()));
    let before =
        ENV.with(|e| std::mem::replace(&mut *e.borrow_mut(), owned.collect()));
    let out = f();
    ENV.with(|e| *e.borrow_mut() = before);
    out
}

fn env() -> Vec<(String, String)> {
    ENV.with(|e| e.borrow().clone())
}

/// `bin` as a plain command, with this thread's variables.
pub fn program(bin: &Path) -> std::process::Command {
    let mut c = std::process::Command::new(bin);
    c.envs(env());
    c
}

/// `bin` as an assert_cmd command, with this thread's variables.
fn checked(bin: &Path) -> Command {
    let mut c = Command::new(bin);
    c.envs(env());
    c
}

/// Runs `bin` with `args` and `--json`, expecting success within two
/// minutes; returns the document.
pub fn json_run(bin: &Path, args: &[&str]) -> Value {
    let out = checked(bin)
        .args(args)
        .arg("--json")
        .timeout(Duration::from_secs(120))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out).expect("--json prints one JSON document")
}

/// Each of `cases` (arguments, and a phrase the message must hold) is refused
/// before anything starts: exit code 2, the phrase on stderr, nothing on stdout.
pub fn refused_with_exit_2(bin: &Path, cases: &[(&[&str], &str)]) {
    for (args, says) in cases {
        checked(bin)
            .args(*args)
            .timeout(Duration::from_secs(10))
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains(*says));
    }
}

/// Sends `signal` (a name such as `INT` or `KILL`) to process `pid`.
pub fn send_signal(pid: u32, signal: &str) {
    let ok = std::process::Command::new("kill")
        .args(["-s", signal, &pid.to_string()])
        .status();
    assert!(
        ok.is_ok_and(|s| s.success()),
        "kill -s {signal} {pid} failed"
    );
}

/// Names in `/dev/shm` and the temp folder that start with `prefix` and
/// carry process id `pid`: what a run with that pid could leave behind.
///
/// That includes the run's directory of worker sockets,
/// `<temp>/<prefix>-sockets-<pid>` (see `workers::pool::SocketDir`).
pub fn leftovers(prefix: &str, pid: u32) -> Vec<String> {
    let mine = format!("{prefix}-{pid}-");
    let sockets = format!("{prefix}-sockets-{pid}");
    [Path::new("/dev/shm"), &std::env::temp_dir()]
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&mine) || *n == sockets)
        .collect()
}

/// Starts a long run (the prime, searched 100 times) with standard error
/// piped, and returns it with its children (workers, and a helper process
/// where the flag has one) once they are all running.
pub fn start_long(bin: &Path) -> (Child, Vec<u32>) {
    start_long_with(bin, &[])
}

/// [`start_long`] with `extra` arguments (`--silence-ms 1000`, say).
pub fn start_long_with(bin: &Path, extra: &[&str]) -> (Child, Vec<u32>) {
    let child = program(bin)
        .args(["--case", "prime", "--repeats", "100"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Workers, plus a helper process where the flag has one.
    let kids = ps::wait_for_children(child.id(), 2, Duration::from_secs(10))
        .expect("workers started");
    std::thread::sleep(Duration::from_millis(100));
    let kids = ps::children_of(child.id())
        .into_iter()
        .chain(kids)
        .collect::<Vec<_>>();
    std::thread::sleep(Duration::from_millis(300));
    (child, kids)
}

/// Waits for `child`, started by [`start_long`], to end; returns its exit
/// code and what it said on standard error.
pub fn ended(child: Child) -> (Option<i32>, String) {
    let Output { status, stderr, .. } = child.wait_with_output().unwrap();
    (status.code(), String::from_utf8_lossy(&stderr).into_owned())
}

/// The pid of the child of `kids` whose command line holds `role` (" worker ",
/// " manager ", " stage ") and `--index index`.
pub fn find_child(kids: &[u32], role: &str, index: usize) -> Option<u32> {
    let index = format!("--index {index}");
    kids.iter().copied().find(|&k| {
        let cmd = ps::cmdline(k);
        cmd.contains(role) && cmd.contains(&index)
    })
}

/// A busy loop on every core until dropped: the machine a test runs on is
/// then as busy as a shared one can be.
#[derive(Debug)]
pub struct Load {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Load {
    /// Starts one spinning thread per core.
    pub fn every_core() -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let threads = (0..cores)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::hint::spin_loop();
                    }
                })
            })
            .collect();
        Load { stop, threads }
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// `bin <sub...> --help`, as printed (`sub` names a subcommand, or is empty).
pub fn help_text(bin: &Path, sub: &[&str]) -> String {
    let out = checked(bin).args(sub).arg("--help").assert().success();
    String::from_utf8_lossy(&out.get_output().stdout).into_owned()
}

/// The long options `bin <sub...> --help` offers, in order, each as often as
/// listed.
pub fn help_options(bin: &Path, sub: &[&str]) -> Vec<String> {
    help_text(bin, sub)
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("-h, ").or(Some(l.trim_start())))
        .filter(|l| l.starts_with("--"))
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .collect()
}

/// Starts `bin args...` in a process group of its own, as a shell starts a
/// job, and `after` its `main` has begun catching Ctrl-C, sends SIGINT to the
/// whole group, as a terminal's Ctrl-C does: the workers that have started
/// get it too. (Before `main` nothing can catch it, and the signal's default
/// action ends the process; that is no test of the program.) Returns the
/// exit code, standard error, the pid, and every child seen meanwhile.
pub fn ctrl_c_after(
    bin: &Path,
    args: &[&str],
    after: Duration,
) -> (Option<i32>, String, u32, Vec<u32>) {
    use std::os::unix::process::CommandExt;
    let child = program(bin)
        .args(args)
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let catching = ps::wait_for(Duration::from_secs(10), || {
        catches_sigint(pid).then_some(())
    });
    assert!(catching.is_some(), "{} never caught SIGINT", bin.display());
    let start = std::time::Instant::now();
    let mut kids = Vec::new();
    while start.elapsed() < after {
        for k in ps::children_of(pid) {
            if !kids.contains(&k) {
                kids.push(k);
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let group = format!("-{pid}");
    let sent = std::process::Command::new("kill")
        .args(["-s", "INT", "--", &group])
        .status();
    assert!(
        sent.is_ok_and(|s| s.success()),
        "kill -s INT -- {group} failed"
    );
    let (code, stderr) = ended(child);
    (code, stderr, pid, kids)
}

/// Runs `script` with `sh -c` in a mount namespace of its own
/// (`unshare --mount`), where it may mount a small tmpfs on /dev/shm without
/// touching the machine's. `None` when this machine will not make one (not
/// root, no `unshare`): the caller says it skipped, and why.
pub fn in_private_mounts(script: &str) -> Option<Output> {
    let probe = std::process::Command::new("unshare")
        .args(["--mount", "--propagation", "private", "true"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        return None;
    }
    let out = std::process::Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", script])
        .envs(env())
        .output()
        .unwrap();
    Some(out)
}

/// What a run did after a fault was done to it, for a test to judge.
#[derive(Debug)]
pub struct Faulted {
    /// The run's exit code (`None`: killed by a signal).
    pub code: Option<i32>,
    /// All it wrote on standard error.
    pub stderr: String,
    /// The process the fault was done to.
    pub victim: u32,
    /// Its processes still alive 2 s after it ended: there should be none.
    pub processes_left: Vec<u32>,
    /// Names it left in `/dev/shm` or the temp folder: there should be none.
    pub names_left: Vec<String>,
}

impl Faulted {
    /// The lines of standard error that report an error.
    pub fn errors(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .collect()
    }

    /// No process of the run alive, and no name of it left.
    pub fn left_nothing(&self) -> bool {
        self.processes_left.is_empty() && self.names_left.is_empty()
    }
}

/// Which process of a run a fault is done to.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// The parent itself.
    Parent,
    /// The child started with this hidden subcommand (" worker ",
    /// " manager ") and this `--index`.
    Child(&'static str, usize),
}

/// Starts a long run of `bin` (the prime, with `extra` arguments), sends
/// `signal` (`KILL`, `STOP`, `INT`) to `target` once every worker runs, and
/// waits for the run to end. `prefix` names what it must not leave behind.
pub fn signal_mid_run(
    bin: &Path,
    prefix: &str,
    target: Target,
    signal: &str,
    extra: &[&str],
) -> Faulted {
    let (child, kids) = start_long_with(bin, extra);
    let pid = child.id();
    let victim = match target {
        Target::Parent => pid,
        Target::Child(role, index) => {
            find_child(&kids, role, index).expect("the target process runs")
        }
    };
    send_signal(victim, signal);
    let (code, stderr) = ended(child);
    Faulted {
        code,
        stderr,
        victim,
        processes_left: ps::left_behind(&kids, Duration::from_secs(2)),
        names_left: leftovers(prefix, pid),
    }
}

/// [`ctrl_c_after`] `after` the start of `bin args...`, judged as
/// [`signal_mid_run`] judges.
pub fn ctrl_c_at_start(
    bin: &Path,
    prefix: &str,
    args: &[&str],
    after: Duration,
) -> Faulted {
    let (code, stderr, pid, kids) = ctrl_c_after(bin, args, after);
    Faulted {
        code,
        stderr,
        victim: pid,
        processes_left: ps::left_behind(&kids, Duration::from_secs(2)),
        names_left: leftovers(prefix, pid),
    }
}

/// A flag chapter's Ctrl-C mid-run: exit 130, no error line, nothing left.
pub fn check_ctrl_c_mid_run(bin: &Path, prefix: &str) {
    let run = signal_mid_run(bin, prefix, Target::Parent, "INT", &[]);
    assert_eq!(run.code, Some(130), "{}", run.stderr);
    assert!(run.errors().is_empty(), "{}", run.stderr);
    assert!(run.left_nothing(), "{run:?}");
}

/// A flag chapter's worker 1 killed mid-run: exit 1, one error line naming
/// it and SIGKILL, nothing left.
pub fn check_killed_worker(bin: &Path, prefix: &str) {
    let run = signal_mid_run(bin, prefix, Target::Child(" worker ", 1), "KILL", &[]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(run.errors().len(), 1, "one error line: {}", run.stderr);
    let name = format!("worker 1 (pid {})", run.victim);
    assert!(
        run.errors()[0].contains(&name) && run.stderr.contains("SIGKILL"),
        "{}",
        run.stderr
    );
    assert!(run.left_nothing(), "{run:?}");
}

/// A flag chapter's worker 1 stopped mid-run (SIGSTOP, with a silence of
/// 1 s): exit 1, one error line naming it silent and stopped, nothing left.
pub fn check_stopped_worker(bin: &Path, prefix: &str) {
    let silence = ["--silence-ms", "1000"];
    let run =
        signal_mid_run(bin, prefix, Target::Child(" worker ", 1), "STOP", &silence);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(run.errors().len(), 1, "one error line: {}", run.stderr);
    let error = run.errors()[0];
    let name = format!("worker 1 (pid {}) was silent", run.victim);
    assert!(
        error.contains(&name) && error.contains("SIGSTOP"),
        "{}",
        run.stderr
    );
    assert!(run.left_nothing(), "{run:?}");
}

/// A flag chapter's Ctrl-C early, mid-way and late in starting 64 workers
/// (5, 30 and 120 ms in: some have not yet learnt to leave Ctrl-C to the
/// parent, some have not yet connected): exit 130 with no error, nothing
/// left, each time.
pub fn check_ctrl_c_during_start_up(bin: &Path, prefix: &str) {
    for ms in [5, 30, 120] {
        let after = Duration::from_millis(ms);
        let run = ctrl_c_at_start(bin, prefix, &["--workers", "64"], after);
        assert_eq!(run.code, Some(130), "Ctrl-C after {ms} ms: {}", run.stderr);
        assert!(
            !run.stderr.contains("error"),
            "Ctrl-C after {ms} ms: {}",
            run.stderr
        );
        assert!(run.left_nothing(), "{run:?}");
    }
}

/// Whether process `pid` has a handler for SIGINT (`SigCgt` in its
/// `/proc/<pid>/status` is a bit mask; SIGINT is signal 2).
fn catches_sigint(pid: u32) -> bool {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let mask = status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .and_then(|m| u64::from_str_radix(m.trim(), 16).ok());
    mask.is_some_and(|m| m & (1 << (2 - 1)) != 0)
}

/// Transactions in the tests' fraud scans: 6 MB, generated in milliseconds.
pub const SMALL_SCAN: u64 = 200_000;

/// Runs `bin`'s fraud scan of [`SMALL_SCAN`] transactions for `case` (two
/// workers, one timed search, a few latency trials) and checks what every
/// scan must report: the pair planted for `case` found (nothing where none
/// was planted) by worker 1, whose slice holds it.
pub fn check_fraud_scan(bin: &Path, case: crate::search::Case) {
    let small = SMALL_SCAN.to_string();
    let args = [
        "--workload",
        "fraud",
        "--case",
        case.name(),
        "--transactions",
        &small,
        "--workers",
        "2",
        "--repeats",
        "1",
        "--trials",
        "3",
    ];
    let v = json_run(bin, &args);
    let planted = crate::fraud::planted(case, SMALL_SCAN);
    let scan = &v["scan"];
    assert_eq!(scan["transactions"], SMALL_SCAN, "{v}");
    assert_eq!(scan["planted"].as_u64(), planted, "{v}");
    assert_eq!(scan["found"][0]["id"].as_u64(), planted, "{v}");
    assert_eq!(v["factor"], Value::Null, "{v}");
    let w1 = &v["per_worker"][1]["searched"]["outcome"];
    match planted {
        Some(p) => assert_eq!(w1["Found"].as_u64(), Some(p), "{v}"),
        None => assert_eq!(w1, "Exhausted", "{v}"),
    }
}

/// Checks a two-worker run (`--json`) whose factor or pair, `found`, lies in
/// worker 1's slice: worker 1 reports it, and worker 0, which holds nothing,
/// stopped on the flag before the end of its slice of `slice` items. How
/// long before is timing, and is not checked: under load worker 1 may wait
/// for a core while worker 0 searches on (CI saw worker 0 at 62% of its
/// slice, where on a quiet machine it stops near 10%).
pub fn check_stopped_by_the_finder(v: &Value, found: u64, slice: u64) {
    assert_eq!(
        v["per_worker"][1]["searched"]["outcome"]["Found"], found,
        "{v}"
    );
    let w0 = &v["per_worker"][0]["searched"];
    assert_eq!(w0["outcome"], "Stopped", "{w0}");
    assert!(w0["checked"].as_u64().unwrap() < slice, "{w0}");
}

/// Runs `bin` with `args` to its end and checks a normal run's promises:
/// exit 0, no worker left, nothing under [`leftovers`]' `prefix` left.
pub fn normal_run_leaves_nothing(bin: &Path, prefix: &str, args: &[&str]) {
    let child = program(bin)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let kids = ps::wait_for_children(pid, 1, Duration::from_secs(10)).unwrap();
    let (code, stderr) = ended(child);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(ps::left_behind(&kids, Duration::from_secs(2)).is_empty());
    assert!(leftovers(prefix, pid).is_empty());
}
