//! `--pills N`: fewer pills than workers, and the workers left without one
//! never stop.
//!
//! Run it: `cargo run --bin 02-poison-pill -- --pills 1`
//!
//! The parent sends the pills to workers 0 to N-1 (`Broker::shut_down` in
//! main.rs). A worker past them finishes the work it holds and then waits in
//! `recv` for a message that never comes. Nothing in the worker is wrong:
//! the parent still holds its sender, so for all the worker knows, more work
//! may yet arrive. Without a deadline the run would hang forever. With one,
//! the parent stops waiting, kills the worker, names it, and exits 1, so
//! that a script running it notices.

use crate::Shutdown;
use crate::cli::RunArgs;

/// How many pills the parent sends: one per worker, or only `--pills N`.
pub fn count(pills: Option<u16>, workers: usize) -> usize {
    pills.map_or(workers, usize::from)
}

/// Why `--pills` cannot be used as given: it must leave a worker without a
/// pill, or there is nothing to see, and it means nothing without pills.
pub fn refused(args: &RunArgs, workers: usize) -> Option<String> {
    if let Some(p) = args.pills.map(usize::from).filter(|&p| p >= workers) {
        return Some(format!(
            "--pills {p} is not fewer than the {workers} workers: leave it out for one each"
        ));
    }
    if args.pills.is_some() && args.shutdown != Shutdown::Pill {
        return Some("--pills goes with --shutdown pill".into());
    }
    None
}

/// The report's account of the pills sent, when they were too few.
pub fn shortfall(pills: usize, workers: usize) -> String {
    format!("{pills} pills for {workers} workers; from worker {pills} on, none")
}

/// The verdict on the workers (by index) that never stopped.
pub fn verdict(stuck: &[String]) -> String {
    format!(
        "worker {} never stopped: no pill reached it, so it waited for work forever. \
         The deadline caught it and it was killed.",
        stuck.join(", ")
    )
}
