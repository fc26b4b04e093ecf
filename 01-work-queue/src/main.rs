//! Chapter 1: a work queue between processes, and what it costs.
//!
//! Run it: `cargo run --bin 01-work-queue` (or `cargo run -p work-queue`).
//! Sweep task cost to find where parallel starts to pay:
//! `cargo run --bin 01-work-queue -- --sweep`.
//!
//! The parent holds the queue. Each worker process has its own channel in and
//! out; whenever a worker reports a finished batch, the parent sends it the
//! next one. Fast workers come back sooner and so take more: the load balances
//! itself. After the last task every worker gets a stop message (the "poison
//! pill") and the parent collects every result before it reaps the workers.

mod sweep;

use anyhow::{Context, bail};
use clap::{CommandFactory, Parser, Subcommand, error::ErrorKind};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::process::ExitCode;
use std::time::Duration;
use workers::pool::{Heard, Liveness, Pool, WorkerArgs, WorkerEnd};
use workers::prime::is_prime;
use workers::report::{Machine, Table, human_ns, print_json, spread};
use workers::stats::Summary;
use workers::{clock, interrupt};

// What `--json` prints is defined in lib.rs, where `cargo xtask` reads it too.
use work_queue::Report;

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
        /// Sleep this long per number, in microseconds
        #[arg(long, default_value_t = 0)]
        delay_us: u64,
    },
}

/// How long the slow worker sleeps per number: far above a queue round trip.
const SLOW_DELAY: Duration = Duration::from_millis(5);
/// The most numbers one run may hold in memory as tasks.
const MAX_TASKS: u64 = 10_000_000;
/// Batches each worker holds at once: one in hand, one waiting, so a worker
/// never sits idle while its next batch crosses the channel.
const DEPTH: usize = 2;

// ANCHOR: messages
/// Parent to worker.
#[derive(Debug, Serialize, Deserialize)]
enum Job {
    /// Check these numbers.
    Check(Vec<u64>),
    /// The poison pill: nothing more will come. A typed variant, so no number
    /// (and no string) can ever be mistaken for it.
    Stop,
}

/// Worker to parent.
#[derive(Debug, Serialize, Deserialize)]
enum Reply {
    /// The primes among the last batch received, and how many numbers it held.
    Done { checked: u32, primes: Vec<u64> },
    /// The answer to `Stop`: this worker has finished and will exit.
    Finished,
}
// ANCHOR_END: messages

// ANCHOR: worker
/// A worker: take a batch, check it, report, until the pill arrives.
fn worker(link: &WorkerArgs, delay: Duration) -> anyhow::Result<()> {
    let end = WorkerEnd::<Reply, Job>::connect(link)?;
    loop {
        // `recv` fails only when the parent is gone: then there is no one to
        // report to, and the worker simply ends.
        let Ok(job) = end.down.recv() else {
            return Ok(());
        };
        match job {
            Job::Check(numbers) => {
                let mut primes = Vec::new();
                for n in &numbers {
                    std::thread::sleep(delay);
                    if is_prime(*n) {
                        primes.push(*n);
                    }
                }
                let checked = numbers.len() as u32;
                end.up.send(Reply::Done { checked, primes })?;
            }
            Job::Stop => {
                end.up.send(Reply::Finished)?;
                return Ok(());
            }
        }
    }
}
// ANCHOR_END: worker

/// What one pass of every task through the queue produced.
#[derive(Debug, Clone, Default, Serialize)]
struct Round {
    /// Wall time from the first batch sent to the last result received.
    wall_ns: u64,
    /// Numbers each worker checked.
    tasks: Vec<u64>,
    /// Primes each worker found.
    found: Vec<u64>,
    /// Every prime, in the order results arrived.
    primes: Vec<u64>,
    /// Workers that died during the round, with what happened to their work.
    deaths: Vec<String>,
}

/// The parent's side of the queue: it holds the pending batches and brokers
/// them to the workers, one channel each.
struct Broker {
    /// The worker processes, and the parent's ends of their channels.
    pool: Pool<Job, Reply>,
    /// Who is still alive, as far as the parent knows.
    alive: Vec<bool>,
}

