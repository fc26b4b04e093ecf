//! Checks that every flag chapter's tests run against its own binary.
//!
//! The flag chapters share one program shape (see [`crate::coop`]), so they
//! share its tests too: each chapter's `tests/cli.rs` names its binary and
//! the prefix of the files or segments it must never leave behind, and calls
//! these. Only built with the `testkit` feature, for dev-dependencies.

use crate::ps;
use crate::search::{Case, candidates};
use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use std::path::Path;
use std::process::{Child, Stdio};
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

/// Runs `bin` with `args` and `--json`, expecting success; returns the document.
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

/// A short run of the early case with two workers, plus `extra` arguments.
fn quick_early(bin: &Path, extra: &[&str]) -> Value {
    let args = [
        "--case",
        "early",
        "--workers",
        "2",
        "--repeats",
        "1",
        "--trials",
        "3",
    ];
    json_run(bin, &[&args[..], extra].concat())
}

/// Every case reports its known smallest factor, or none for the prime.
pub fn every_case_finds_its_factor(bin: &Path) {
    let _turn = turn();
    for case in Case::ALL {
        let v = json_run(
            bin,
            &["--case", case.name(), "--repeats", "1", "--trials", "3"],
        );
        let (n, factor) = case.number();
        assert_eq!(v["n"], n);
        assert_eq!(v["factor"].as_u64(), factor, "case {}", case.name());
    }
}

/// In the early case the worker that did not find the factor stops long
/// before the end of its share: the flag really ends its search.
pub fn early_exit_stops_the_others(bin: &Path) {
    let _turn = turn();
    let v = quick_early(bin, &[]);
    let w0 = &v["per_worker"][0];
    assert_eq!(w0["searched"]["outcome"], "Stopped", "{w0}");
    let share = candidates(Case::Early.number().0) / 2;
    let tried = w0["searched"]["checked"].as_u64().unwrap();
    assert!(tried < share / 2, "worker 0 tried {tried} of its {share}");
    assert_eq!(
        v["per_worker"][1]["searched"]["outcome"]["Found"],
        174_020_123
    );
}

/// Bad input: a clear message, exit code 2, nothing printed on stdout.
pub fn bad_input_is_refused_with_exit_2(bin: &Path) {
    let _turn = turn();
    let cases: &[(&[&str], &str)] = &[
        (&["--check-every", "0"], "--check-every"),
        (&["--case", "nope"], "--case"),
        (&["--workers", "0"], "--workers"),
        (&["--repeats", "0"], "--repeats"),
        (&["--trials", "0"], "--trials"),
        (&["--check-every", "-5"], "'-5'"),
        (&["--workers", "99999999999"], "--workers"),
    ];
    refused_with_exit_2(bin, cases);
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
pub fn leftovers(prefix: &str, pid: u32) -> Vec<String> {
    let mine = format!("{prefix}-{pid}-");
    [Path::new("/dev/shm"), &std::env::temp_dir()]
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&mine))
        .collect()
}

fn start_long(bin: &Path) -> (Child, Vec<u32>) {
    let child = program(bin)
        .args(["--case", "prime", "--repeats", "100"])
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

/// Ctrl-C mid-search: exit 130, no worker left, nothing left in `/dev/shm`.
pub fn ctrl_c_leaves_nothing(bin: &Path, prefix: &str) {
    let _turn = turn();
    let (child, kids) = start_long(bin);
    let pid = child.id();
    send_signal(pid, "INT");
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(ps::left_behind(&kids, Duration::from_secs(2)).is_empty());
    assert!(
        leftovers(prefix, pid).is_empty(),
        "{:?}",
        leftovers(prefix, pid)
    );
}

/// A worker killed mid-search: named in one line, exit 1, nothing left.
pub fn a_killed_worker_ends_the_run_cleanly(bin: &Path, prefix: &str) {
    let _turn = turn();
    let (child, kids) = start_long(bin);
    let pid = child.id();
    let worker_1 = kids
        .iter()
        .find(|&&k| {
            let cmd = ps::cmdline(k);
            cmd.contains(" worker ") && cmd.contains("--index 1")
        })
        .expect("worker 1 is running");
    send_signal(*worker_1, "KILL");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("worker 1") && stderr.contains("SIGKILL"),
        "{stderr}"
    );
    assert!(ps::left_behind(&kids, Duration::from_secs(2)).is_empty());
    assert!(
        leftovers(prefix, pid).is_empty(),
        "{:?}",
        leftovers(prefix, pid)
    );
}

