//! The list of measured files: every file a program's run writes under
//! `book/src/measured/`, with the command that writes it.
//!
//! A `.txt` file holds what a student sees, under a stamp line and the command
//! itself; a `.json` file wraps the program's `--json` document with the same
//! stamp (see [`super::Measured`]). `cargo xtask measure` runs these; the book
//! checks look for exactly these files, and for nothing else.

use work_queue::Design;

/// One command whose output the book shows.
#[derive(Debug)]
pub struct Measurement {
    /// File name under `book/src/measured/`; `.json` runs with `--json`.
    pub file: &'static str,
    /// The binary, as `cargo run --bin` names it.
    pub bin: &'static str,
    /// Its arguments.
    pub args: &'static [&'static str],
    /// Worker to kill with SIGKILL once the run is under way, to show a fault.
    /// The file then holds what the program said on stderr, and its exit code.
    pub kill_worker: Option<usize>,
    /// The exit code the run is meant to end with: a demonstration of a
    /// fault exits non-zero, and the file then ends by saying so.
    pub exit: i32,
}

impl Measurement {
    const fn of(
        file: &'static str,
        bin: &'static str,
        args: &'static [&'static str],
    ) -> Self {
        Measurement {
            file,
            bin,
            args,
            kill_worker: None,
            exit: 0,
        }
    }

    const fn exiting(self, exit: i32) -> Self {
        Measurement { exit, ..self }
    }

    const fn killing(self, worker: usize) -> Self {
        Measurement {
            kill_worker: Some(worker),
            ..self
        }
    }

    /// The command as a student types it.
    pub fn command(&self) -> String {
        let mut c = format!("cargo run --bin {}", self.bin);
        if !self.args.is_empty() || self.file.ends_with(".json") {
            c.push_str(" --");
        }
        for a in self.args {
            c.push(' ');
            c.push_str(a);
        }
        if self.file.ends_with(".json") {
            c.push_str(" --json");
        }
        c
    }
}

/// Chapter 1's program with its queue in the design `$design`, sweeping task
/// cost: `01-sweep-$design.json`.
macro_rules! sweep {
    ($design:literal) => {
        Measurement::of(
            concat!("01-sweep-", $design, ".json"),
            "01-work-queue",
            &["--queue", $design, "--sweep", "--repeats", "21"],
        )
    };
}

/// Tiny tasks, `$batch` per message: the 20,000 numbers from 10^4 that
/// Python's queue checks (`queue.tiny` in [`PYTHON`]), `01-tiny-$design-$batch.json`.
macro_rules! tiny {
    ($design:literal, $batch:literal) => {
        Measurement::of(
            concat!("01-tiny-", $design, "-", $batch, ".json"),
            "01-work-queue",
            &[
                "--queue",
                $design,
                "--from",
                "10000",
                "--to",
                "30000",
                "--batch",
                $batch,
                "--repeats",
                "11",
            ],
        )
    };
}

/// Heavy tasks, `$batch` per message: near 10^12 a prime takes half a
/// million divisions. `01-heavy-$design-$batch.json`.
macro_rules! heavy {
    ($design:literal, $batch:literal) => {
        Measurement::of(
            concat!("01-heavy-", $design, "-", $batch, ".json"),
            "01-work-queue",
            &[
                "--queue",
                $design,
                "--from",
                "1000000000000",
                "--to",
                "1000000010000",
                "--batch",
                $batch,
                "--repeats",
                "11",
            ],
        )
    };
}

/// The name of one of chapter 1's measured documents: `kind` is `sweep`
/// (no `batch`), `tiny` or `heavy`, as the macros above name them.
pub fn queue_file(kind: &str, design: Design, batch: Option<u32>) -> String {
    match batch {
        Some(b) => format!("01-{kind}-{}-{b}.json", design.name()),
        None => format!("01-{kind}-{}.json", design.name()),
    }
}

/// The prime case, where the flag's cost is a few percent at most: 21
/// searches each way, because single searches on a shared machine vary by as
/// much, and 21 against 21 still shows a difference at 99% when a few of
/// them are outliers (`workers::stats::Summary::compare`).
const PRIME: &[&str] = &["--case", "prime", "--repeats", "21"];
const COUNT_RAW: &[&str] = &[
    "--case",
    "early",
    "--repeats",
    "1",
    "--trials",
    "5",
    "--count",
    "1000000",
];
/// A worker killed mid-run, in each design: heavy numbers, so that the run
/// is still under way when the kill comes, 4 per message.
macro_rules! killed {
    ($file:literal, $design:literal) => {
        Measurement::of(
            $file,
            "01-work-queue",
            &[
                "--queue",
                $design,
                "--from",
                "1000000000000",
                "--to",
                "1000000010000",
                "--batch",
                "4",
            ],
        )
        .killing(1)
    };
}

