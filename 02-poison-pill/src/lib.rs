//! The documents `02-poison-pill --json` prints, as types: nothing else.
//!
//! The program fills them in and prints them (`main.rs` a plain run,
//! `compare.rs` `--compare`, `pipeline.rs` `--pipeline`); `cargo xtask` reads
//! them back from `book/src/measured/` to make the book's tables. One
//! definition serves both sides, so a field renamed here fails to compile or
//! to load there, instead of turning into a blank cell in the book. The
//! lesson itself is in `main.rs`.
//!
//! Times are nanoseconds of wall time.

use clap::ValueEnum;
use serde::{Deserialize, Serialize};
use workers::report::Machine;
use workers::stats::Summary;

/// How the parent ends its workers once the queue is empty. Here rather than
/// in `main.rs` because the documents name it (`"pill"`, `"close"`, `"kill"`);
/// `main.rs` is where each way is carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Shutdown {
    /// A stop message per worker, behind its work; each answers and exits
    Pill,
    /// Drop every sender: a worker's receive fails once its channel is empty
    Close,
    /// SIGKILL: immediate, and whatever the workers still held is lost
    Kill,
}

/// Everything one plain run measured, as `--json` prints it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// The machine the run was measured on.
    pub machine: Machine,
    /// Worker processes started.
    pub workers: usize,
    /// Numbers per message.
    pub batch: u32,
    /// The first number checked.
    pub from: u64,
    /// The end of the range checked (exclusive).
    pub to: u64,
    /// Pills sent (one per worker, unless `--pills` said fewer).
    pub pills: usize,
    /// Primes a serial run finds in the range (not run after Ctrl-C).
    pub expected: Option<usize>,
    /// Primes the workers' finished batches held, ascending.
    pub primes: Vec<u64>,
    /// Every prime found once, none missing, none twice.
    pub complete: bool,
    /// Numbers each worker finished, by worker index.
    pub tasks_per_worker: Vec<u64>,
    /// Workers that died while there was work, one line each.
    pub deaths: Vec<String>,
    /// Numbers never handed out because Ctrl-C stopped the feeding.
    pub never_started: usize,
    /// How the workers ended.
    pub ending: Ending,
}

/// How the workers ended.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ending {
    /// The way they were told.
    pub how: Shutdown,
    /// Nanoseconds from the queue running dry to every worker reaped.
    pub shutdown_ns: u64,
    /// Nanoseconds from the last result read (or the queue running dry, if
    /// later) to every worker reaped: the cost of the ending itself.
    pub after_last_result_ns: u64,
    /// Numbers that were handed out but never finished.
    pub lost_numbers: usize,
    /// Each worker's ending, by worker index.
    pub per_worker: Vec<WorkerEnding>,
}

/// One worker's ending.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerEnding {
    /// Numbers it held when the shutdown began.
    pub held: usize,
    /// Nanoseconds after the shutdown began that it answered the pill or hung
    /// up; none if it never did.
    pub answered_ns: Option<u64>,
    /// How its process ended, in words; none if it had died before.
    pub exit: Option<String>,
    /// It did not stop by the deadline and was killed.
    pub overstayed: bool,
}

/// What `--compare --json` prints: the same run ended each way, several times.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CompareReport {
    /// The machine the rounds were measured on.
    pub machine: Machine,
    /// Worker processes per round.
    pub workers: usize,
    /// Numbers per message.
    pub batch: u32,
    /// The first number checked.
    pub from: u64,
    /// The end of the range checked (exclusive).
    pub to: u64,
    /// Rounds per way of ending, each with fresh workers.
    pub rounds: u32,
    /// One entry per way of ending: pill, close, kill, in that order.
    pub ways: Vec<Compared>,
}

/// One way of shutting down, timed over several rounds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Compared {
    /// The way.
    pub how: Shutdown,
    /// Nanoseconds from the queue running dry to every worker reaped.
    pub shutdown_ns: Summary,
    /// Nanoseconds from the last result read to every worker reaped.
    pub after_last_result_ns: Summary,
    /// Numbers held by the workers when the shutdown began, per round (a
    /// count, not a time).
    pub held: Summary,
    /// Numbers handed out but never finished, summed over the rounds.
    pub lost_numbers: usize,
    /// Primes missing from the results, summed over the rounds.
    pub lost_primes: usize,
}

/// What `--pipeline --json` prints: the pill passed down a line of stages.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PipelineReport {
    /// The machine the run was measured on.
    pub machine: Machine,
    /// The first number checked.
    pub from: u64,
    /// The end of the range checked (exclusive).
    pub to: u64,
    /// Numbers per message.
    pub batch: u32,
    /// How the end travelled down the line: `pill` or `close`.
    pub shutdown: Shutdown,
    /// Each stage, in line order: produce, check, collect.
    pub stages: Vec<StageRow>,
    /// Primes collected, ascending.
    pub primes: Vec<u64>,
    /// The same primes a serial run finds.
    pub complete: bool,
    /// Nanoseconds from the producer passing the pill to every stage reaped.
    pub shutdown_ns: u64,
}

/// One stage's part, as the parent saw it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageRow {
    /// Its name: `produce`, `check` or `collect`.
    pub stage: String,
    /// Numbers (produce, check) or primes (collect) it handled.
    pub handled: u64,
    /// Nanoseconds after the producer passed the pill on that this stage did.
    pub passed_ns: u64,
    /// How its process ended, in words.
    pub exit: String,
}
