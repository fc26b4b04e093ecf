//! The measured data, typed: what `book/src/measured/*.json` hold.
//!
//! Each `.json` file is a [`Measured`]: a program's `--json` document with the
//! stamp of where, when and by what command it was measured. The documents
//! have the types the programs print them from: `workers::flag::Report` for
//! the flag chapters (3 to 7), `work_queue`'s and `poison_pill`'s for
//! chapters 1 and 2. The two documents `cargo xtask measure` makes itself,
//! Python's side by side and redis-benchmark's floor, have their types here.
//!
//! Loading is strict: a missing or mistyped field is an error that names the
//! file, never a NaN or a "?" in a table. A field a document may lack is an
//! `Option` in its type, and whoever needs it says so with a message that
//! names the file (see [`Measured::overhead_pct`]).

mod files;
pub mod hpp;
mod rtt;

pub use files::{
    LATENCY_INTERVALS, LATENCY_WORKERS, MEASUREMENTS, Measurement, PYTHON,
    PYTHON_CMD, REDIS_BIN, REDIS_FLOOR, REDIS_FLOOR_ARGS, queue_file,
};
pub use hpp::Hpp;
pub use rtt::{
    CHAPTER_INTERVALS, DEFAULT_INTERVAL, Distance, Path, Plan, RTT_PLANS, Run,
};

use crate::workspace::root;
use anyhow::{Context, ensure};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use work_queue::{Design, Report, SweepReport};
use workers::flag::{self, Counted};
pub use workers::stats::Summary;

/// `book/src/measured/`: every figure the book shows, as measured.
pub fn measured_dir() -> PathBuf {
    root().join("book/src/measured")
}

/// Where, when and from what a figure was measured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Chapter 1's queue in each of its designs, in [`Design::ALL`]'s order:
    /// broker, pipe, shm.
    pub queues: [QueueRuns; 3],
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
    /// `05-latency-k10.json` to `05-latency-k10000000.json`: the mmap flag's
    /// stop latency at each of [`LATENCY_INTERVALS`], one worker per core.
    pub latency_by_interval: [Measured<flag::Report>; 4],
    /// `05-latency-w1.json` to `05-latency-w8.json`: the same at the default
    /// interval with each of [`LATENCY_WORKERS`] workers.
    pub latency_by_workers: [Measured<flag::Report>; 4],
    /// `06-push-k1000.json`: the Redis flag pushed, read every 1000.
    pub push: Measured<flag::Report>,
    /// `07-prime.json`: the stop as a message, at its default interval.
    pub message: Measured<flag::Report>,
    /// `07-prime-k1000.json`: the stop as a message, a look every 1000.
    pub message_k1000: Measured<flag::Report>,
    /// `06-redis-benchmark.json`: Redis's own benchmark, the floor.
    pub redis_floor: Measured<RedisBenchmark>,
    /// `py-side-by-side.json`: the same looks and queues in Python.
    pub python: Measured<SideBySide>,
    /// `fraud-03-manager.json` to `fraud-07-message.json`: chapters 3, 4,
    /// 5, 6 (polled) and 7 scanning transactions, no fraud planted.
    pub fraud: [Measured<flag::Report>; 5],
    /// `06-rtt-*.json`: chapter 6 at each distance of [`RTT_PLANS`], nearest
    /// first.
    pub distances: Vec<Measured<Distance>>,
    /// `book/data/hpp.json`: the figures *High Performance Python* published,
    /// not measured here.
    pub hpp: Hpp,
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
        let latency = |name: String, check: &dyn Fn(&flag::Report) -> bool| {
            let m: Measured<flag::Report> = load(&name)?;
            ensure!(
                check(&m.output),
                "{name} was not run as its name says: rerun `cargo xtask measure`"
            );
            Ok::<_, anyhow::Error>(m)
        };
        let [k0, k1, k2, k3] = LATENCY_INTERVALS.map(|k| {
            latency(format!("05-latency-k{k}.json"), &move |r| {
                r.check_every == k
            })
        });
        let [w0, w1, w2, w3] = LATENCY_WORKERS.map(|w| {
            latency(format!("05-latency-w{w}.json"), &move |r| r.workers == w)
        });
        let [broker, pipe, shm] = Design::ALL;
        Ok(Data {
            queues: [
                QueueRuns::load(broker)?,
                QueueRuns::load(pipe)?,
                QueueRuns::load(shm)?,
            ],
            compare: load("02-compare.json")?,
            manager: load("03-prime.json")?,
            manager_k1000: load("03-prime-k1000.json")?,
            raw: load("04-prime.json")?,
            raw_count: load("04-count.json")?,
            mmap: load("05-prime.json")?,
            polls,
            push: load("06-push-k1000.json")?,
            message: load("07-prime.json")?,
            message_k1000: load("07-prime-k1000.json")?,
            redis_floor: load(REDIS_FLOOR)?,
            python: load(PYTHON)?,
            fraud: [
                load("fraud-03-manager.json")?,
                load("fraud-04-rawvalue.json")?,
                load("fraud-05-mmap.json")?,
                load("fraud-06-redis.json")?,
                load("fraud-07-message.json")?,
            ],
            distances: RTT_PLANS
                .iter()
                .map(|p| load(p.file))
                .collect::<Result<_, _>>()?,
            latency_by_interval: [k0?, k1?, k2?, k3?],
            latency_by_workers: [w0?, w1?, w2?, w3?],
            hpp: Hpp::load()?,
        })
    }

    /// Chapter 6's flag polled at its default interval (100,000).
    pub fn redis(&self) -> &Measured<flag::Report> {
        &self.polls[2]
    }

    /// The stop-latency runs with each of [`LATENCY_WORKERS`] workers; where
    /// one repeats a run of the interval sweep (same interval, same
    /// workers), that run instead, so that one setting has one figure.
    pub fn latency_workers(&self) -> [&Measured<flag::Report>; 4] {
        self.latency_by_workers.each_ref().map(|w| {
            let same = |k: &&Measured<flag::Report>| {
                (k.output.check_every, k.output.workers)
                    == (w.output.check_every, w.output.workers)
            };
            self.latency_by_interval.iter().find(same).unwrap_or(w)
        })
    }

    /// Chapter 1's measurements of one design.
    pub fn queue(&self, design: Design) -> &QueueRuns {
        (self.queues.iter())
            .find(|q| q.design == design)
            .expect("Data::load loads every design")
    }
}

