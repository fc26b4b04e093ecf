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
//!
//! This file is that protocol, in the order it happens: the messages, the
//! worker, the parent's shutdown, one whole run. Each demonstration has a
//! file of its own, named for what it shows:
//!
//! - `too_few_pills.rs`: `--pills N`, fewer pills than workers;
//! - `crash.rs`: `--crash-worker I`, a worker dies in the middle of a batch;
//! - `join_first.rs`: `--join-first`, waiting for exits before reading;
//! - `pipeline.rs`: `--pipeline`, the pill passed down a line of processes;
//! - `compare.rs`: `--compare`, the pill, a hang-up and a kill, timed.
//!
//! What they all share: `broker.rs` (the parent's bookkeeping), `report.rs`
//! (how a run's findings are printed), `cli.rs` (the flags) and `lib.rs` (the
//! `--json` documents, and the ways of ending they name).

mod broker;
mod cli;
mod compare;
mod crash;
mod join_first;
mod pipeline;
mod report;
mod too_few_pills;

use broker::Broker;
use clap::Parser;
use cli::{Cli, Role, RunArgs};
use serde::{Deserialize, Serialize};
use std::process::ExitCode;
use std::time::Duration;
use workers::pool::{Exit, WorkerArgs, WorkerEnd};
use workers::prime::is_prime;
use workers::report::{Machine, print_json};
use workers::{clock, interrupt, ps};

// What `--json` prints, and the ways of ending (`Shutdown`) it names, are
// defined in lib.rs, where `cargo xtask` reads them too.
use poison_pill::{Ending, Report, Shutdown, WorkerEnding};

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
enum Reply {
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
    let end = WorkerEnd::<Reply, Job>::connect(link)?;
    // Armed only in the worker that `--crash-worker` names (crash.rs).
    let mut fuse = crash::Fuse::new(crash, link.index);
    loop {
        match end.down.recv() {
            Ok(Job::Check(numbers)) => {
                for (i, &n) in numbers.iter().enumerate() {
                    fuse.tick(i, numbers.len());
                    if is_prime(n) {
                        end.up.send(Reply::Prime(n))?;
                    }
                }
                end.up.send(Reply::Done)?;
            }
            // The pill: channels keep their order, so every batch sent before
            // it is done by now. Say so, then exit.
            Ok(Job::Stop) => {
                end.up.send(Reply::Finished)?;
                return Ok(());
            }
            // Every sender is gone and the channel is empty: the implicit pill.
            // (Or the parent died: a closed channel cannot say which.)
            Err(_) => return Ok(()),
        }
    }
}
// ANCHOR_END: worker