/// The text's order (join, then read) with more results than a channel holds.
const DEADLOCK: &[&str] = &["--join-first", "--from", "1000000", "--to", "1100000"];

/// Chapter 6's sweep of the check interval on the prime case, where every
/// look is overhead. The two dearest settings (each search seconds long, the
/// overhead tens of times the search) are searched five times, the fewest
/// from which 99% confidence can be had, and then only if every search with
/// the flag is slower than every one without; the cheaper ones, whose
/// overhead is a few percent, 21 times, like [`PRIME`].
const POLL_K1000: &[&str] = &[
    "--case",
    "prime",
    "--check-every",
    "1000",
    "--repeats",
    "5",
    "--trials",
    "20",
];
const POLL_K10000: &[&str] = &[
    "--case",
    "prime",
    "--check-every",
    "10000",
    "--repeats",
    "5",
    "--trials",
    "20",
];
const POLL_K100000: &[&str] = &[
    "--case",
    "prime",
    "--check-every",
    "100000",
    "--repeats",
    "21",
    "--trials",
    "20",
];
const POLL_K1000000: &[&str] = &[
    "--case",
    "prime",
    "--check-every",
    "1000000",
    "--repeats",
    "21",
    "--trials",
    "20",
];
const PUSH_K1000: &[&str] = &[
    "--case",
    "prime",
    "--push",
    "--check-every",
    "1000",
    "--repeats",
    "11",
    "--trials",
    "20",
];

/// Chapter 7's prime case at its own interval: its searches with the flag
/// vary more than the others' (the supervisor thread shares the cores), and
/// the overhead is near the smallest a verdict claims, so 41 of each.
const MESSAGE: &[&str] = &["--case", "prime", "--repeats", "41"];
/// Chapter 7's stop at chapters 4 and 5's interval: a look every 1000
/// candidates, where a look at shared memory costs nothing.
const MESSAGE_K1000: &[&str] = &[
    "--case",
    "prime",
    "--check-every",
    "1000",
    "--repeats",
    "11",
];
/// What sets stop latency: the mmap flag's latency trials alone (one
/// search, the early case, then 100 raises of the flag), at a look every
/// `$k` candidates with one worker per core. `05-latency-k$k.json`.
macro_rules! latency_every {
    ($k:literal) => {
        Measurement::of(
            concat!("05-latency-k", $k, ".json"),
            "05-mmap-flag",
            &[
                "--case",
                "early",
                "--repeats",
                "1",
                "--trials",
                "100",
                "--check-every",
                $k,
            ],
        )
    };
}

/// The same at the default interval with `$w` workers, however many cores
/// there are: `05-latency-w$w.json`.
macro_rules! latency_workers {
    ($w:literal) => {
        Measurement::of(
            concat!("05-latency-w", $w, ".json"),
            "05-mmap-flag",
            &[
                "--case",
                "early",
                "--repeats",
                "1",
                "--trials",
                "100",
                "--workers",
                $w,
            ],
        )
    };
}

/// The check intervals and worker counts of the stop-latency runs, as the
/// files are named.
pub const LATENCY_INTERVALS: [u64; 4] = [10, 1000, 100_000, 10_000_000];
pub const LATENCY_WORKERS: [usize; 4] = [1, 2, 4, 8];

/// One worker sleeping 5 ms per number, on numbers that take the others tens
/// of microseconds: both take tasks, in very different numbers.
const SLOW: &[&str] = &[
    "--slow-worker",
    "1",
    "--from",
    "1000000000000",
    "--to",
    "1000000002000",
    "--repeats",
    "1",
];

/// The fraud scan at each chapter's own interval, with no fraud planted (as
/// for the prime, every look is overhead): `fraud-NN-name.json` beside
/// `NN-prime.json`. A scan takes milliseconds, where a short sleep of a
/// worker weighs heavily, so it is timed 31 times, which costs a second.
const FRAUD: &[&str] =
    &["--workload", "fraud", "--case", "prime", "--repeats", "31"];

/// What a student sees of the fraud scan: a pair planted early.
const FRAUD_EARLY: &[&str] = &["--workload", "fraud", "--case", "early"];

