//! Chapter 2: shutting workers down with a poison pill, and what breaks without it.
//!
//! Run it: `cargo run --bin 02-poison-pill` (or `cargo run -p poison-pill`).
//! Then break it on purpose: `--pills 1`, `--crash-worker 1`, `--join-first`,
//! `--shutdown close`, `--shutdown kill`; or `--pipeline`, `--compare`, `--help`.
//!
//! Workers take batches of numbers from a queue in the parent and report each
//! prime the moment they find it, as the text's workers do. When the queue
//! runs dry the parent must end them without losing a result and without
//! waiting forever. The poison pill does that: one stop message per worker,
//! queued behind the work it still holds; the worker answers it and exits; the
//! parent reads every result until every answer is in, and only then reaps.

mod pipeline;

use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand, ValueEnum, error::ErrorKind};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::process::ExitCode;
use std::time::Duration;
use workers::crew::{Crew, Exit, Heard, Inbox, WorkerArgs, WorkerEnd};
use workers::prime::is_prime;
use workers::report::{Machine, Table, human_ns, print_json};
use workers::stats::Summary;
use workers::{clock, interrupt};

/// Worker processes check numbers for primes; then they must be told to stop.
#[derive(Debug, Parser)]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(flatten)]
    run: RunArgs,
    #[command(subcommand)]
    role: Option<Role>,
}

/// How the parent ends its workers once the queue is empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
enum Shutdown {
    /// A stop message per worker, behind its work; each answers and exits
    Pill,
    /// Drop every sender: a worker's receive fails once its channel is empty
    Close,
    /// SIGKILL: immediate, and whatever the workers still held is lost
    Kill,
}

#[derive(Debug, Clone, clap::Args)]
struct RunArgs {
    /// Worker processes to start [default: the number of cores]
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    workers: Option<u16>,
    /// First number to check
    #[arg(long, default_value_t = 1_000_000_000_000)]
    from: u64,
    /// End of the range (exclusive)
    #[arg(long, default_value_t = 1_000_000_010_000)]
    to: u64,
    /// Numbers per message
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=65_536))]
    batch: u32,
    /// How to end the workers once the queue is empty
    #[arg(long, value_enum, default_value_t = Shutdown::Pill)]
    shutdown: Shutdown,
    /// Send only this many pills: the workers left without one never stop
    #[arg(long, value_name = "N")]
    pills: Option<u16>,
    /// Make this worker crash (panic) in the middle of its second batch
    #[arg(long, value_name = "INDEX")]
    crash_worker: Option<usize>,
    /// Do what the text's example does: wait for every worker to exit, and
    /// only then read the results
    #[arg(long, conflicts_with_all = ["pills", "crash_worker", "shutdown"])]
    join_first: bool,
    /// Produce, check and collect in three processes in a row, the pill
    /// passed from stage to stage
    #[arg(long, conflicts_with_all = ["pills", "crash_worker", "join_first", "workers"])]
    pipeline: bool,
    /// Time each way of shutting down several times and count what each loses
    #[arg(long, conflicts_with_all = ["pills", "crash_worker", "join_first", "pipeline", "shutdown"])]
    compare: bool,
    /// Rounds per way of shutting down, with --compare
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=100))]
    repeats: u32,
    /// How long the parent waits for its workers to stop, in milliseconds
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    deadline_ms: u64,
    /// Print one JSON document instead of the text report
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum Role {
    /// Internal: run as a worker process (started by the parent).
    #[command(hide = true)]
    Worker {
        #[command(flatten)]
        link: WorkerArgs,
        /// Panic in the middle of the second batch.
        #[arg(long)]
        crash: bool,
    },
    /// Internal: run as one stage of the pipeline (started by the parent).
    #[command(hide = true)]
    Stage {
        #[command(flatten)]
        link: WorkerArgs,
    },
}

/// The most numbers one run may hold in memory as tasks.
const MAX_TASKS: u64 = 10_000_000;
/// Batches a worker holds at once: one in hand, one waiting behind it.
const DEPTH: usize = 2;