/// Chapter 1's documents of one design: a sweep of task cost, and the same
/// tiny and heavy numbers as Python's queue, one and 64 per message.
#[derive(Debug)]
pub struct QueueRuns {
    /// Where the queue lived.
    pub design: Design,
    /// `01-sweep-D.json`: queue cost against task cost.
    pub sweep: Measured<SweepReport>,
    /// `01-tiny-D-1.json`: the 20,000 numbers from 10^4 of Python's
    /// `queue.tiny`, one per message.
    pub tiny_1: Measured<Report>,
    /// `01-tiny-D-64.json`: the same, 64 per message.
    pub tiny_64: Measured<Report>,
    /// `01-heavy-D-1.json`: 10,000 heavy numbers from 10^12, one per message.
    pub heavy_1: Measured<Report>,
    /// `01-heavy-D-64.json`: the same, 64 per message.
    pub heavy_64: Measured<Report>,
}

impl QueueRuns {
    /// Loads the documents of `design`; each must say it measured that
    /// design, a run also that it sent the numbers its name says per message.
    fn load(design: Design) -> anyhow::Result<QueueRuns> {
        let run = |kind: &str, batch: u32| -> anyhow::Result<Measured<Report>> {
            let m: Measured<Report> = load(&queue_file(kind, design, Some(batch)))?;
            ensure!(
                m.output.batch == batch,
                "{} sent {} numbers per message, not {batch}: rerun `cargo xtask measure`",
                m.file,
                m.output.batch
            );
            m.of_design(design)
        };
        let sweep: Measured<SweepReport> = load(&queue_file("sweep", design, None))?;
        Ok(QueueRuns {
            design,
            sweep: sweep.of_design(design)?,
            tiny_1: run("tiny", 1)?,
            tiny_64: run("tiny", 64)?,
            heavy_1: run("heavy", 1)?,
            heavy_64: run("heavy", 64)?,
        })
    }

    /// The four plain runs: tiny then heavy, one then 64 per message.
    pub fn runs(&self) -> [&Measured<Report>; 4] {
        [&self.tiny_1, &self.tiny_64, &self.heavy_1, &self.heavy_64]
    }

    /// Nanoseconds to start the workers: one sample from each plain run.
    pub fn startup_ns(&self) -> Summary {
        let samples = self.runs().map(|m| m.output.startup_ns as f64);
        Summary::of(&samples).expect("four samples, none NaN")
    }
}

