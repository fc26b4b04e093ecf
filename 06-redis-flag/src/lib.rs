//! The document `06-redis-flag coordinate --json` prints, as types: nothing
//! else.
//!
//! The coordinator (`distributed.rs`) fills it in and prints it; tests and
//! `cargo xtask` can read it back with the same definition. The plain run's
//! document is the flag chapters' shared `workers::flag::Report`. The lesson
//! itself is in `main.rs` and `distributed.rs`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use workers::search::Case;

/// What one distributed run found, as `coordinate --json` prints it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DistributedReport {
    /// The run's id: its keys in Redis are named after it.
    pub run: String,
    /// The number searched, by name.
    pub case: Case,
    /// The number searched.
    pub n: u64,
    /// Ranges of divisors the search was split into, one task each.
    pub chunks: u32,
    /// Candidates a worker tries between looks at the stop key.
    pub check_every: u64,
    /// The smallest factor found, if any.
    pub factor: Option<u64>,
    /// Ranges whose results came back, each counted once however often it
    /// was searched.
    pub ranges_reported: u64,
    /// Results for ranges already reported: a worker thought lost that
    /// finished after all.
    #[serde(default)]
    pub duplicates: u64,
    /// Milliseconds a worker may stay silent before its range is taken over.
    #[serde(default)]
    pub lease_ms: u64,
    /// Deliveries of one range after which it goes to the dead letters.
    #[serde(default)]
    pub max_deliveries: u64,
    /// Ranges taken over from a silent worker, in the order heard.
    #[serde(default)]
    pub reclaims: Vec<Reclaim>,
    /// Ranges given up on: delivered too often, every time to a worker that
    /// went silent.
    #[serde(default)]
    pub dead_letters: Vec<DeadLetter>,
    /// Each worker's part, by worker name.
    pub workers: BTreeMap<String, WorkerLine>,
    /// Nanoseconds from the ranges queued to the answer (a factor, or every
    /// range searched).
    pub answer_ns: u64,
    /// Nanoseconds from the answer to every worker's reply to its pill.
    pub shutdown_ns: u64,
    /// Whether every key of the run was deleted before the report; if not,
    /// they expire by themselves.
    #[serde(default)]
    pub keys_deleted: bool,
}

/// One worker's part, as the coordinator heard it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WorkerLine {
    /// Ranges it searched.
    pub ranges: u64,
    /// Candidate divisors it tried, over all its ranges.
    pub tried: u64,
    /// It answered the end of the run before exiting.
    pub answered_pill: bool,
    /// Ranges it took over from workers that went silent.
    #[serde(default)]
    pub took_over: u64,
}

/// A range taken over from a worker that went silent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reclaim {
    /// The range's number, from 0.
    pub range: u64,
    /// The consumer that held it and went silent.
    pub from: String,
    /// The worker that took it over.
    pub by: String,
    /// Milliseconds since the holder last renewed its lease.
    pub silent_ms: u64,
    /// Deliveries of the range so far, this one included.
    pub deliveries: u64,
}

/// A range moved to the dead-letter stream.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The range's number, from 0.
    pub range: u64,
    /// The last consumer that held it.
    pub last: String,
    /// Deliveries it had.
    pub deliveries: u64,
}
