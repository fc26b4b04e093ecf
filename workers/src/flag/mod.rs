//! What a flag chapter's program calls by name: its command-line options, the
//! orders a worker obeys, the parent's timed searches, and the report.
//!
//! A chapter owns its flag (how it is created, opened, looked at, raised) and
//! its `main` and `worker`. This module owns what every flag chapter does the
//! same way: it releases the workers together, times the searches against a
//! serial run, times one look at the flag, times how long a raised flag takes
//! to stop everyone, and prints what it found.
//!
//! The protocol, parent to worker: `Open(handle)` once, answered `Opened`;
//! with `--workload fraud`, `Load` once, answered `Loaded`; then per search
//! `Search`, answered `Ready`, and `Go` once every worker is
//! ready, answered `Done`; `Bench` and `Ping` for worker 0 alone; the pill,
//! `Stop`, answered `Finished`.
//!
//! Its parts: `worker.rs` is the worker's side ([`Parent`]: connect, open,
//! obey until the pill); `parent.rs` the parent's ([`Pool`]: start, hand over
//! the flag, measure, count, finish); `report.rs` what a run measured and how
//! it is printed; `work.rs` what a run searches (divisors, or transactions).

mod parent;
mod report;
mod work;
mod worker;

pub use report::{Counted, Looks, Measured, Report, WorkerRow, overhead_line};
pub use work::Work;
pub use worker::{Counter, Parent};

use crate::pool::Liveness;
use crate::search::{Case, Searched, Task, Workload};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// Transactions `--workload fraud` scans unless told otherwise: 256 MB, far
/// more than any cache, so a scan streams from memory.
pub const TRANSACTIONS: u64 = 8_000_000;

/// What to search and how often to look: `--workload`, `--case`,
/// `--transactions`, `--check-every`, `--json`.
///
/// `CHECK_EVERY` is the chapter's default interval: often enough that little
/// work is done after the flag goes up, rarely enough that looking costs
/// little. A dear flag wants a larger one.
#[derive(Debug, Clone, clap::Args)]
pub struct SearchArgs<const CHECK_EVERY: u64> {
    /// What to search: a large number for a factor, or card transactions for
    /// fraud
    #[arg(long, value_enum, default_value_t = Workload::Prime)]
    pub workload: Workload,
    /// Which number to search: a prime (no early exit) or where the factor lies;
    /// for fraud, where it is planted (prime: none)
    #[arg(long, value_enum, default_value_t = Case::Mid)]
    pub case: Case,
    /// Transactions to generate for --workload fraud, 32 bytes each
    #[arg(long, value_name = "N", default_value_t = TRANSACTIONS, value_parser = clap::value_parser!(u64).range(1000..=12_000_000))]
    pub transactions: u64,
    /// Candidates (for fraud: pairs of transactions) to check between two
    /// looks at the flag
    #[arg(long, default_value_t = CHECK_EVERY, value_parser = clap::value_parser!(u64).range(1..=1_000_000_000))]
    pub check_every: u64,
    /// Print one JSON document instead of the text report
    #[arg(long)]
    pub json: bool,
}

/// How many workers, how much to time, and how long a worker may be silent:
/// `--workers`, `--repeats`, `--trials`, `--silence-ms`.
#[derive(Debug, Clone, clap::Args)]
pub struct Timing {
    /// Worker processes to start [default: the number of cores]
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub workers: Option<u16>,
    /// Searches to time (each one parallel and serial)
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub repeats: u32,
    /// Stop-latency trials: raise the flag, time until every worker stopped
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub trials: u32,
    #[command(flatten)]
    pub liveness: Liveness,
}

impl Timing {
    /// `--workers` if given, else one per core.
    pub fn workers(&self) -> usize {
        crate::worker_count(self.workers)
    }
}

/// Parent to worker. `H` is what a worker needs to open the flag: a segment's
/// name, a descriptor's number, a channel end.
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound = "")]
pub enum Order<H: Serialize + DeserializeOwned> {
    /// Open the flag; sent once, first.
    Open(H),
    /// Map the run's transactions: the descriptor this worker inherited, and
    /// how many records it holds. Sent once, after `Open`, for
    /// `--workload fraud` only.
    Load { fd: i32, records: u64 },
    /// Get ready to search items `ks` of `task`, looking at the flag every
    /// `check_every`; start at `Go`.
    Search {
        task: Task,
        ks: Range<u64>,
        check_every: u64,
    },
    /// Every worker is ready: start the search.
    Go,
    /// Time `samples` runs of `iters` looks at the flag, or with `local` at
    /// an atomic in the worker's own memory: the floor, timed the same way.
    Bench {
        iters: u64,
        samples: u32,
        local: bool,
    },
    /// Add one to a shared counter `times` times, racily or atomically: for
    /// the chapters that have a counter beside the flag.
    Count { times: u64, racy: bool },
    /// Answer `Pong` at once: one round trip, for scale.
    Ping,
    /// The poison pill.
    Stop,
}

/// Worker to parent.
#[derive(Debug, Serialize, Deserialize)]
pub enum Reply {
    /// The flag is open.
    Opened,
    /// The transactions are mapped.
    Loaded,
    /// Ready to search; waiting for `Go`.
    Ready,
    /// A search ended at `stop_ns` on the shared monotonic clock; the finder
    /// also says when it raised the flag.
    Done {
        searched: Searched,
        stop_ns: u64,
        raised_ns: Option<u64>,
    },
    /// Nanoseconds per look at the flag, one value per sample.
    Bench(Vec<f64>),
    /// The counting is done.
    Counted,
    Pong,
    /// The answer to the pill.
    Finished,
    /// The flag failed (its server died, say): why, in one line.
    Failed(String),
}

/// The pool of workers a flag chapter's parent runs, and the work they
/// search.
///
/// It derefs to the [`crate::pool::Pool`] it wraps, for the calls every pool
/// answers (`len`, `pid`, ...).
#[derive(Debug)]
pub struct Pool<H: Serialize + DeserializeOwned> {
    workers: crate::pool::Pool<Order<H>, Reply>,
    /// What every search goes through; the transactions' memory file lives
    /// as long as this (and any report made from it).
    work: Work,
}

impl<H: Serialize + DeserializeOwned> std::ops::Deref for Pool<H> {
    type Target = crate::pool::Pool<Order<H>, Reply>;
    fn deref(&self) -> &Self::Target {
        &self.workers
    }
}

impl<H: Serialize + DeserializeOwned> std::ops::DerefMut for Pool<H> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.workers
    }
}