/// Every measurement, in the order they run.
pub const MEASUREMENTS: &[Measurement] = &[
    Measurement::of("01-default.txt", "01-work-queue", &[]),
    Measurement::of("01-slow-worker.txt", "01-work-queue", SLOW),
    killed!("01-killed-worker.txt", "broker"),
    killed!("01-killed-worker-pipe.txt", "pipe"),
    killed!("01-killed-worker-shm.txt", "shm"),
    // Each design beside Python's queue: the same tiny and heavy numbers,
    // one and 64 per message, and a sweep of task cost (see `queue_file`).
    sweep!("broker"),
    tiny!("broker", "1"),
    tiny!("broker", "64"),
    heavy!("broker", "1"),
    heavy!("broker", "64"),
    sweep!("pipe"),
    tiny!("pipe", "1"),
    tiny!("pipe", "64"),
    heavy!("pipe", "1"),
    heavy!("pipe", "64"),
    sweep!("shm"),
    tiny!("shm", "1"),
    tiny!("shm", "64"),
    heavy!("shm", "1"),
    heavy!("shm", "64"),
    Measurement::of("02-default.txt", "02-poison-pill", &[]),
    Measurement::of("02-pills.txt", "02-poison-pill", &["--pills", "1"]).exiting(1),
    Measurement::of("02-crash.txt", "02-poison-pill", &["--crash-worker", "1"])
        .exiting(1),
    Measurement::of("02-join-first.txt", "02-poison-pill", &["--join-first"]),
    Measurement::of("02-deadlock.txt", "02-poison-pill", DEADLOCK).exiting(1),
    Measurement::of("02-pipeline.txt", "02-poison-pill", &["--pipeline"]),
    Measurement::of("02-compare.json", "02-poison-pill", &["--compare"]),
    Measurement::of("03-default.txt", "03-manager-flag", &[]),
    Measurement::of(
        "03-prime.json",
        "03-manager-flag",
        &["--case", "prime", "--count", "2000", "--repeats", "21"],
    ),
    Measurement::of(
        "03-prime-k1000.json",
        "03-manager-flag",
        &[
            "--case",
            "prime",
            "--check-every",
            "1000",
            "--repeats",
            "5",
            "--trials",
            "10",
        ],
    ),
    Measurement::of("04-default.txt", "04-rawvalue-flag", &[]),
    Measurement::of("04-count.txt", "04-rawvalue-flag", COUNT_RAW),
    Measurement::of("04-count.json", "04-rawvalue-flag", COUNT_RAW),
    Measurement::of("04-prime.json", "04-rawvalue-flag", PRIME),
    Measurement::of("05-default.txt", "05-mmap-flag", &[]),
    Measurement::of("05-prime.txt", "05-mmap-flag", PRIME),
    Measurement::of("05-prime.json", "05-mmap-flag", PRIME),
    Measurement::of("05-early.json", "05-mmap-flag", &["--case", "early"]),
    latency_every!("10"),
    latency_every!("1000"),
    latency_every!("100000"),
    latency_every!("10000000"),
    latency_workers!("1"),
    latency_workers!("2"),
    latency_workers!("4"),
    latency_workers!("8"),
    Measurement::of("06-default.txt", "06-redis-flag", &[]),
    Measurement::of("06-poll-k1000.json", "06-redis-flag", POLL_K1000),
    Measurement::of("06-poll-k10000.json", "06-redis-flag", POLL_K10000),
    Measurement::of("06-poll-k100000.json", "06-redis-flag", POLL_K100000),
    Measurement::of("06-poll-k1000000.json", "06-redis-flag", POLL_K1000000),
    Measurement::of("06-push-k1000.json", "06-redis-flag", PUSH_K1000),
    Measurement::of("fraud-03-manager.json", "03-manager-flag", FRAUD),
    Measurement::of("fraud-04-rawvalue.json", "04-rawvalue-flag", FRAUD),
    Measurement::of("fraud-05-mmap.json", "05-mmap-flag", FRAUD),
    Measurement::of("fraud-05-early.txt", "05-mmap-flag", FRAUD_EARLY),
    Measurement::of("fraud-06-redis.json", "06-redis-flag", FRAUD),
    Measurement::of("fraud-07-message.json", "07-message-stop", FRAUD),
    Measurement::of(
        "06-distributed.txt",
        "06-redis-flag",
        &["coordinate", "--local-workers", "2", "--run-id", "demo"],
    ),
    Measurement::of("07-default.txt", "07-message-stop", &[]),
    Measurement::of("07-prime.txt", "07-message-stop", MESSAGE),
    Measurement::of("07-prime.json", "07-message-stop", MESSAGE),
    Measurement::of("07-prime-k1000.json", "07-message-stop", MESSAGE_K1000),
];

/// The program whose flag lives in Redis: `measure` starts a server of its
/// own for it and hands over the URL in `REDIS_URL`, so the commands shown
/// are the ones a student types against their own server.
pub const REDIS_BIN: &str = "06-redis-flag";

/// The same measurements in Python, for the side-by-side tables: the file
/// (a [`super::SideBySide`] document) and the command that prints it.
pub const PYTHON: &str = "py-side-by-side.json";
pub const PYTHON_CMD: &[&str] = &["python/side_by_side.py", "--json"];

/// The floor for chapter 6: Redis's own benchmark, one client, GET only. The
/// file (a [`super::RedisBenchmark`] document, which `measure` makes from
/// the benchmark's CSV) and the benchmark's arguments.
pub const REDIS_FLOOR: &str = "06-redis-benchmark.json";
pub const REDIS_FLOOR_ARGS: &[&str] =
    &["-c", "1", "-n", "20000", "-t", "get", "--csv"];
