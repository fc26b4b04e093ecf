//! Looking at processes from outside: for the tests that prove nothing is
//! left behind, and for finding a worker to kill on purpose.
//!
//! Linux only: it reads `/proc`.

use std::time::{Duration, Instant};

/// The direct children of process `pid`, whichever of its threads started them.
pub fn children_of(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|s| {
            s.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

/// The command line of process `pid`, its arguments joined by spaces.
pub fn cmdline(pid: u32) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    raw.split(|&b| b == 0)
        .map(String::from_utf8_lossy)
        .collect::<Vec<_>>()
        .join(" ")
        .trim_end()
        .to_string()
}

/// Is process `pid` still there? A zombie (exited but never reaped) counts:
/// it means some parent failed to reap it.
pub fn exists(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// What process `pid` is doing, in words, from `/proc/<pid>/stat`: "stopped
/// (SIGSTOP)", "running", "sleeping", ... or "gone".
pub fn state(pid: u32) -> &'static str {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return "gone";
    };
    // The command name in parentheses may hold spaces: the state follows
    // the last closing parenthesis.
    let code = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim().chars().next());
    match code {
        Some('T') => "stopped (SIGSTOP)",
        Some('t') => "stopped by a debugger",
        Some('R') => "running",
        Some('S') => "sleeping",
        Some('D') => "waiting in the kernel",
        Some('Z') => "exited, not yet reaped",
        _ => "in an unknown state",
    }
}

/// Waits up to `timeout` for `f` to return `Some`, polling every 10 ms.
pub fn wait_for<T>(
    timeout: Duration,
    mut f: impl FnMut() -> Option<T>,
) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if start.elapsed() > timeout {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits until process `pid` has started `n` children, and returns them.
pub fn wait_for_children(pid: u32, n: usize, timeout: Duration) -> Option<Vec<u32>> {
    wait_for(timeout, || Some(children_of(pid)).filter(|c| c.len() >= n))
}

/// Waits up to `timeout` until none of `pids` exists; returns those left.
pub fn left_behind(pids: &[u32], timeout: Duration) -> Vec<u32> {
    let _ = wait_for(timeout, || pids.iter().all(|&p| !exists(p)).then_some(()));
    pids.iter().copied().filter(|&p| exists(p)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sees_a_child_and_its_end() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let me = std::process::id();
        let kids = wait_for_children(me, 1, Duration::from_secs(5)).unwrap();
        assert!(kids.contains(&child.id()));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(left_behind(&[child.id()], Duration::from_secs(1)).is_empty());
    }
}