// ANCHOR: messages
/// Parent to worker.
#[derive(Debug, Serialize, Deserialize)]
enum Job {
    /// Check these numbers.
    Check(Vec<u64>),
    /// The poison pill. A variant of its own: no number, and no string that
    /// happens to read "STOP", can ever be taken for it.
    Stop,
}

/// Worker to parent.
#[derive(Debug, Serialize, Deserialize)]
enum Report {
    /// A prime, sent the moment it is found (the text's `result_q.put(n)`).
    Prime(u64),
    /// The oldest batch this worker held is finished.
    Done,
    /// The answer to the pill: everything before it is done; exiting now.
    Finished,
}
// ANCHOR_END: messages

// ANCHOR: worker
/// A worker: check each batch it is sent, until the pill (or a closed channel).
fn worker(link: &WorkerArgs, crash: bool) -> anyhow::Result<()> {
    let end = WorkerEnd::<Report, Job>::connect(link)?;
    let mut batches = 0;
    loop {
        match end.down.recv() {
            Ok(Job::Check(numbers)) => {
                for (i, &n) in numbers.iter().enumerate() {
                    if crash && batches == 1 && i == numbers.len() / 2 {
                        panic!("worker {} crashes on purpose", link.index);
                    }
                    if is_prime(n) {
                        end.up.send(Report::Prime(n))?;
                    }
                }
                end.up.send(Report::Done)?;
                batches += 1;
            }
            // The pill: channels keep their order, so every batch sent before
            // it is done by now. Say so, then exit.
            Ok(Job::Stop) => {
                end.up.send(Report::Finished)?;
                return Ok(());
            }
            // Every sender is gone and the channel is empty: the implicit pill.
            // (Or the parent died: a closed channel cannot say which.)
            Err(_) => return Ok(()),
        }
    }
}
// ANCHOR_END: worker

/// The parent's side: the workers, what each holds, and what came back.
struct Pool {
    crew: Crew<Job>,
    inbox: Inbox<Report>,
    /// Batches each worker holds, oldest first: its next `Done` is the front.
    held: Vec<VecDeque<Vec<u64>>>,
    /// Primes each worker reported from its oldest batch, kept aside until
    /// that batch is done: a batch whose worker dies midway is redone whole,
    /// and its primes must not count twice.
    found: Vec<Vec<u64>>,
    /// Primes of finished batches: the results.
    primes: Vec<u64>,
    /// Numbers each worker finished.
    tasks: Vec<u64>,
    /// Still running, as far as the parent knows.
    alive: Vec<bool>,
    /// Answered the pill.
    finished: Vec<bool>,
    /// Its channel closed: it exited, or died.
    gone: Vec<bool>,
    /// When each worker answered the pill or hung up, ns after the shutdown began.
    answered_ns: Vec<Option<u64>>,
    /// When the last result arrived, on the shared clock.
    last_result_ns: u64,
    /// Workers that died while there was work, and what became of it.
    deaths: Vec<String>,
}

impl Pool {
    fn start(workers: usize, crash: Option<usize>) -> anyhow::Result<Pool> {
        let (crew, inbox) = Crew::spawn(workers, |i| {
            if Some(i) == crash {
                vec!["--crash".into()]
            } else {
                Vec::new()
            }
        })?;
        Ok(Pool {
            crew,
            inbox,
            held: vec![VecDeque::new(); workers],
            found: vec![Vec::new(); workers],
            primes: Vec::new(),
            tasks: vec![0; workers],
            alive: vec![true; workers],
            finished: vec![false; workers],
            gone: vec![false; workers],
            answered_ns: vec![None; workers],
            last_result_ns: 0,
            deaths: Vec::new(),
        })
    }

    /// Hands out every batch of `queue`, refilling each worker as it reports,
    /// until the queue is empty or Ctrl-C asks to stop feeding.
    fn feed(&mut self, queue: &mut VecDeque<Vec<u64>>) -> anyhow::Result<()> {
        self.top_up(queue)?;
        while !queue.is_empty() && interrupt::stop_requested().is_none() {
            for heard in self.inbox.wait(Duration::from_millis(20))? {
                if let Some((w, lost)) = self.hear(heard, None)? {
                    let n = lost.len();
                    self.bury(w, format!("its {n} numbers went back on the queue"))?;
                    queue.push_front(lost);
                }
            }
            self.top_up(queue)?;
        }
        Ok(())
    }

