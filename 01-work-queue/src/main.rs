//! Chapter 1: a work queue between processes, and what it costs.
//!
//! Run it: `cargo run --bin 01-work-queue` (or `cargo run -p work-queue`).
//! Choose where the queue lives with `--queue broker|pipe|shm`; sweep task
//! cost to find where parallel starts to pay with `--sweep`.
//!
//! Whatever the queue, the run is the same: the parent cuts the range into
//! tasks as they are needed and keeps its books (`ledger.rs`: what is out,
//! what came back); workers take the next task whenever they are free, so the
//! load balances itself; after the last task every worker gets a stop message
//! (the "poison pill"), and the parent reads every result before it reaps the
//! workers. What differs is the road a task travels:
//! - `broker.rs`: the parent holds the queue and sends each worker its next
//!   task over that worker's own channel;
//! - `pipe.rs`: one pipe in the kernel, read by every worker;
//! - `shm.rs`: one ring in shared memory, taken from by every worker.

mod broker;
mod ledger;
mod pipe;
mod shared;
mod shm;
mod sweep;
mod task;

use anyhow::bail;
use clap::{CommandFactory, Parser, Subcommand, error::ErrorKind};
use std::ops::Range;
use std::os::fd::RawFd;
use std::process::ExitCode;
use std::time::Duration;
use workers::pool::{Liveness, Pool, WorkerArgs};
use workers::prime::is_prime;
use workers::report::{Machine, Table, human_ns, print_json, spread};
use workers::stats::{Compared, Summary};
use workers::{clock, interrupt};

// What `--json` prints is defined in lib.rs, where `cargo xtask` reads it too.
use work_queue::{Design, Report};

/// Worker processes pull numbers from a queue and report the primes among them.
#[derive(Debug, Parser)]
#[command(name = "01-work-queue", args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(flatten)]
    run: RunArgs,
    #[command(subcommand)]
    role: Option<Role>,
}

#[derive(Debug, Clone, clap::Args)]
struct RunArgs {
    /// Where the queue lives: in the parent, in the kernel, in shared memory
    #[arg(long, value_enum, default_value_t = Design::Pipe)]
    queue: Design,
    /// Worker processes to start [default: the number of cores]
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    workers: Option<u16>,
    /// First number to check
    #[arg(long, default_value_t = 100_000)]
    from: u64,
    /// End of the range (exclusive)
    #[arg(long, default_value_t = 100_200)]
    to: u64,
    /// Numbers per message: 1 is the text's queue, more amortizes the cost
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=65_536))]
    batch: u32,
    /// Rounds to time (the same tasks each round, through the same workers)
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    repeats: u32,
    /// Make this worker sleep 5 ms per number, to watch the queue balance load
    #[arg(long, value_name = "INDEX")]
    slow_worker: Option<usize>,
    /// Sweep task cost from trivial to heavy: where does parallel start to pay?
    #[arg(long)]
    sweep: bool,
    /// Print one JSON document instead of the text report
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    liveness: Liveness,
}

#[derive(Debug, Subcommand)]
enum Role {
    /// Internal: run as a worker process (started by the parent).
    #[command(hide = true)]
    Worker {
        #[command(flatten)]
        link: WorkerArgs,
        /// The queue this worker takes tasks from
        #[arg(long, value_enum)]
        queue: Design,
        /// Sleep this long per number, in microseconds
        #[arg(long, default_value_t = 0)]
        delay_us: u64,
        /// `pipe`: the inherited descriptor of the task pipe
        #[arg(long)]
        tasks_fd: Option<RawFd>,
        /// `pipe`: the inherited descriptor of the result pipe
        #[arg(long)]
        results_fd: Option<RawFd>,
        /// `shm`: the inherited descriptor of the shared memory
        #[arg(long)]
        memory_fd: Option<RawFd>,
    },
}

/// How long the slow worker sleeps per number: far above a queue round trip.
const SLOW_DELAY: Duration = Duration::from_millis(5);

