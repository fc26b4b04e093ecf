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
    /// Ranges whose results came back.
    pub ranges_reported: u64,
    /// Each worker's part, by worker name.
    pub workers: BTreeMap<String, WorkerLine>,
    /// Nanoseconds from the ranges queued to the answer (a factor, or every
    /// range searched).
    pub answer_ns: u64,
    /// Nanoseconds from the answer to every worker's reply to its pill.
    pub shutdown_ns: u64,
}

/// One worker's part, as the coordinator heard it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WorkerLine {
    /// Ranges it searched.
    pub ranges: u64,
    /// Candidate divisors it tried, over all its ranges.
    pub tried: u64,
    /// It answered its pill before exiting.
    pub answered_pill: bool,
}