    /// Fills every live worker's places from the queue.
    fn top_up(&mut self, queue: &mut VecDeque<Vec<u64>>) -> anyhow::Result<()> {
        for w in 0..self.crew.len() {
            while self.alive[w] && self.held[w].len() < DEPTH {
                let Some(batch) = queue.pop_front() else {
                    return Ok(());
                };
                if self.crew.send(w, Job::Check(batch.clone())).is_err() {
                    // Dead before the inbox said so: the batch goes back, and
                    // its closed channel will arrive and give back the rest.
                    queue.push_front(batch);
                    self.alive[w] = false;
                    break;
                }
                self.held[w].push_back(batch);
            }
        }
        Ok(())
    }

    /// Takes in one message or hang-up. A worker that hung up with work in
    /// hand gives back that work, as one batch; `since` (the start of the
    /// shutdown) is when answers are timed from.
    fn hear(
        &mut self,
        heard: Heard<Report>,
        since: Option<u64>,
    ) -> anyhow::Result<Option<(usize, Vec<u64>)>> {
        let after = |since: Option<u64>| since.map(|t| clock::now_ns() - t);
        match heard {
            Heard::Message(w, Report::Prime(p)) => self.found[w].push(p),
            Heard::Message(w, Report::Done) => {
                let batch = self.held[w].pop_front().with_context(|| {
                    format!("worker {w} finished a batch it never had")
                })?;
                self.tasks[w] += batch.len() as u64;
                self.primes.append(&mut self.found[w]);
                self.last_result_ns = clock::now_ns();
            }
            Heard::Message(w, Report::Finished) => {
                self.finished[w] = true;
                self.answered_ns[w] = after(since);
            }
            Heard::Gone(w) => {
                self.gone[w] = true;
                self.alive[w] = false;
                if self.answered_ns[w].is_none() {
                    self.answered_ns[w] = after(since);
                }
                // Its reports of an unfinished batch do not count: the batch
                // is done again whole, or lost whole.
                self.found[w].clear();
                let lost: Vec<u64> = self.held[w].drain(..).flatten().collect();
                if !lost.is_empty() {
                    return Ok(Some((w, lost)));
                }
            }
        }
        Ok(None)
    }

    /// Reaps worker `w`, which died with work in hand, and notes what
    /// became of the work.
    fn bury(&mut self, w: usize, fate: String) -> anyhow::Result<()> {
        let how = self.crew.reap(w, Duration::from_secs(2))?;
        let pid = self.crew.pid(w);
        self.deaths
            .push(format!("worker {w} (pid {pid}) {how} mid-run; {fate}"));
        Ok(())
    }