/// A chapter 1 document: it says which design it measured.
pub trait OfDesign {
    /// Where the queue lived.
    fn design(&self) -> Design;
}

impl OfDesign for Report {
    fn design(&self) -> Design {
        self.queue
    }
}

impl OfDesign for SweepReport {
    fn design(&self) -> Design {
        self.queue
    }
}

impl<T: OfDesign> Measured<T> {
    /// The document, if it measured `design`; else an error naming the file.
    fn of_design(self, design: Design) -> anyhow::Result<Self> {
        let measured = self.output.design();
        ensure!(
            measured == design,
            "{} measured the {} queue, not {}: rerun `cargo xtask measure`",
            self.file,
            measured.name(),
            design.name()
        );
        Ok(self)
    }
}

impl Measured<Report> {
    /// Numbers checked.
    pub fn tasks(&self) -> u64 {
        self.output.to - self.output.from
    }

    /// Queue overhead per number, one sample per parallel round: the
    /// round's time less the serial median's share per worker, over the
    /// numbers, as Python's side by side computes it. Its median is the
    /// report's own.
    pub fn overhead_per_task_ns(&self) -> Summary {
        let r = &self.output;
        let share = r.serial_ns.median / r.workers as f64;
        let tasks = self.tasks() as f64;
        (r.parallel_ns.map(|wall| (wall - share) / tasks))
            .expect("a parallel round's time is a number")
    }

    /// Serial time over parallel time, one sample per parallel round: the
    /// serial median over the round's time.
    pub fn speedup(&self) -> Summary {
        let r = &self.output;
        (r.parallel_ns.map(|wall| r.serial_ns.median / wall))
            .expect("a parallel round's time is a number")
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
/// flag, and chapter 1's queue, in Python.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SideBySide {
    /// Python's version, e.g. `3.11.7`.
    pub python: String,
    /// The interpreter, e.g. `CPython`.
    pub implementation: String,
    /// Nanoseconds per look at each flag.
    pub looks_ns: PyLooks,
    /// Chapter 1's queue in Python: start-up, tiny and heavy tasks, a sweep.
    pub queue: PyQueue,
}

/// Nanoseconds per look at each flag, timed as the text writes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PyLooks {
    /// A local variable: the floor.
    pub floor: Summary,
    /// A `Manager().Value`: a round trip to the manager process.
    pub manager: Summary,
    /// A `RawValue` in shared memory.
    pub rawvalue: Summary,
    /// A byte of an mmap'd file, by `seek` and `read`.
    pub mmap: Summary,
    /// A Redis `GET` through redis-py, where a server and redis-py were there.
    pub redis: PyRedisLook,
}

/// A look at Redis from Python, or why there is none.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PyRedisLook {
    /// Timed: nanoseconds per look.
    Ran { summary: Summary },
    /// Not run, and why (no server, no redis-py).
    NotRun { not_run: String },
}

/// Chapter 1's `multiprocessing.Queue` in Python, each figure beside a Rust
/// one: what starting the workers costs, tiny tasks, heavy tasks, and a sweep
/// of task cost. Workers are started with *spawn*; each measurement starts
/// one pool per way of sending (one per message, batched) and times
/// [`PyQueue::rounds`] rounds through it, once every worker runs; every
/// round's primes equal a serial run's.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PyQueue {
    /// Worker processes (`os.cpu_count()`).
    pub workers: usize,
    /// Rounds timed for each figure, serial and parallel alike (odd, so a
    /// median is one of the rounds).
    pub rounds: u32,
    /// Nanoseconds from the first `Process.start()` until every worker of a
    /// pool had put its "running" message: one sample per pool started by
    /// the measurements below (two per [`PyRow`]).
    pub startup_ns: Summary,
    /// Tiny tasks: the numbers of the Rust sweep's 10^4 row. Its fields sit
    /// at the top of `queue` in the JSON (`queue.from`, `queue.unbatched`).
    #[serde(flatten)]
    pub tiny: PyRow,
    /// Heavy tasks: numbers from 10^12, as `01-heavy-D-1.json` and
    /// `01-heavy-D-64.json`, but fewer of them ([`PyRow::tasks`]): a Python
    /// division is much slower than a Rust one. Compare speedups and
    /// overhead against task cost, not wall times.
    pub heavy: PyRow,
    /// Queue cost against task cost, as `01-work-queue --sweep`.
    pub sweep: PySweep,
}

