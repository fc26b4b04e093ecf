//! The measured data, typed: what `book/src/measured/*.json` hold.
//!
//! Each `.json` file is a [`Measured`]: a program's `--json` document with the
//! stamp of where, when and by what command it was measured. The documents
//! have the types the programs print them from: `workers::flag::Report` for
//! the flag chapters (3 to 6), `work_queue`'s and `poison_pill`'s for
//! chapters 1 and 2. The two documents `cargo xtask measure` makes itself,
//! Python's side by side and redis-benchmark's floor, have their types here.
//!
//! Loading is strict: a missing or mistyped field is an error that names the
//! file, never a NaN or a "?" in a table. A field a document may lack is an
//! `Option` in its type, and whoever needs it says so with a message that
//! names the file (see [`Measured::overhead_pct`]).

mod files;

pub use files::{
    MEASUREMENTS, Measurement, PYTHON, PYTHON_CMD, REDIS_BIN, REDIS_FLOOR,
    REDIS_FLOOR_ARGS,
};

use crate::workspace::root;
use anyhow::Context;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use workers::flag::{self, Counted};
use workers::stats::Summary;

/// `book/src/measured/`: every figure the book shows, as measured.
pub fn measured_dir() -> PathBuf {
    root().join("book/src/measured")
}

/// Where, when and from what a figure was measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stamp {
    /// The day, `YYYY-MM-DD`, in UTC.
    pub date: String,
    /// The CPU's model name.
    pub cpu: String,
    /// Cores the measuring process could run on.
    pub cores: usize,
    /// The Linux kernel's release.
    pub kernel: String,
    /// `rustc --version`.
    pub rustc: String,
    /// The short git revision, with `+changes` if the work tree differed.
    pub revision: String,
}

impl Stamp {
    /// The stamp as the first line of a measured `.txt` file.
    pub fn line(&self) -> String {
        format!(
            "# measured {} on {}, {} cores, Linux {}, {}, revision {}",
            self.date, self.cpu, self.cores, self.kernel, self.rustc, self.revision
        )
    }
}

/// A measured `.json` file: one document with its stamp and command.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Measured<T> {
    /// Where and when.
    pub stamp: Stamp,
    /// The command that printed `output`, as a student types it.
    pub command: String,
    /// What the command printed.
    pub output: T,
    /// The file's name under `book/src/measured/`, for messages; not part
    /// of the file itself.
    #[serde(skip)]
    pub file: String,
}

/// Reads `book/src/measured/<file>` as a `Measured<T>`.
pub fn load<T: DeserializeOwned>(file: &str) -> anyhow::Result<Measured<T>> {
    let text = std::fs::read_to_string(measured_dir().join(file))
        .with_context(|| format!("{file} is missing: run `cargo xtask measure`"))?;
    parse(file, &text)
}

/// Parses the text of the measured file `file` as a `Measured<T>`.
pub fn parse<T: DeserializeOwned>(
    file: &str,
    text: &str,
) -> anyhow::Result<Measured<T>> {
    let mut measured: Measured<T> = serde_json::from_str(text).with_context(|| {
        format!("{file} does not hold what the book reads: rerun `cargo xtask measure`")
    })?;
    measured.file = file.to_string();
    Ok(measured)
}

impl Measured<flag::Report> {
    /// Nanoseconds of the parallel search never looking at the flag; an error
    /// naming the file if it was not timed (only the prime case times it).
    pub fn unchecked_ns(&self) -> anyhow::Result<&Summary> {
        (self.output.unchecked_ns.as_ref()).with_context(|| self.not_prime())
    }

    /// What looking at the flag added to the search, in percent (see
    /// [`flag::Report::overhead_pct`]); an error naming the file if the
    /// search never looking was not timed.
    pub fn overhead_pct(&self) -> anyhow::Result<f64> {
        (self.output.overhead_pct()).with_context(|| self.not_prime())
    }

    fn not_prime(&self) -> String {
        format!("{} has no `unchecked_ns`: not the prime case", self.file)
    }