    // ANCHOR: shutdown
    /// Ends every live worker the way `how` says, reading results all along,
    /// and reaps them. Waits at most `deadline` for workers to stop.
    fn shut_down(
        &mut self,
        how: Shutdown,
        pills: usize,
        deadline: Duration,
    ) -> anyhow::Result<Ending> {
        let start = clock::now_ns();
        let live: Vec<usize> =
            (0..self.crew.len()).filter(|&w| self.alive[w]).collect();
        let held: Vec<usize> = (0..self.crew.len())
            .map(|w| self.held[w].iter().map(Vec::len).sum())
            .collect();
        for &w in &live {
            match how {
                // Behind the batches it holds: it does those first.
                Shutdown::Pill if w < pills => {
                    // A failed send means it died; its hang-up will say so.
                    let _ = self.crew.send(w, Job::Stop);
                }
                Shutdown::Pill => {} // --pills: this one gets none
                Shutdown::Close => self.crew.hang_up(w),
                Shutdown::Kill => self.crew.kill(w),
            }
        }
        // Keep reading until every worker has answered (pill) or hung up:
        // a worker blocked on a full channel to us could never exit.
        let stopped = |p: &Pool, w: usize| match how {
            Shutdown::Pill => p.finished[w] || p.gone[w],
            Shutdown::Close | Shutdown::Kill => p.gone[w],
        };
        let give_up = start + deadline.as_nanos() as u64;
        let mut lost = 0;
        while live.iter().any(|&w| !stopped(self, w)) && clock::now_ns() < give_up {
            for heard in self.inbox.wait(Duration::from_millis(5))? {
                // After the pills no one can take work back: what a worker
                // still held when it went is lost.
                if let Some((w, batch)) = self.hear(heard, Some(start))? {
                    lost += batch.len();
                    if how != Shutdown::Kill {
                        let fate = format!("its {} numbers are lost", batch.len());
                        self.bury(w, fate)?;
                    }
                }
            }
        }
        // Only now reap; a worker that never stopped is killed and named.
        let mut per_worker = Vec::new();
        for (w, &held) in held.iter().enumerate() {
            let exit = if live.contains(&w) {
                let wait = if stopped(self, w) {
                    deadline
                } else {
                    Duration::ZERO
                };
                Some(self.crew.reap(w, wait)?)
            } else {
                None
            };
            per_worker.push(WorkerEnding {
                held,
                answered_ns: self.answered_ns[w],
                exit: exit.map(|e| e.to_string()),
                overstayed: exit == Some(Exit::Overstayed),
            });
        }
        let end = clock::now_ns();
        Ok(Ending {
            how,
            shutdown_ns: end - start,
            after_last_result_ns: end.saturating_sub(self.last_result_ns.max(start)),
            lost_numbers: lost,
            per_worker,
        })
    }
    // ANCHOR_END: shutdown
}

/// How the workers ended.
#[derive(Debug, Clone, Serialize)]
struct Ending {
    how: Shutdown,
    /// From the queue running dry to every worker reaped.
    shutdown_ns: u64,
    /// From the last result read (or the queue running dry, if later) to
    /// every worker reaped: the cost of the ending itself.
    after_last_result_ns: u64,
    /// Numbers that were handed out but never finished.
    lost_numbers: usize,
    per_worker: Vec<WorkerEnding>,
}

#[derive(Debug, Clone, Serialize)]
struct WorkerEnding {
    /// Numbers it held when the shutdown began.
    held: usize,
    /// When it answered the pill or hung up, after the shutdown began.
    answered_ns: Option<u64>,
    /// How its process ended; none if it had died before.
    exit: Option<String>,
    /// It did not stop by the deadline and was killed.
    overstayed: bool,
}

/// The numbers `from..to`, in batches of `batch`.
fn batches(args: &RunArgs) -> VecDeque<Vec<u64>> {
    let numbers: Vec<u64> = (args.from..args.to).collect();
    numbers
        .chunks(args.batch as usize)
        .map(<[u64]>::to_vec)
        .collect()
}

/// Everything one run measured, as `--json` prints it.
#[derive(Debug, Serialize)]
struct RunReport {
    machine: Machine,
    workers: usize,
    batch: u32,
    from: u64,
    to: u64,
    pills: usize,
    /// Primes a serial run finds in the range (not run after Ctrl-C).
    expected: Option<usize>,
    /// Primes the workers' finished batches held, ascending.
    primes: Vec<u64>,
    /// Every prime found once, none missing, none twice.
    complete: bool,
    /// Numbers each worker finished.
    tasks_per_worker: Vec<u64>,
    /// Workers that died while there was work.
    deaths: Vec<String>,
    /// Numbers never handed out because Ctrl-C stopped the feeding.
    never_started: usize,
    ending: Ending,
}