impl Broker {
    // ANCHOR: broker
    /// Sends every batch through the workers and collects every result.
    ///
    /// `pending` is the queue. Each worker holds at most `DEPTH` batches; each
    /// result it returns frees a place, which the next pending batch fills. A
    /// worker that dies gives its unfinished batches back to the queue.
    fn round(&mut self, batches: &[Vec<u64>]) -> anyhow::Result<Round> {
        let n = self.pool.len();
        let mut pending: VecDeque<Vec<u64>> = batches.iter().cloned().collect();
        let mut held: Vec<VecDeque<Vec<u64>>> = vec![VecDeque::new(); n];
        let mut round = Round {
            tasks: vec![0; n],
            found: vec![0; n],
            ..Round::default()
        };
        let start = clock::now_ns();
        self.top_up_all(&mut pending, &mut held);
        let mut outstanding = batches.len();
        while outstanding > 0 {
            // A worker that dies closes its channel, and the pool reports
            // that at once; one that is alive but silent past --silence-ms is
            // reported too, and killed: either way its batches go back.
            for heard in self.pool.wait(Duration::from_millis(100))? {
                match heard {
                    Heard::Message(w, Reply::Done { checked, primes }) => {
                        let batch = held[w].pop_front();
                        if batch.map(|b| b.len()) != Some(checked as usize) {
                            bail!("worker {w} reported a batch it was never given");
                        }
                        round.tasks[w] += u64::from(checked);
                        round.found[w] += primes.len() as u64;
                        round.primes.extend(primes);
                        outstanding -= 1;
                        self.top_up(w, &mut pending, &mut held[w]);
                    }
                    Heard::Message(w, Reply::Finished) => {
                        bail!("worker {w} finished before it was told to stop")
                    }
                    // Dead, or alive but silent (killed now): either way its
                    // batches go back on the queue.
                    Heard::Gone(w) | Heard::Silent(w, _) => {
                        let how = match heard {
                            Heard::Silent(_, quiet) => {
                                self.pool.kill_silent(w, quiet)?
                            }
                            _ => self.died(w)?,
                        };
                        let lost: Vec<u64> = held[w].drain(..).flatten().collect();
                        let queued = pending.iter().map(Vec::len).sum();
                        round.deaths.push(self.bury(w, how, lost.len(), queued)?);
                        if !lost.is_empty() {
                            pending.push_front(lost);
                        }
                        self.top_up_all(&mut pending, &mut held);
                        outstanding = pending.len()
                            + held.iter().map(|h| h.len()).sum::<usize>();
                    }
                }
            }
        }
        round.wall_ns = clock::now_ns() - start;
        Ok(round)
    }

    /// Fills worker `w`'s places from the queue, if it is alive.
    fn top_up(
        &mut self,
        w: usize,
        pending: &mut VecDeque<Vec<u64>>,
        held: &mut VecDeque<Vec<u64>>,
    ) {
        while self.alive[w] && held.len() < DEPTH {
            let Some(batch) = pending.pop_front() else {
                break;
            };
            if self.pool.send(w, Job::Check(batch.clone())).is_err() {
                // The worker died before the inbox said so. The batch goes
                // back; the worker is killed for certain, so its channel's
                // closing arrives and burying it returns what it still held.
                pending.push_front(batch);
                self.alive[w] = false;
                self.pool.kill(w);
                break;
            }
            held.push_back(batch);
        }
    }

    /// Fills every live worker's places from the queue.
    fn top_up_all(
        &mut self,
        pending: &mut VecDeque<Vec<u64>>,
        held: &mut [VecDeque<Vec<u64>>],
    ) {
        for (w, h) in held.iter_mut().enumerate() {
            self.top_up(w, pending, h);
        }
    }
    // ANCHOR_END: broker

    /// Reaps worker `w`, whose channel closed, and says who died and how.
    fn died(&mut self, w: usize) -> anyhow::Result<String> {
        let pid = self.pool.pid(w);
        let how = self.pool.reap(w, Duration::from_secs(2))?;
        Ok(format!("worker {w} (pid {pid}) {how} mid-run"))
    }

    /// Marks worker `w` lost (`what` says how) and says what became of its
    /// work: back on the queue, or, with no worker left, never checked at all.
    fn bury(
        &mut self,
        w: usize,
        what: String,
        lost: usize,
        queued: usize,
    ) -> anyhow::Result<String> {
        self.alive[w] = false;
        if !self.alive.contains(&true) {
            bail!(
                "{what}, and no worker is left: {} numbers were never checked",
                lost + queued
            );
        }
        Ok(format!(
            "{what}; its {lost} unfinished numbers went back on the queue"
        ))
    }

    // ANCHOR: shutdown
    /// One pill per live worker, queued behind any work; then wait for each
    /// acknowledgement before reaping, so no result is left unread.
    fn shut_down(mut self) -> anyhow::Result<()> {
        let live: Vec<usize> =
            (0..self.pool.len()).filter(|&w| self.alive[w]).collect();
        for &w in &live {
            self.pool.send(w, Job::Stop).with_context(|| {
                format!("worker {w} died before it could be told to stop")
            })?;
        }
        let mut waiting = live.len();
        let deadline = clock::now_ns() + 5_000_000_000;
        while waiting > 0 {
            if clock::now_ns() > deadline {
                bail!(
                    "{waiting} workers did not acknowledge the stop message in 5 s"
                );
            }
            for heard in self.pool.wait(Duration::from_millis(100))? {
                match heard {
                    Heard::Message(_, Reply::Finished) => waiting -= 1,
                    Heard::Message(w, Reply::Done { .. }) => {
                        bail!("worker {w} sent a result after the queue was empty")
                    }
                    // The channel closes right after `Finished`; that is fine.
                    Heard::Gone(_) => {}
                    Heard::Silent(w, quiet) => {
                        let what = self.pool.kill_silent(w, quiet)?;
                        bail!("{what} before it answered its pill")
                    }
                }
            }
        }
        for w in live {
            let exit = self.pool.reap(w, Duration::from_secs(2))?;
            if !exit.is_clean() {
                bail!("worker {w} {exit} after acknowledging the stop");
            }
        }
        Ok(())
    }
    // ANCHOR_END: shutdown
}