    /// The shared counter's figures; an error naming the file if the run
    /// was not asked to `--count`.
    pub fn counted(&self) -> anyhow::Result<&Counted> {
        (self.output.counted.as_ref()).with_context(|| {
            format!("{} has no `counted`: it was run without --count", self.file)
        })
    }
}

/// Every document the book's tables and charts are made from, loaded once.
#[derive(Debug)]
pub struct Data {
    /// `01-sweep.json`: queue cost against task cost.
    pub sweep: Measured<work_queue::SweepReport>,
    /// `01-heavy-1.json`: heavy numbers near 10^12, one per message.
    pub heavy_1: Measured<work_queue::Report>,
    /// `01-heavy-64.json`: the same, 64 per message.
    pub heavy_64: Measured<work_queue::Report>,
    /// `02-compare.json`: the pill, a hang-up and a kill, timed.
    pub compare: Measured<poison_pill::CompareReport>,
    /// `03-prime.json`: the manager's flag at its default interval, with
    /// its counter.
    pub manager: Measured<flag::Report>,
    /// `03-prime-k1000.json`: the manager's flag, a look every 1000.
    pub manager_k1000: Measured<flag::Report>,
    /// `04-prime.json`: the RawValue flag.
    pub raw: Measured<flag::Report>,
    /// `04-count.json`: the RawValue counter.
    pub raw_count: Measured<flag::Report>,
    /// `05-prime.json`: the mmap flag.
    pub mmap: Measured<flag::Report>,
    /// `06-poll-k1000.json` to `06-poll-k1000000.json`: the Redis flag
    /// polled every 1000, 10,000, 100,000 (the default) and 1,000,000
    /// candidates.
    pub polls: [Measured<flag::Report>; 4],
    /// `06-push-k1000.json`: the Redis flag pushed, read every 1000.
    pub push: Measured<flag::Report>,
    /// `06-redis-benchmark.json`: Redis's own benchmark, the floor.
    pub redis_floor: Measured<RedisBenchmark>,
    /// `py-side-by-side.json`: the same looks and queue in Python.
    pub python: Measured<SideBySide>,
}

impl Data {
    /// Loads every document; the first that is missing or does not parse
    /// fails the whole, naming its file.
    pub fn load() -> anyhow::Result<Data> {
        let polls = [
            load("06-poll-k1000.json")?,
            load("06-poll-k10000.json")?,
            load("06-poll-k100000.json")?,
            load("06-poll-k1000000.json")?,
        ];
        Ok(Data {
            sweep: load("01-sweep.json")?,
            heavy_1: load("01-heavy-1.json")?,
            heavy_64: load("01-heavy-64.json")?,
            compare: load("02-compare.json")?,
            manager: load("03-prime.json")?,
            manager_k1000: load("03-prime-k1000.json")?,
            raw: load("04-prime.json")?,
            raw_count: load("04-count.json")?,
            mmap: load("05-prime.json")?,
            polls,
            push: load("06-push-k1000.json")?,
            redis_floor: load(REDIS_FLOOR)?,
            python: load(PYTHON)?,
        })
    }

    /// Chapter 6's flag polled at its default interval (100,000).
    pub fn redis(&self) -> &Measured<flag::Report> {
        &self.polls[2]
    }
}

/// Redis's own benchmark (`redis-benchmark --csv`, GET, one client), from
/// its CSV line; latencies converted from milliseconds to nanoseconds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RedisBenchmark {
    /// Requests per second.
    pub rps: f64,
    /// Mean latency of a GET, in nanoseconds.
    pub avg_ns: f64,
    /// The fastest GET, in nanoseconds.
    pub min_ns: f64,
    /// Median latency, in nanoseconds.
    pub p50_ns: f64,
    /// 95th percentile latency, in nanoseconds.
    pub p95_ns: f64,
    /// 99th percentile latency, in nanoseconds.
    pub p99_ns: f64,
    /// The slowest GET, in nanoseconds.
    pub max_ns: f64,
}

/// What `python3 python/side_by_side.py --json` prints: one look at each
/// flag, and a message through a queue, in Python.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SideBySide {
    /// Python's version, e.g. `3.11.7`.
    pub python: String,
    /// The interpreter, e.g. `CPython`.
    pub implementation: String,
    /// Nanoseconds per look at each flag.
    pub looks_ns: PyLooks,
    /// Chapter 1's queue in Python.
    pub queue: PyQueue,
}