/// A queue and its workers, whichever the design.
trait Queue: std::fmt::Debug {
    /// Sends every number of `numbers` through the workers, `batch` per
    /// task, and collects every result.
    fn round(&mut self, numbers: Range<u64>, batch: u32) -> anyhow::Result<Round>;
    /// The poison pill: stops every worker, reads every last word, reaps.
    fn shut_down(self: Box<Self>) -> anyhow::Result<()>;
}

/// What one pass of every task through the queue produced.
#[derive(Debug, Clone)]
struct Round {
    /// Wall time from the first task sent to the last result received.
    wall_ns: u64,
    /// What the results add up to, each task counted once.
    tally: ledger::Tally,
    /// Workers lost during the round, with what happened to their work.
    deaths: Vec<String>,
}

impl Round {
    fn new(wall_ns: u64, tally: ledger::Tally, deaths: Vec<String>) -> Round {
        Round {
            wall_ns,
            tally,
            deaths,
        }
    }
}

// ANCHOR: start
/// Starts `workers` processes around a queue of the given design; `slow`
/// (if any) sleeps per number. Also returns how long starting took.
fn start(
    design: Design,
    workers: usize,
    slow: Option<usize>,
    liveness: Liveness,
) -> anyhow::Result<(Box<dyn Queue>, u64)> {
    let t = clock::now_ns();
    let queue: Box<dyn Queue> = match design {
        Design::Broker => Box::new(broker::Broker::start(workers, slow, liveness)?),
        Design::Pipe => Box::new(pipe::Pipes::start(workers, slow, liveness)?),
        Design::Shm => Box::new(shm::Memory::start(workers, slow, liveness)?),
    };
    Ok((queue, clock::now_ns() - t))
}
// ANCHOR_END: start

/// Says what became of a lost worker's work (`requeued`: what went back on
/// the queue), or, with no worker left, that it was never checked at all (an
/// error: the run cannot finish).
fn bury(
    how: String,
    requeued: &str,
    alive: &[bool],
    ledger: &ledger::Ledger,
) -> anyhow::Result<String> {
    if !alive.contains(&true) {
        bail!(
            "{how}, and no worker is left: {} numbers were never checked",
            ledger.unchecked()
        );
    }
    Ok(format!("{how}; {requeued}"))
}

/// What a pool's messages must be (ipc-channel carries them).
trait Wire: serde::Serialize + serde::de::DeserializeOwned + Send + 'static {}
impl<T: serde::Serialize + serde::de::DeserializeOwned + Send + 'static> Wire for T {}

/// Reaps worker `w`, whose channel closed, and says who died and how.
fn died<D: Wire, M: Wire>(
    pool: &mut Pool<D, M>,
    w: usize,
) -> anyhow::Result<String> {
    let pid = pool.pid(w);
    let how = pool.reap(w, Duration::from_secs(2))?;
    Ok(format!("worker {w} (pid {pid}) {how} mid-run"))
}

/// Reaps the workers `live` after their pill, and checks each ended cleanly.
fn reap_all<D: Wire, M: Wire>(
    pool: &mut Pool<D, M>,
    live: &[usize],
) -> anyhow::Result<()> {
    for &w in live {
        let pid = pool.pid(w);
        let exit = pool.reap(w, Duration::from_secs(2))?;
        if !exit.is_clean() {
            bail!(
                "worker {w} (pid {pid}) {exit} while the workers were being stopped"
            );
        }
    }
    Ok(())
}

/// The serial baseline: the same check, in this process, no queue. Returns
/// the primes' count and sum, and the time taken.
fn serial(numbers: Range<u64>) -> (u64, u64, u64) {
    let t = clock::now_ns();
    let (mut count, mut sum) = (0u64, 0u64);
    for n in numbers {
        if is_prime(n) {
            count += 1;
            sum = sum.wrapping_add(n);
        }
    }
    (count, sum, clock::now_ns() - t)
}

