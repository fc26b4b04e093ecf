//! `--crash-worker I`: one worker panics in the middle of a batch, and the
//! others still end cleanly.
//!
//! Run it: `cargo run --bin 02-poison-pill -- --crash-worker 1`
//!
//! The worker dies with a batch half done and some of its primes already
//! sent. Its channel closes, and the parent hears the hang-up at once. What
//! the parent does then is bookkeeping it needs for any death, so it lives
//! in broker.rs (`Broker::hear`, `Broker::bury`): the primes from the unfinished
//! batch are dropped, the whole batch goes back on the queue for the others,
//! and the dead process is reaped and named. The shutdown in main.rs then
//! waits for no answer from it: it is no longer among the live workers.
//!
//! This file holds only the crash itself, and what the run says about it.

use crate::cli::RunArgs;

/// The flag that arms a worker's fuse: `Role::Worker`'s `crash` in cli.rs.
const FLAG: &str = "--crash";

/// The extra arguments of worker `w`'s process: the flag for the worker that
/// `--crash-worker` names, nothing for the others.
pub fn flags(crash: Option<usize>, w: usize) -> Vec<String> {
    if Some(w) == crash {
        vec![FLAG.into()]
    } else {
        Vec::new()
    }
}

/// In a worker: the crash, waiting for its moment.
#[derive(Debug)]
pub struct Fuse {
    /// The worker's index, if it is the one to crash.
    armed: Option<usize>,
    /// Batches finished so far.
    batches: usize,
}

impl Fuse {
    pub fn new(armed: bool, index: usize) -> Fuse {
        Fuse {
            armed: armed.then_some(index),
            batches: 0,
        }
    }

    /// Called before number `i` of a batch of `len`. Goes off halfway through
    /// the second batch: by then the worker has finished one batch, sent some
    /// primes of the next, and still holds the rest of it. That is the case
    /// the parent must get right: half a batch's primes, and no `Done`.
    pub fn tick(&mut self, i: usize, len: usize) {
        if let Some(index) = self.armed
            && self.batches == 1
            && i == len / 2
        {
            panic!("worker {index} crashes on purpose");
        }
        if i + 1 == len {
            self.batches += 1;
        }
    }
}

/// `--crash-worker` must name a worker that exists.
pub fn refused(args: &RunArgs, workers: usize) -> Option<String> {
    let c = args.crash_worker.filter(|&c| c >= workers)?;
    Some(format!(
        "--crash-worker {c} names no worker: there are {workers} (0 to {})",
        workers - 1
    ))
}

/// The verdict when a worker died but nothing was lost.
pub const VERDICT: &str = "a worker crashed, its work was redone by the others, \
                           and their shutdown did not wait for it. Every prime \
                           was found.";