fn run(args: &RunArgs, workers: usize) -> anyhow::Result<ExitCode> {
    let pills = args.pills.map_or(workers, usize::from);
    let mut pool = Pool::start(workers, args.crash_worker)?;
    let mut queue = batches(args);
    pool.feed(&mut queue)?;
    let never_started = queue.iter().map(Vec::len).sum();
    let deadline = Duration::from_millis(args.deadline_ms);
    // Ctrl-C during the feeding ends it the gentle way, whatever --shutdown says.
    let how = match interrupt::stop_requested() {
        Some(_) => Shutdown::Pill,
        None => args.shutdown,
    };
    let ending = pool.shut_down(how, pills, deadline)?;
    // A second Ctrl-C killed the workers: the signal thread is ending the
    // process, and a report of their deaths would be false. Wait for it.
    interrupt::defer_to_signal();
    let mut primes = pool.primes.clone();
    primes.sort_unstable();
    // The serial reference, after the workers are gone; an interrupted run
    // is incomplete by definition and need not wait for it.
    let expected: Option<Vec<u64>> = interrupt::stop_requested()
        .is_none()
        .then(|| (args.from..args.to).filter(|&n| is_prime(n)).collect());
    let report = RunReport {
        machine: Machine::here(),
        workers,
        batch: args.batch,
        from: args.from,
        to: args.to,
        pills,
        expected: expected.as_ref().map(Vec::len),
        complete: expected.is_some_and(|e| e == primes),
        primes,
        tasks_per_worker: pool.tasks.clone(),
        deaths: pool.deaths.clone(),
        never_started,
        ending,
    };
    if args.json {
        print_json(&report)?;
    } else {
        print_run(&report);
    }
    if let Some(signal) = interrupt::stop_requested() {
        return Ok(ExitCode::from(128 + signal as u8));
    }
    let stuck = report.ending.per_worker.iter().any(|w| w.overstayed);
    let ok = report.complete && !stuck && report.deaths.is_empty();
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_run(r: &RunReport) {
    println!(
        "Checked {}..{} with {} worker processes, {} per message.",
        r.from, r.to, r.workers, r.batch
    );
    for death in &r.deaths {
        println!("{death}.");
    }
    let e = &r.ending;
    let said = match e.how {
        Shutdown::Pill if r.pills < r.workers => format!(
            "{} pills for {} workers; from worker {} on, none",
            r.pills, r.workers, r.pills
        ),
        Shutdown::Pill => {
            "one pill per worker, queued behind the work it held".into()
        }
        Shutdown::Close => "the parent dropped its sender to every worker".into(),
        Shutdown::Kill => "SIGKILL to every worker".into(),
    };
    // Ctrl-C is the one way a run ends without a serial reference.
    let interrupted = r.expected.is_none();
    let why = if interrupted {
        "Ctrl-C: the feeding stopped"
    } else {
        "The queue ran dry"
    };
    println!("\n{why}. Shutdown: {said}.");
    let mut t = Table::new(["worker", "held", "answered", "ended"]);
    for (w, end) in e.per_worker.iter().enumerate() {
        t.row([
            w.to_string(),
            format!("{} numbers", end.held),
            end.answered_ns
                .map_or("-".into(), |ns| format!("+{}", human_ns(ns as f64))),
            end.exit.clone().unwrap_or_else(|| "(died earlier)".into()),
        ]);
    }
    print!("{t}");
    println!(
        "Every worker reaped {} after the queue ran dry, {} after the last result.",
        human_ns(e.shutdown_ns as f64),
        human_ns(e.after_last_result_ns as f64)
    );
    let of = r
        .expected
        .map_or(String::new(), |n| format!(" of {n} (a serial run's)"));
    println!(
        "Primes found: {}{of}; numbers handed out but never finished: {}.",
        r.primes.len(),
        e.lost_numbers
    );
    if r.never_started > 0 {
        println!(
            "Interrupted: {} numbers were never handed out; the results above are \
             those of every batch started.",
            r.never_started
        );
    }
    let stuck: Vec<String> = (e.per_worker.iter().enumerate())
        .filter(|(_, w)| w.overstayed)
        .map(|(i, _)| i.to_string())
        .collect();
    let verdict = if interrupted {
        "interrupted: the feeding stopped, every batch handed out was finished \
         and read, and every worker was reaped."
            .to_string()
    } else if !stuck.is_empty() {
        format!(
            "worker {} never stopped: no pill reached it, so it waited for work forever. \
             The deadline caught it and it was killed.",
            stuck.join(", ")
        )
    } else if e.lost_numbers > 0 || !r.complete {
        format!(
            "fast, but {} numbers in the workers' hands were lost with their primes.",
            e.lost_numbers
        )
    } else if !r.deaths.is_empty() {
        "a worker crashed, its work was redone by the others, and their shutdown \
         did not wait for it. Every prime was found."
            .into()
    } else {
        "clean: every task done, every result read, every worker reaped.".into()
    };
    println!("\nVerdict: {verdict}");
}

// ANCHOR: join_first
/// `--join-first`: the text's order. Each worker gets its whole share and its
/// pill at once; the parent waits for them all to exit, and only then reads.
fn join_first(args: &RunArgs, workers: usize) -> anyhow::Result<ExitCode> {
    let mut pool = Pool::start(workers, None)?;
    let numbers: Vec<u64> = (args.from..args.to).collect();
    for w in 0..workers {
        let share = numbers
            [numbers.len() * w / workers..numbers.len() * (w + 1) / workers]
            .to_vec();
        pool.held[w].push_back(share.clone());
        pool.crew.send(w, Job::Check(share))?;
        pool.crew.send(w, Job::Stop)?;
    }
    // Join first, reading nothing. A worker whose results do not fit in its
    // channel blocks in `send` until someone reads, so it never exits.
    let deadline = Duration::from_millis(args.deadline_ms);
    let give_up = std::time::Instant::now() + deadline;
    let mut blocked = Vec::new();
    for w in 0..workers {
        let left = give_up.saturating_duration_since(std::time::Instant::now());
        if pool.crew.reap(w, left)? == Exit::Overstayed {
            blocked.push(w);
        }
    }
    // ANCHOR_END: join_first
    // Read what the channels still hold: a dead process's messages stay
    // readable until its channel reports closed.
    let mut read = 0;
    while (0..workers).any(|w| !pool.gone[w]) {
        for heard in pool.inbox.wait(Duration::from_millis(100))? {
            read +=
                usize::from(matches!(heard, Heard::Message(_, Report::Prime(_))));
            pool.hear(heard, None)?;
        }
    }
    let expected = numbers.iter().filter(|&&n| is_prime(n)).count();
    println!(
        "Checked {}..{} with {workers} workers, each sent its whole share and its pill \
         at once.\nThe parent then waited for every worker to exit, reading nothing.\n",
        args.from, args.to
    );
    if blocked.is_empty() {
        println!(
            "Every worker exited: its {} or so results fit in the channel unread.\n\
             Read afterwards: {read} of {expected} primes.\n\n\
             Verdict: no deadlock, this time. Try a range with more primes, such as\n\
             --from 1000000 --to 1100000.",
            expected / workers,
        );
        Ok(ExitCode::SUCCESS)
    } else {
        let names: Vec<String> = blocked.iter().map(usize::to_string).collect();
        let who = if blocked.len() > 1 {
            "workers"
        } else {
            "worker"
        };
        println!(
            "After {} {who} {} had not exited: each was blocked sending results\n\
             that nobody read, while the parent waited for it to exit. That is a\n\
             deadlock; only the deadline broke it (and killed the worker, so its\n\
             unread results are all that is left). Read afterwards: {} of {expected} primes.\n\n\
             Verdict: DEADLOCK. Drain the results before you join.",
            human_ns(deadline.as_nanos() as f64),
            names.join(", "),
            read
        );
        Ok(ExitCode::FAILURE)
    }
}

/// One way of shutting down, timed over several rounds.
#[derive(Debug, Serialize)]
struct Compared {
    how: Shutdown,
    /// Queue dry to every worker reaped.
    shutdown_ns: Summary,
    /// Last result read to every worker reaped.
    after_last_result_ns: Summary,
    /// Numbers held by the workers when the shutdown began, per round.
    held: Summary,
    /// Numbers handed out but never finished, summed over the rounds.
    lost_numbers: usize,
    /// Primes missing from the results, summed over the rounds.
    lost_primes: usize,
}

#[derive(Debug, Serialize)]
struct CompareReport {
    machine: Machine,
    workers: usize,
    batch: u32,
    from: u64,
    to: u64,
    rounds: u32,
    ways: Vec<Compared>,
}

/// `--compare`: the same run ended each way, `repeats` times, fresh workers each time.
fn compare(args: &RunArgs, workers: usize) -> anyhow::Result<ExitCode> {
    let expected = (args.from..args.to).filter(|&n| is_prime(n)).count();
    let deadline = Duration::from_millis(args.deadline_ms);
    let mut ways = Vec::new();
    for how in [Shutdown::Pill, Shutdown::Close, Shutdown::Kill] {
        let (mut total, mut tail, mut held) = (Vec::new(), Vec::new(), Vec::new());
        let (mut lost_numbers, mut lost_primes) = (0, 0);
        for _ in 0..args.repeats {
            let mut pool = Pool::start(workers, None)?;
            pool.feed(&mut batches(args))?;
            let e = pool.shut_down(how, workers, deadline)?;
            total.push(e.shutdown_ns as f64);
            tail.push(e.after_last_result_ns as f64);
            held.push(e.per_worker.iter().map(|w| w.held).sum::<usize>() as f64);
            lost_numbers += e.lost_numbers;
            lost_primes += expected - pool.primes.len();
        }
        let s = |v: &[f64]| Summary::of(v).expect("at least one round");
        ways.push(Compared {
            how,
            shutdown_ns: s(&total),
            after_last_result_ns: s(&tail),
            held: s(&held),
            lost_numbers,
            lost_primes,
        });
    }
    let report = CompareReport {
        machine: Machine::here(),
        workers,
        batch: args.batch,
        from: args.from,
        to: args.to,
        rounds: args.repeats,
        ways,
    };
    if args.json {
        print_json(&report)?;
    } else {
        println!(
            "Three ways to end {workers} workers once the queue runs dry, {} rounds each.\n",
            args.repeats
        );
        let mut t = Table::new([
            "shutdown",
            "queue dry to all reaped",
            "last result to all reaped",
            "held",
            "lost numbers",
            "lost primes",
        ]);
        for c in &report.ways {
            t.row([
                format!("{:?}", c.how).to_lowercase(),
                human_ns(c.shutdown_ns.median),
                human_ns(c.after_last_result_ns.median),
                format!("{:.0}", c.held.median),
                c.lost_numbers.to_string(),
                c.lost_primes.to_string(),
            ]);
        }
        print!("{t}");
        println!(
            "Times are medians; held and lost are per round and over all rounds."
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Checks what clap cannot: a range we can hold, indexes that name a worker.
fn validate(args: &RunArgs) -> usize {
    let fail =
        |msg: String| Cli::command().error(ErrorKind::ValueValidation, msg).exit();
    if let Some(problem) = workers::range_problem(args.from, args.to, MAX_TASKS) {
        fail(problem);
    }
    let workers = workers::worker_count(args.workers);
    if let Some(c) = args.crash_worker.filter(|&c| c >= workers) {
        fail(format!(
            "--crash-worker {c} names no worker: there are {workers} (0 to {})",
            workers - 1
        ));
    }
    if let Some(p) = args.pills.map(usize::from).filter(|&p| p >= workers) {
        fail(format!(
            "--pills {p} is not fewer than the {workers} workers: leave it out for one each"
        ));
    }
    if args.pills.is_some() && args.shutdown != Shutdown::Pill {
        fail("--pills goes with --shutdown pill".into());
    }
    if args.pipeline && args.shutdown == Shutdown::Kill {
        fail("--pipeline ends by --shutdown pill or close".into());
    }
    workers
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.role {
        Some(Role::Worker { link, crash }) => {
            worker(link, *crash).map(|()| ExitCode::SUCCESS)
        }
        Some(Role::Stage { link }) => {
            pipeline::stage(link).map(|()| ExitCode::SUCCESS)
        }
        None => {
            let args = &cli.run;
            let workers = validate(args);
            workers::warn_if_unoptimized();
            // Only the plain run winds down gently on a first Ctrl-C; the
            // demonstrations stop at once.
            let plain = !(args.pipeline || args.join_first || args.compare);
            let installed = if plain {
                interrupt::install_graceful()
            } else {
                interrupt::install()
            };
            installed.and_then(|()| {
                if args.pipeline {
                    pipeline::run(args)
                } else if args.join_first {
                    join_first(args, workers)
                } else if args.compare {
                    compare(args, workers)
                } else {
                    run(args, workers)
                }
            })
        }
    };
    interrupt::defer_to_signal();
    result.unwrap_or_else(|e| {
        eprintln!("error: {e:#}");
        ExitCode::FAILURE
    })
}