fn run(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let workers = workers::worker_count(args.workers);
    let numbers = args.from..args.to;
    let (mut queue, startup_ns) =
        start(args.queue, workers, args.slow_worker, args.liveness)?;
    let mut rounds = Vec::new();
    for _ in 0..args.repeats {
        rounds.push(queue.round(numbers.clone(), args.batch)?);
    }
    // Every result is in: a fault while stopping the workers is reported
    // after the results, not instead of them.
    let stopped = queue.shut_down();

    let mut serial_ns = Vec::new();
    let mut expected = (0, 0);
    for _ in 0..args.repeats {
        let (count, sum, ns) = serial(numbers.clone());
        expected = (count, sum);
        serial_ns.push(ns as f64);
    }
    let serial_ns = Summary::of(&serial_ns).expect("at least one repeat");
    let parallel_ns: Vec<f64> = rounds.iter().map(|r| r.wall_ns as f64).collect();
    let parallel_ns = Summary::of(&parallel_ns).expect("at least one repeat");
    let width = numbers.end - numbers.start;
    let exactly_once = rounds.iter().all(|r| {
        (r.tally.primes, r.tally.sum) == expected
            && r.tally.tasks.iter().sum::<u64>() == width
    });
    let first = &rounds[0].tally;
    let report = Report {
        machine: Machine::here(),
        queue: args.queue,
        workers,
        batch: args.batch,
        from: args.from,
        to: args.to,
        primes: first.primes,
        prime_sum: first.sum,
        tasks_per_worker: first.tasks.clone(),
        exactly_once,
        rechecked: rounds.iter().map(|r| r.tally.rechecked).sum(),
        startup_ns,
        overhead_per_task_ns: (parallel_ns.median
            - serial_ns.median / workers as f64)
            / width as f64,
        speedup: serial_ns.median / parallel_ns.median,
        serial_ns,
        parallel_ns,
        deaths: rounds.iter().flat_map(|r| r.deaths.clone()).collect(),
    };
    if args.json {
        print_json(&report)?;
    } else {
        print_run(&report, args, first);
    }
    if !exactly_once {
        eprintln!(
            "error: the queue lost or repeated a task; this is a bug, please report it"
        );
        return Ok(ExitCode::FAILURE);
    }
    // One line for the whole run: who was lost, and that the others did its
    // work (the report above shows it); then what went wrong at the end.
    let mut problems = Vec::new();
    if !report.deaths.is_empty() {
        let lost = report.deaths.join("; ");
        problems.push(format!("{lost}; every number was still checked once"));
    }
    if let Err(e) = stopped {
        problems.push(format!("{e:#}"));
    }
    if !problems.is_empty() {
        eprintln!("error: {}", problems.join("; then "));
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// How the report names each design.
fn described(design: Design) -> &'static str {
    match design {
        Design::Broker => "a broker (the parent, one channel per worker)",
        Design::Pipe => "a pipe every worker reads",
        Design::Shm => "a ring in shared memory",
    }
}

fn print_run(r: &Report, args: &RunArgs, first: &ledger::Tally) {
    println!(
        "Checked {} numbers ({}..{}) with {} worker processes, {} per message, through {}.",
        r.to - r.from,
        r.from,
        r.to,
        r.workers,
        r.batch,
        described(r.queue)
    );
    println!("\n{} primes, summing to {}.", r.primes, r.prime_sum);
    println!("\nWho did the work (first round):");
    let mut t = Table::new(["worker", "numbers", "primes"]);
    for w in 0..r.workers {
        let name = match args.slow_worker {
            Some(s) if s == w => format!("{w} (slow)"),
            _ => w.to_string(),
        };
        t.row([name, first.tasks[w].to_string(), first.found[w].to_string()]);
    }
    print!("{t}");
    let verdict = if r.exactly_once { "yes" } else { "NO" };
    println!("Every number checked exactly once, same primes as serial: {verdict}");
    if r.rechecked > 0 {
        let tasks = plural(r.rechecked, "task was", "tasks were");
        println!(
            "({tasks} answered twice after a worker was lost; each was counted once.)"
        );
    }
    let rounds = plural(u64::from(args.repeats), "round", "rounds");
    println!("\nWall time, median of {rounds} (min to max):");
    let mut t = Table::new(["", "time"]);
    t.row(["serial, in one process".into(), spread(&r.serial_ns)]);
    t.row(["parallel, through the queue".into(), spread(&r.parallel_ns)]);
    t.row([
        "starting the workers (once)".into(),
        human_ns(r.startup_ns as f64),
    ]);
    print!("{t}");
    // A slow or lost worker costs time that is not the queue's: say so
    // rather than blame the queue, or the size of the tasks.
    let not_the_queue = if args.slow_worker.is_some() {
        Some("a worker was slowed on purpose (--slow-worker)")
    } else if !r.deaths.is_empty() {
        Some("a worker was lost and the others did its share")
    } else {
        None
    };
    let overhead = human_ns(r.overhead_per_task_ns);
    match not_the_queue {
        None => println!(
            "Each number cost {overhead} of queue overhead beyond its share of the work."
        ),
        Some(_) => println!(
            "Each number cost {overhead} beyond its share of the work, not all of it \
             the queue's:"
        ),
    }
    // Faster or slower only when the rounds show it beyond noise
    // (`Summary::compare`), not from one pair of medians.
    let rounds_say = r.parallel_ns.compare(&r.serial_ns);
    match (rounds_say, not_the_queue) {
        (Compared::Lower, _) => {
            println!("Parallel was {:.2}x faster than serial.", r.speedup)
        }
        (_, Some(why)) => {
            println!("Parallel was {:.2}x serial's speed: {why}.", r.speedup)
        }
        (Compared::WithinNoise, None) => println!(
            "Parallel was about as fast as serial ({:.2}x in the medians, \
             within noise).",
            r.speedup
        ),
        (Compared::TooFew, None) => println!(
            "Parallel was {:.2}x serial's speed in the medians; {} too few \
             for a verdict (--repeats 5 or more).",
            r.speedup,
            plural(r.parallel_ns.n as u64, "round is", "rounds are")
        ),
        (Compared::Higher, None) => {
            let advice = if r.batch < 64 {
                "Try --batch 64, or --sweep to see where parallel starts to pay."
            } else {
                "Try --sweep to see where parallel starts to pay."
            };
            println!(
                "Parallel was {:.1}x SLOWER than serial, beyond noise: the tasks \
                 are too small for the queue.\n{advice}",
                1.0 / r.speedup
            );
        }
    }
}

/// "1 round", "5 rounds".
fn plural(n: u64, one: &str, many: &str) -> String {
    match n {
        1 => format!("1 {one}"),
        n => format!("{n} {many}"),
    }
}

/// Checks what clap cannot: a non-empty range, a slow worker that exists.
fn validate(args: &RunArgs) {
    let fail =
        |msg: String| Cli::command().error(ErrorKind::ValueValidation, msg).exit();
    // Tasks are cut from the range as they are needed: any size will do.
    if let Some(problem) = workers::range_problem(args.from, args.to, u64::MAX) {
        fail(problem);
    }
    let workers = workers::worker_count(args.workers);
    if let Some(s) = args.slow_worker.filter(|&s| s >= workers) {
        fail(format!(
            "--slow-worker {s} names no worker: there are {workers} (0 to {})",
            workers - 1
        ));
    }
}

// ANCHOR: main
fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.role {
        Some(Role::Worker {
            link,
            queue,
            delay_us,
            tasks_fd,
            results_fd,
            memory_fd,
        }) => workers::run_worker(|| {
            let delay = Duration::from_micros(*delay_us);
            let missing =
                |what| anyhow::anyhow!("a {} worker needs --{what}", queue.name());
            match queue {
                Design::Broker => broker::worker(link, delay),
                Design::Pipe => pipe::worker(
                    link,
                    delay,
                    tasks_fd.ok_or_else(|| missing("tasks-fd"))?,
                    results_fd.ok_or_else(|| missing("results-fd"))?,
                ),
                Design::Shm => shm::worker(
                    link,
                    delay,
                    memory_fd.ok_or_else(|| missing("memory-fd"))?,
                ),
            }
        }),
        None => {
            validate(&cli.run);
            workers::parent_main(interrupt::install, || {
                if cli.run.sweep {
                    sweep::run(&cli.run)
                } else {
                    run(&cli.run)
                }
            })
        }
    }
}
// ANCHOR_END: main