/// Nanoseconds per look at each flag, timed as the text writes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PyLooks {
    /// A local variable: the floor.
    pub floor: PySummary,
    /// A `Manager().Value`: a round trip to the manager process.
    pub manager: PySummary,
    /// A `RawValue` in shared memory.
    pub rawvalue: PySummary,
    /// A byte of an mmap'd file, by `seek` and `read`.
    pub mmap: PySummary,
    /// A Redis `GET` through redis-py, where a server and redis-py were there.
    pub redis: PyRedisLook,
}

/// A look at Redis from Python, or why there is none.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PyRedisLook {
    /// Timed: nanoseconds per look.
    Ran { summary: PySummary },
    /// Not run, and why (no server, no redis-py).
    NotRun { not_run: String },
}

/// Python's summary of repeated samples (no 99th percentile: too few).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PySummary {
    /// How many samples were taken.
    pub n: usize,
    /// The middle sample.
    pub median: f64,
    /// The smallest sample.
    pub min: f64,
    /// The largest sample.
    pub max: f64,
}

/// Chapter 1's queue in Python: the same numbers one per message and batched.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PyQueue {
    /// The first number checked.
    pub from: u64,
    /// How many numbers were checked.
    pub tasks: u64,
    /// Worker processes.
    pub workers: usize,
    /// Nanoseconds per number, serially (median of 3).
    pub task_ns: f64,
    /// One number per message.
    pub unbatched: PyLeg,
    /// Many numbers per message.
    pub batched: PyLeg,
}

/// One way of sending Python's queue its tasks, measured (medians of 3).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PyLeg {
    /// Numbers per message.
    pub batch: u32,
    /// Nanoseconds of wall time for all the numbers.
    pub wall_ns: f64,
    /// Nanoseconds each task added beyond its share of the serial work.
    pub overhead_per_task_ns: f64,
    /// Serial time over parallel time.
    pub speedup: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_files_load_into_their_types() {
        let data = Data::load().unwrap();
        assert_eq!(data.sweep.file, "01-sweep.json");
        assert!(data.redis().command.contains("--check-every 100000"));
        // The JSON files no table reads still carry a whole stamp.
        for m in MEASUREMENTS.iter().filter(|m| m.file.ends_with(".json")) {
            let doc: Measured<serde::de::IgnoredAny> = load(m.file).unwrap();
            assert_eq!(doc.command, m.command(), "{}", m.file);
        }
    }

    #[test]
    fn a_missing_field_names_the_file_and_the_field() {
        let text = r#"{
          "stamp": {"date": "d", "cpu": "c", "cores": 2, "kernel": "k",
                    "rustc": "r", "revision": "v"},
          "command": "redis-benchmark",
          "output": {"rps": 1.0, "avg_ns": 1.0, "min_ns": 1.0, "p95_ns": 1.0,
                     "p99_ns": 1.0, "max_ns": 1.0}
        }"#;
        let e = parse::<RedisBenchmark>("floor.json", text).unwrap_err();
        let said = format!("{e:#}");
        assert!(
            said.contains("floor.json") && said.contains("p50_ns"),
            "{said}"
        );
    }

    #[test]
    fn a_mistyped_field_is_an_error() {
        let text = r#"{
          "stamp": {"date": "d", "cpu": "c", "cores": "two", "kernel": "k",
                    "rustc": "r", "revision": "v"},
          "command": "c", "output": {}
        }"#;
        let e = parse::<serde::de::IgnoredAny>("x.json", text).unwrap_err();
        assert!(format!("{e:#}").contains("x.json"));
    }

    #[test]
    fn an_option_a_table_needs_names_the_file() {
        let mut early: Measured<flag::Report> = load("05-early.json").unwrap();
        early.output.unchecked_ns = None;
        let e = early.overhead_pct().unwrap_err();
        assert!(e.to_string().contains("05-early.json"), "{e}");
    }
}