/// Numbers of one size checked serially and through Python's queue, one per
/// message and batched: the shape of a Rust sweep row, with a spread on
/// every figure.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PyRow {
    /// The first number checked (a power of 10).
    pub from: u64,
    /// How many numbers were checked, from `from` on.
    pub tasks: u64,
    /// Nanoseconds per number, serially: each serial round over `tasks`.
    /// The task cost.
    pub task_ns: Summary,
    /// Nanoseconds to check every number in one process, no queue.
    pub serial_ns: Summary,
    /// One number per message.
    pub unbatched: PyLeg,
    /// Many numbers per message (64).
    pub batched: PyLeg,
}

/// One way of sending Python's queue its tasks, measured. Overhead and
/// speedup set each parallel round against the serial median: their median
/// is the figure from the two medians (as the Rust sweep computes it), their
/// spread that of the parallel rounds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PyLeg {
    /// Numbers per message.
    pub batch: u32,
    /// Nanoseconds of wall time for all the numbers, per round.
    pub wall_ns: Summary,
    /// Nanoseconds of wall time each task added beyond its share of the
    /// serial work: (wall - serial / workers) / tasks.
    pub overhead_per_task_ns: Summary,
    /// Serial time over parallel time (a ratio); above 1 the queue paid off.
    pub speedup: Summary,
}

/// Python's queue cost against task cost: numbers from 10^2 to 10^14 in
/// steps of 10^2, as many of each as take about `target_ns` serially.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PySweep {
    /// Nanoseconds of serial work each size aims for (from a probe of
    /// `min_tasks` numbers).
    pub target_ns: u64,
    /// The fewest numbers checked at a size.
    pub min_tasks: u64,
    /// The most numbers checked at a size.
    pub max_tasks: u64,
    /// One row per size, smallest (cheapest task) first.
    pub rows: Vec<PyRow>,
    /// Nanoseconds per task (median) of the first row where the median
    /// speedup passed 1, one number per message; none if it never did.
    pub crossover_unbatched_ns: Option<f64>,
    /// The same, batched.
    pub crossover_batched_ns: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_files_load_into_their_types() {
        let data = Data::load().unwrap();
        for (runs, design) in data.queues.iter().zip(Design::ALL) {
            assert_eq!(runs.design, design);
            let sweep = format!("01-sweep-{}.json", design.name());
            assert_eq!(runs.sweep.file, sweep);
        }
        assert!(data.redis().command.contains("--check-every 100000"));
        // The JSON files no table reads still carry a whole stamp.
        for m in MEASUREMENTS.iter().filter(|m| m.file.ends_with(".json")) {
            let doc: Measured<serde::de::IgnoredAny> = load(m.file).unwrap();
            assert_eq!(doc.command, m.command(), "{}", m.file);
        }
    }

    #[test]
    fn a_document_of_another_design_is_refused_naming_the_file() {
        let pipe: Measured<Report> = load("01-tiny-pipe-1.json").unwrap();
        let e = pipe.of_design(Design::Shm).unwrap_err().to_string();
        assert!(
            e.contains("01-tiny-pipe-1.json") && e.contains("shm"),
            "{e}"
        );
    }

    #[test]
    fn spreads_set_the_parallel_extremes_against_the_serial_median() {
        let mut m: Measured<Report> = load("01-heavy-shm-1.json").unwrap();
        let r = &mut m.output;
        (r.from, r.to, r.workers) = (0, 10, 2);
        r.serial_ns = Summary::of(&[900.0, 1000.0, 1100.0]).unwrap();
        r.parallel_ns = Summary::of(&[400.0, 500.0, 800.0]).unwrap();
        (r.overhead_per_task_ns, r.speedup) = (0.0, 2.0);
        let overhead = m.overhead_per_task_ns();
        assert_eq!((overhead.min, overhead.max, overhead.n), (-10.0, 30.0, 3));
        let speedup = m.speedup();
        assert_eq!((speedup.min, speedup.median, speedup.max), (1.25, 2.0, 2.5));
    }

    #[test]
    fn every_committed_run_lies_within_its_spread() {
        let data = Data::load().unwrap();
        for runs in &data.queues {
            for m in runs.runs() {
                for s in [m.overhead_per_task_ns(), m.speedup()] {
                    assert!(s.min <= s.median && s.median <= s.max, "{}", m.file);
                }
            }
            let s = runs.startup_ns();
            assert!(s.n == 4 && s.min <= s.median && s.median <= s.max);
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
        let e = early.unchecked_ns().unwrap_err();
        assert!(e.to_string().contains("05-early.json"), "{e}");
    }
}