/// A normal run: exit 0, every worker reaped, nothing left behind.
pub fn a_normal_run_leaves_nothing(bin: &Path, prefix: &str) {
    let _turn = turn();
    let child = program(bin)
        .args(["--case", "early", "--trials", "5"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let kids = ps::wait_for_children(pid, 1, Duration::from_secs(10)).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(ps::left_behind(&kids, Duration::from_secs(2)).is_empty());
    assert!(
        leftovers(prefix, pid).is_empty(),
        "{:?}",
        leftovers(prefix, pid)
    );
}

/// `--count`: the racy counter loses updates, the atomic one loses none.
///
/// The atomic half is certain, and checked on every attempt. The racy half
/// needs the two workers to really run at once, which a loaded or shared
/// machine may deny for a whole run: up to three attempts, and it fails only
/// if none of them lost a single update. `times` should span many scheduler
/// time slices.
pub fn racy_counter_loses_updates_atomic_does_not(bin: &Path, times: u64) {
    let _turn = turn();
    let mut seen = Vec::new();
    for _ in 0..3 {
        let v = quick_early(bin, &["--count", &times.to_string()]);
        let c = v["counted"].clone();
        assert_eq!(c["expected"], 2 * times);
        assert_eq!(
            c["atomic"],
            2 * times,
            "the atomic counter lost updates: {c}"
        );
        if c["racy"].as_u64().unwrap() < 2 * times {
            return;
        }
        seen.push(c);
    }
    panic!("the racy counter lost no update in three runs: {seen:?}");
}

/// `--count` where the flag has no counter: refused with exit 2.
pub fn count_without_a_counter_is_refused(bin: &Path) {
    let _turn = turn();
    checked(bin)
        .args(["--count", "10"])
        .timeout(Duration::from_secs(10))
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("--count needs a counter"));
}

/// Kills the helper process (started as `serve`) mid-run: the run ends with
/// one line naming what failed, exit 1, and no process left.
pub fn a_dead_helper_ends_the_run_cleanly(bin: &Path, says: &str) {
    let _turn = turn();
    let (child, kids) = start_long(bin);
    let helper = *kids
        .iter()
        .find(|&&k| ps::cmdline(k).contains(" serve "))
        .expect("a helper process started as `serve`");
    send_signal(helper, "KILL");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(says), "{stderr}");
    assert_eq!(
        stderr.lines().count(),
        1,
        "one line, not a cascade: {stderr}"
    );
    assert!(ps::left_behind(&kids, Duration::from_secs(2)).is_empty());
}

/// A `redis-server` of the caller's own on a free loopback port, never the
/// user's 6379, with nothing saved to disk. Stopped when dropped.
#[derive(Debug)]
pub struct RedisServer {
    child: Child,
    /// The port it listens on, 127.0.0.1 only.
    pub port: u16,
}

impl RedisServer {
    /// Starts one with `extra` arguments (`--requirepass`, say) and waits
    /// until it accepts connections.
    pub fn start(extra: &[&str]) -> anyhow::Result<RedisServer> {
        use anyhow::Context;
        // Port 0 makes the kernel choose a free port; the listener is closed
        // again just before the server binds it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(extra)
            .stdout(Stdio::null())
            .spawn()
            .context("cannot start redis-server (`cargo xtask ci` installs it)")?;
        let server = RedisServer { child, port };
        let up = ps::wait_for(Duration::from_secs(10), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).ok()
        });
        anyhow::ensure!(up.is_some(), "redis-server did not start on port {port}");
        Ok(server)
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Runs `redis-cli` against it; returns what it printed, trimmed.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = std::process::Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli runs");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
