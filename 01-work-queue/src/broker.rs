//! `--queue broker`: the queue lives in the parent. Each worker has its own
//! ipc-channel in and out; whenever a worker reports a finished task, the
//! parent sends it the next one. Every task costs a trip through the parent.

use crate::ledger::{Ledger, Task};
use crate::task::{Done, check};
use crate::{Queue, Round, SLOW_DELAY};
use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::ops::Range;
use std::time::Duration;
use workers::clock;
use workers::pool::{Heard, Liveness, Pool, WorkerArgs, WorkerEnd};

/// Tasks each worker holds at once: one in hand, one waiting, so a worker
/// never sits idle while its next task crosses the channel.
const DEPTH: usize = 2;

/// Parent to worker, over the worker's own channel.
#[derive(Debug, Serialize, Deserialize)]
pub enum Order {
    /// Check `from..to`; `seq` names the task.
    Check { seq: u64, from: u64, to: u64 },
    /// The poison pill.
    Stop,
}

/// Worker to parent.
#[derive(Debug, Serialize, Deserialize)]
pub enum Reply {
    /// The primes among the task `seq`: how many, and their sum.
    Done { seq: u64, primes: u32, sum: u64 },
    /// The answer to `Stop`: this worker has finished and will exit.
    Finished,
}

// ANCHOR: worker
/// A broker's worker: take a task, check it, report, until the pill arrives.
pub fn worker(link: &WorkerArgs, delay: Duration) -> anyhow::Result<()> {
    let end = WorkerEnd::<Reply, Order>::connect(link)?;
    // `recv` fails only when the parent is gone: then there is no one to
    // report to, and the worker simply ends.
    while let Ok(order) = end.down.recv() {
        match order {
            Order::Check { seq, from, to } => {
                let (primes, sum) = check(from..to, delay);
                end.up.send(Reply::Done { seq, primes, sum })?;
            }
            Order::Stop => {
                end.up.send(Reply::Finished)?;
                break;
            }
        }
    }
    Ok(())
}
// ANCHOR_END: worker

/// The parent's side of the queue: the books, and which tasks each worker
/// holds, in the order it was sent them.
#[derive(Debug)]
pub struct Broker {
    pool: Pool<Order, Reply>,
    alive: Vec<bool>,
    /// The last task number used, in any round.
    last_seq: u64,
}

impl Broker {
    /// Starts `workers` processes; `slow` (if any) sleeps per number.
    pub fn start(
        workers: usize,
        slow: Option<usize>,
        liveness: Liveness,
    ) -> anyhow::Result<Broker> {
        let pool = Pool::spawn(workers, liveness, |i| {
            let us = if Some(i) == slow {
                SLOW_DELAY.as_micros()
            } else {
                0
            };
            vec![
                "--queue".into(),
                "broker".into(),
                "--delay-us".into(),
                us.to_string(),
            ]
        })?;
        Ok(Broker {
            pool,
            alive: vec![true; workers],
            last_seq: 0,
        })
    }

    /// Fills worker `w`'s places from the books, if it is alive.
    fn top_up(&mut self, w: usize, ledger: &mut Ledger, held: &mut VecDeque<Task>) {
        while self.alive[w] && held.len() < DEPTH {
            let Some(task) = ledger.next() else { break };
            let order = Order::Check {
                seq: task.seq,
                from: task.numbers.start,
                to: task.numbers.end,
            };
            if self.pool.send(w, order).is_err() {
                // The worker died before the inbox said so. The task goes
                // back; the worker is killed for certain, so its channel's
                // closing arrives and burying it returns what it still held.
                ledger.unsend(task);
                self.alive[w] = false;
                self.pool.kill(w);
                break;
            }
            held.push_back(task);
        }
    }

    fn top_up_all(&mut self, ledger: &mut Ledger, held: &mut [VecDeque<Task>]) {
        for (w, h) in held.iter_mut().enumerate() {
            self.top_up(w, ledger, h);
        }
    }
}