// The pool's bookkeeping (starting workers, feeding them, hearing their
// replies) is in broker.rs; its shutdown, the subject of this chapter, is here.
impl Broker {
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
            (0..self.pool.len()).filter(|&w| self.alive[w]).collect();
        let held: Vec<usize> = (0..self.pool.len())
            .map(|w| self.held[w].iter().map(Vec::len).sum())
            .collect();
        for &w in &live {
            match how {
                // Behind the batches it holds: it does those first.
                Shutdown::Pill if w < pills => {
                    // A failed send means it died; its hang-up will say so.
                    let _ = self.pool.send(w, Job::Stop);
                }
                Shutdown::Pill => {} // --pills: none for this one (too_few_pills.rs)
                Shutdown::Close => self.pool.hang_up(w),
                Shutdown::Kill => self.pool.kill(w),
            }
        }
        // Keep reading until every worker has answered (pill) or hung up:
        // a worker blocked on a full channel to us could never exit.
        let stopped = |p: &Broker, w: usize| match how {
            Shutdown::Pill => p.finished[w] || p.gone[w],
            Shutdown::Close | Shutdown::Kill => p.gone[w],
        };
        let give_up = start + deadline.as_nanos() as u64;
        let mut lost = 0;
        while live.iter().any(|&w| !stopped(self, w)) && clock::now_ns() < give_up {
            for heard in self.pool.wait(Duration::from_millis(5))? {
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
        // Only now reap; a worker that never stopped is killed and named,
        // and whatever it still held is lost with it.
        let mut per_worker = Vec::new();
        for (w, &held) in held.iter().enumerate() {
            let (mut exit, mut overstayed) = (None, false);
            if live.contains(&w) {
                let wait = if stopped(self, w) {
                    deadline
                } else {
                    lost += self.held[w].drain(..).flatten().count();
                    self.found[w].clear();
                    Duration::ZERO
                };
                let state = ps::state(self.pool.pid(w));
                let ended = self.pool.reap(w, wait)?;
                overstayed = ended == Exit::Overstayed;
                exit = Some(match overstayed {
                    true => format!("{ended} (it was {state})"),
                    false => ended.to_string(),
                });
            }
            per_worker.push(WorkerEnding {
                held,
                answered_ns: self.answered_ns[w],
                exit,
                overstayed,
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

/// The plain run: hand out every batch, end the workers, report.
fn run(args: &RunArgs, workers: usize) -> anyhow::Result<ExitCode> {
    let pills = too_few_pills::count(args.pills, workers);
    let mut broker = Broker::start(workers, args.crash_worker, args.liveness)?;
    let mut queue = broker::batches(args);
    broker.feed(&mut queue)?;
    let never_started = queue.iter().map(Vec::len).sum();
    let deadline = Duration::from_millis(args.deadline_ms);
    // Ctrl-C during the feeding ends it the gentle way, whatever --shutdown says.
    let how = match interrupt::stop_requested() {
        Some(_) => Shutdown::Pill,
        None => args.shutdown,
    };
    let ending = broker.shut_down(how, pills, deadline)?;
    // A second Ctrl-C killed the workers: the signal thread is ending the
    // process, and a report of their deaths would be false. Wait for it.
    interrupt::defer_to_signal();
    let mut primes = broker.primes.clone();
    primes.sort_unstable();
    // The serial reference, after the workers are gone; an interrupted run
    // is incomplete by definition and need not wait for it.
    let expected: Option<Vec<u64>> = interrupt::stop_requested()
        .is_none()
        .then(|| (args.from..args.to).filter(|&n| is_prime(n)).collect());
    let report = Report {
        machine: Machine::here(),
        workers,
        batch: args.batch,
        from: args.from,
        to: args.to,
        pills,
        expected: expected.as_ref().map(Vec::len),
        complete: expected.is_some_and(|e| e == primes),
        primes,
        tasks_per_worker: broker.tasks.clone(),
        deaths: broker.deaths.clone(),
        never_started,
        ending,
    };
    if args.json {
        print_json(&report)?;
    } else {
        report::print_run(&report);
    }
    if let Some(signal) = interrupt::stop_requested() {
        return Ok(ExitCode::from(128 + signal as u8));
    }
    // The report above tells the whole story; standard error gets the one
    // line a script or a tired reader needs.
    let stuck: Vec<String> = (report.ending.per_worker.iter().enumerate())
        .filter(|(_, w)| w.overstayed)
        .map(|(i, w)| format!("worker {i} {}", w.exit.as_deref().unwrap_or("")))
        .collect();
    let faults: Vec<&String> = report.deaths.iter().chain(&stuck).collect();
    if !faults.is_empty() {
        let faults: Vec<&str> = faults.iter().map(|f| f.as_str()).collect();
        eprintln!("error: {} (see the verdict above)", faults.join("; "));
        return Ok(ExitCode::FAILURE);
    }
    if !report.complete {
        eprintln!("error: primes are missing (see the verdict above)");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.role {
        Some(Role::Worker { link, crash }) => {
            workers::run_worker(|| worker(link, *crash))
        }
        Some(Role::Stage { link }) => workers::run_worker(|| pipeline::stage(link)),
        None => {
            let args = &cli.run;
            let workers = cli::validate(args);
            // Only the plain run winds down gently on a first Ctrl-C; the
            // demonstrations stop at once.
            let plain = !(args.pipeline || args.join_first || args.compare);
            let install = match plain {
                true => interrupt::install_graceful,
                false => interrupt::install,
            };
            workers::parent_main(install, || {
                if args.pipeline {
                    pipeline::run(args)
                } else if args.join_first {
                    join_first::run(args, workers)
                } else if args.compare {
                    compare::run(args, workers)
                } else {
                    run(args, workers)
                }
            })
        }
    }
}
