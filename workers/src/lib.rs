//! What every chapter needs but is not its lesson.
//!
//! Each numbered crate's `main.rs` shows one coordination mechanism. The plumbing
//! around it (starting worker processes and making sure they die, Ctrl-C, the
//! prime test, a clock every process can read, statistics and report printing)
//! lives here once, so the lessons stay short and the book explains it once.

pub mod clock;
pub mod flag;
pub mod fraud;
pub mod interrupt;
pub mod pool;
pub mod prime;
pub mod ps;
#[cfg(feature = "redis-server")]
pub mod redis_server;
pub mod report;
pub mod search;
pub mod stats;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use pool::{Liveness, Pool, WorkerArgs, WorkerEnd};

use std::process::ExitCode;

/// The parent's `main`, around `run`: warns when timings would mislead, gives
/// the run a directory for its worker sockets (see [`pool::SocketDir`]),
/// takes over Ctrl-C (see [`interrupt`]), and turns an error into one line on
/// standard error and exit status 1.
///
/// Call it from `main` before starting any thread: it sets an environment
/// variable, which is sound only while the process has one thread.
pub fn run_parent(run: impl FnOnce() -> anyhow::Result<()>) -> ExitCode {
    parent_main(interrupt::install, || run().map(|()| ExitCode::SUCCESS))
}

/// [`run_parent`] for a program that chooses its own way of taking over
/// Ctrl-C (`install`: [`interrupt::install`] or
/// [`interrupt::install_graceful`]) and its own exit code.
pub fn parent_main(
    install: fn() -> anyhow::Result<()>,
    run: impl FnOnce() -> anyhow::Result<ExitCode>,
) -> ExitCode {
    warn_if_unoptimized();
    // Catch Ctrl-C before anything exists to clean up; the thread that acts
    // on it starts once the socket directory exists to be removed.
    let caught = interrupt::catch();
    // SAFETY: `main` calls this before any thread is started (see above), and
    // catching signals starts none.
    let sockets = caught.and_then(|()| unsafe { pool::SocketDir::create() });
    let result = sockets.and_then(|_dir| install().and_then(|()| run()));
    interrupt::defer_to_signal();
    match (result, interrupt::stop_requested()) {
        // Ctrl-C asked a graceful program to stop, and something then failed
        // (a worker still starting died of the same Ctrl-C, say): the run
        // was interrupted, and says so.
        (Err(_), Some(signal)) => {
            let name =
                signal_hook::low_level::signal_name(signal).unwrap_or("a signal");
            eprintln!("interrupted by {name}");
            ExitCode::from(128 + signal as u8)
        }
        (result, _) => exit_with(result),
    }
}

/// A worker's or helper's `main`, around `run`: an error becomes one line and
/// exit status 1. Ctrl-C is the parent's business (see [`WorkerEnd::connect`]).
pub fn run_worker(run: impl FnOnce() -> anyhow::Result<()>) -> ExitCode {
    let result = run();
    if result.is_err() {
        // Often the error is the news of another process's end (a neighbour
        // in a pipeline killed, the parent gone), and the parent, which
        // knows the cause, is killing every worker right now and will say
        // so itself. Give it that moment before adding a second line.
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    exit_with(result.map(|()| ExitCode::SUCCESS))
}

/// The program's exit code for `Ok`; for an error, one line on standard
/// error and 1, unless a signal is ending the process, which then exits with
/// 128 + signal.
fn exit_with(result: anyhow::Result<ExitCode>) -> ExitCode {
    interrupt::defer_to_signal();
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// How many workers to start: `--workers` if given, else one per core.
pub fn worker_count(asked: Option<u16>) -> usize {
    let cores = || std::thread::available_parallelism().map_or(2, |n| n.get());
    asked.map_or_else(cores, usize::from)
}

/// What is wrong with `--from from --to to`, if anything: the range must
/// hold at least one number, and at most `max` (each becomes a task in memory).
pub fn range_problem(from: u64, to: u64, max: u64) -> Option<String> {
    if from >= to {
        Some(format!("--from {from} must be below --to {to}"))
    } else if to - from > max {
        Some(format!(
            "the range holds {} numbers; at most {max}",
            to - from
        ))
    } else {
        None
    }
}

/// Warns on standard error when this build's timings would mislead.
///
/// The workspace's dev profile is optimized, so `cargo run` prints representative
/// numbers. Someone who turns debug assertions back on gets a warning on every run
/// rather than silently slower figures.
fn warn_if_unoptimized() {
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: built with debug assertions; timings are not representative \
             (see [profile.dev] in Cargo.toml)"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_must_be_non_empty_and_bounded() {
        assert_eq!(range_problem(1, 10, 9), None);
        assert!(range_problem(5, 5, 9).unwrap().contains("must be below"));
        assert!(range_problem(0, 11, 10).unwrap().contains("at most 10"));
        assert_eq!(worker_count(Some(3)), 3);
        assert!(worker_count(None) >= 1);
    }
}