impl Queue for Broker {
    // ANCHOR: broker
    /// Sends every task through the workers and collects every result.
    ///
    /// Each worker holds at most `DEPTH` tasks; each result it returns frees
    /// a place, which the next task fills. A worker that dies gives its
    /// unfinished tasks back to the books.
    fn round(&mut self, numbers: Range<u64>, batch: u32) -> anyhow::Result<Round> {
        let n = self.pool.len();
        let mut ledger = Ledger::new(numbers, batch, n, self.last_seq);
        let mut held: Vec<VecDeque<Task>> = vec![VecDeque::new(); n];
        let mut deaths = Vec::new();
        let start = clock::now_ns();
        self.top_up_all(&mut ledger, &mut held);
        while !ledger.finished() {
            for heard in self.pool.wait(Duration::from_millis(100))? {
                match heard {
                    // A message the channel still held from a worker given
                    // up on: its tasks went back already.
                    Heard::Message(w, _) if !self.alive[w] => {}
                    Heard::Message(w, Reply::Done { seq, primes, sum }) => {
                        // A channel keeps order: the answer is to the oldest.
                        if held[w].pop_front().map(|t| t.seq) != Some(seq) {
                            bail!(
                                "worker {w} answered task {seq}, not the one it had first"
                            );
                        }
                        let worker = w as u32;
                        ledger.done(&Done {
                            seq,
                            worker,
                            primes,
                            sum,
                        })?;
                        self.top_up(w, &mut ledger, &mut held[w]);
                    }
                    Heard::Message(w, Reply::Finished) => {
                        bail!("worker {w} finished before it was told to stop")
                    }
                    // Dead, or alive but silent (killed now): either way its
                    // tasks go back on the queue.
                    Heard::Gone(w) | Heard::Silent(w, _) => {
                        let how = match heard {
                            Heard::Silent(_, quiet) => {
                                self.pool.kill_silent(w, quiet)?
                            }
                            _ => crate::died(&mut self.pool, w)?,
                        };
                        self.alive[w] = false;
                        let lost: u64 =
                            held[w].drain(..).map(|t| ledger.lose(t.seq)).sum();
                        let requeued = format!(
                            "its {lost} unfinished numbers went back on the queue"
                        );
                        deaths.push(crate::bury(
                            how,
                            &requeued,
                            &self.alive,
                            &ledger,
                        )?);
                        self.top_up_all(&mut ledger, &mut held);
                    }
                }
            }
        }
        self.last_seq = ledger.last_seq();
        Ok(Round::new(clock::now_ns() - start, ledger.tally, deaths))
    }
    // ANCHOR_END: broker

    // ANCHOR: shutdown
    /// One pill per live worker, behind any work; then wait for each
    /// acknowledgement before reaping, so no result is left unread.
    fn shut_down(mut self: Box<Self>) -> anyhow::Result<()> {
        let live: Vec<usize> =
            (0..self.pool.len()).filter(|&w| self.alive[w]).collect();
        for &w in &live {
            self.pool.send(w, Order::Stop).with_context(|| {
                format!("worker {w} died before it could be told to stop")
            })?;
        }
        let mut answered = vec![false; self.pool.len()];
        let deadline = clock::now_ns() + 5_000_000_000;
        while live.iter().any(|&w| !answered[w]) {
            if clock::now_ns() > deadline {
                let late = live.iter().filter(|&&w| !answered[w]).count();
                bail!("{late} workers did not acknowledge the stop message in 5 s");
            }
            for heard in self.pool.wait(Duration::from_millis(100))? {
                match heard {
                    Heard::Message(w, Reply::Finished) => answered[w] = true,
                    Heard::Message(w, Reply::Done { .. }) => {
                        bail!("worker {w} sent a result after the queue was empty")
                    }
                    // The channel closes right after `Finished`; before it,
                    // the worker died holding its pill.
                    Heard::Gone(w) if !answered[w] => {
                        let how = crate::died(&mut self.pool, w)?;
                        bail!("{how} before it answered its pill")
                    }
                    Heard::Gone(_) => {}
                    Heard::Silent(w, quiet) => {
                        let what = self.pool.kill_silent(w, quiet)?;
                        bail!("{what} before it answered its pill")
                    }
                }
            }
        }
        crate::reap_all(&mut self.pool, &live)
    }
    // ANCHOR_END: shutdown
}