/// Starts `workers` processes; `slow` (if any) sleeps per number.
fn start(
    workers: usize,
    slow: Option<usize>,
    liveness: Liveness,
) -> anyhow::Result<(Broker, u64)> {
    let t = clock::now_ns();
    let pool = Pool::spawn(workers, liveness, |i| {
        let us = if Some(i) == slow {
            SLOW_DELAY.as_micros()
        } else {
            0
        };
        vec!["--delay-us".into(), us.to_string()]
    })?;
    let alive = vec![true; workers];
    Ok((Broker { pool, alive }, clock::now_ns() - t))
}

/// Splits `numbers` into messages of `batch` numbers.
fn batches(numbers: &[u64], batch: u32) -> Vec<Vec<u64>> {
    numbers
        .chunks(batch as usize)
        .map(<[u64]>::to_vec)
        .collect()
}

/// The serial baseline: the same check, in this process, no queue.
fn serial(numbers: &[u64]) -> (Vec<u64>, u64) {
    let t = clock::now_ns();
    let primes: Vec<u64> =
        numbers.iter().copied().filter(|&n| is_prime(n)).collect();
    (primes, clock::now_ns() - t)
}

fn run(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let workers = workers::worker_count(args.workers);
    let numbers: Vec<u64> = (args.from..args.to).collect();
    let (mut queue, startup_ns) = start(workers, args.slow_worker, args.liveness)?;
    let jobs = batches(&numbers, args.batch);
    let mut rounds = Vec::new();
    for _ in 0..args.repeats {
        rounds.push(queue.round(&jobs)?);
    }
    queue.shut_down()?;

    let (expected, _) = serial(&numbers);
    let serial_ns: Vec<f64> = (0..args.repeats)
        .map(|_| serial(&numbers).1 as f64)
        .collect();
    let serial_ns = Summary::of(&serial_ns).expect("at least one repeat");
    let parallel_ns: Vec<f64> = rounds.iter().map(|r| r.wall_ns as f64).collect();
    let parallel_ns = Summary::of(&parallel_ns).expect("at least one repeat");
    let exactly_once = rounds.iter().all(|r| {
        let mut p = r.primes.clone();
        p.sort_unstable();
        p == expected && r.tasks.iter().sum::<u64>() == numbers.len() as u64
    });
    let first = &rounds[0];
    let tasks = numbers.len() as f64;
    let report = Report {
        machine: Machine::here(),
        workers,
        batch: args.batch,
        from: args.from,
        to: args.to,
        primes: expected,
        tasks_per_worker: first.tasks.clone(),
        exactly_once,
        startup_ns,
        serial_ns,
        parallel_ns,
        overhead_per_task_ns: (parallel_ns.median
            - serial_ns.median / workers as f64)
            / tasks,
        speedup: serial_ns.median / parallel_ns.median,
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
    if !report.deaths.is_empty() {
        // One line for the whole run: who was lost, and that the others did
        // its work (the report above shows it).
        eprintln!(
            "error: {}; every number was still checked once",
            report.deaths.join("; ")
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_run(r: &Report, args: &RunArgs, first: &Round) {
    println!(
        "Checked {} numbers ({}..{}) with {} worker processes, {} per message.",
        r.to - r.from,
        r.from,
        r.to,
        r.workers,
        r.batch
    );
    println!("\n{} primes:", r.primes.len());
    for line in r.primes.chunks(8) {
        let line: Vec<String> = line.iter().map(u64::to_string).collect();
        println!("  {}", line.join(" "));
    }
    println!("\nWho did the work (first round):");
    let mut t = Table::new(["worker", "tasks", "primes"]);
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
    println!(
        "\nWall time, median of {} rounds (min to max):",
        args.repeats
    );
    let mut t = Table::new(["", "time"]);
    t.row(["serial, in one process".into(), spread(&r.serial_ns)]);
    t.row(["parallel, through the queue".into(), spread(&r.parallel_ns)]);
    t.row([
        "starting the workers (once)".into(),
        human_ns(r.startup_ns as f64),
    ]);
    print!("{t}");
    println!(
        "Each task cost {} of queue overhead beyond its share of the work.",
        human_ns(r.overhead_per_task_ns)
    );
    if r.speedup >= 1.0 {
        println!("Parallel was {:.2}x faster than serial.", r.speedup);
    } else {
        println!(
            "Parallel was {:.1}x SLOWER than serial: the tasks are too small for the \
             queue.\nTry --batch 64, or --sweep to see where parallel starts to pay.",
            1.0 / r.speedup
        );
    }
}

/// Checks what clap cannot: a non-empty range of a size we can hold.
fn validate(args: &RunArgs) {
    let fail =
        |msg: String| Cli::command().error(ErrorKind::ValueValidation, msg).exit();
    if let Some(problem) = workers::range_problem(args.from, args.to, MAX_TASKS) {
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.role {
        Some(Role::Worker { link, delay_us }) => {
            workers::run_worker(|| worker(link, Duration::from_micros(*delay_us)))
        }
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
