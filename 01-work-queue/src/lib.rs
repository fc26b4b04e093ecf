//! The documents `01-work-queue --json` prints, as types, and the
//! shared-memory ring (`ring`), which the model-checked test needs to reach.
//!
//! The program (`main.rs`, `sweep.rs`) fills the types in and prints them;
//! `cargo xtask` reads them back from `book/src/measured/` to make the book's
//! tables and charts. One definition serves both sides, so a field renamed
//! here fails to compile or to load there, instead of turning into a blank
//! cell in the book. The lesson itself is in `main.rs`.
//!
//! Times are nanoseconds of wall time, as a [`Summary`] over the rounds
//! timed (`--repeats`) where several were.

pub mod ring;

use serde::{Deserialize, Serialize};
use workers::report::Machine;
use workers::stats::Summary;

/// Where the queue lives: the three designs chapter 1 compares.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Design {
    /// In the parent process: it hands each worker its next task over that
    /// worker's own ipc-channel.
    Broker,
    /// In the kernel: one pipe of tasks that every worker reads, one of
    /// results that every worker writes (`multiprocessing.Queue`'s design).
    Pipe,
    /// In shared memory: a ring of tasks every worker takes from, a ring of
    /// results every worker puts to, and a futex to sleep on when empty.
    Shm,
}

impl Design {
    /// Every design, in the order the chapter presents them.
    pub const ALL: [Design; 3] = [Design::Broker, Design::Pipe, Design::Shm];

    /// The name `--queue` takes.
    pub fn name(self) -> &'static str {
        match self {
            Design::Broker => "broker",
            Design::Pipe => "pipe",
            Design::Shm => "shm",
        }
    }
}

/// Everything a plain run measured, as `--json` prints it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// The machine the run was measured on.
    pub machine: Machine,
    /// Where the queue lived.
    pub queue: Design,
    /// Worker processes started.
    pub workers: usize,
    /// Numbers per message.
    pub batch: u32,
    /// The first number checked.
    pub from: u64,
    /// The end of the range checked (exclusive).
    pub to: u64,
    /// Primes found (each round finds them all; this is the first round's count).
    pub primes: u64,
    /// Their sum, modulo 2^64: with the count, a check that no result was
    /// lost or counted twice.
    pub prime_sum: u64,
    /// Numbers checked by each worker in the first round, by worker index.
    pub tasks_per_worker: Vec<u64>,
    /// Every number's result counted exactly once in every round, and the
    /// primes' count and sum equal a serial run's.
    pub exactly_once: bool,
    /// Tasks answered a second time after a worker was lost (the pipe cannot
    /// tell who had taken what, so it sends again everything taken and not
    /// finished), summed over the rounds; the second answer is not counted.
    pub rechecked: u64,
    /// Nanoseconds to start the worker processes, once.
    pub startup_ns: u64,
    /// Nanoseconds to check every number in one process, no queue.
    pub serial_ns: Summary,
    /// Nanoseconds to check every number through the queue.
    pub parallel_ns: Summary,
    /// Nanoseconds of wall time each task added beyond its share of the
    /// serial work (medians): the queue's cost per task.
    pub overhead_per_task_ns: f64,
    /// Serial time over parallel time (medians); above 1 the queue paid off.
    pub speedup: f64,
    /// Workers that died, and what became of their tasks, one line each.
    pub deaths: Vec<String>,
}

/// What `--sweep --json` prints: queue cost against task cost.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SweepReport {
    /// The machine the sweep was measured on.
    pub machine: Machine,
    /// Where the queue lived.
    pub queue: Design,
    /// Worker processes started.
    pub workers: usize,
    /// One row per size of number, smallest (cheapest task) first.
    pub rows: Vec<Row>,
    /// Nanoseconds per task of the first row where parallel beat serial, one
    /// number per message; none if it never did.
    pub crossover_unbatched_ns: Option<f64>,
    /// The same with batching.
    pub crossover_batched_ns: Option<f64>,
}

/// The sweep's measurements for numbers of one size.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Row {
    /// The numbers checked start here (a power of 10).
    pub from: u64,
    /// How many numbers were checked.
    pub tasks: u64,
    /// Nanoseconds per number, serially (median): the task cost.
    pub task_ns: f64,
    /// Nanoseconds to check them all in one process.
    pub serial_ns: Summary,
    /// One number per message.
    pub unbatched: Leg,
    /// Many numbers per message.
    pub batched: Leg,
}

/// One way of sending the sweep's tasks, measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Leg {
    /// Numbers per message.
    pub batch: u32,
    /// Nanoseconds of wall time for a whole round.
    pub wall_ns: Summary,
    /// Nanoseconds of wall time each task added beyond its share of the
    /// serial work (medians): the queue's cost per task (sending, receiving,
    /// waking up, serializing).
    pub overhead_per_task_ns: f64,
    /// Serial time over parallel time (medians); above 1 the queue paid off.
    pub speedup: f64,
}
