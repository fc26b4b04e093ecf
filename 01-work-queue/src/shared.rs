//! The parent's side of a queue that every worker shares: the pipe and the
//! shared-memory ring. Here the parent only puts tasks in and takes results
//! out; the workers take tasks themselves, whoever is free first, as in the
//! text. The parent's books (`Ledger`) are the same as the broker's.
//!
//! What the parent cannot see is who took which task: that is the price of a
//! shared queue. When a worker is lost, each medium says what it knows
//! ([`Medium::bury`]): the ring knows exactly what the worker had; the pipe
//! knows only which tasks were taken and not finished, by anyone, and they
//! all go back on the queue (live workers' copies are then checked twice, and
//! counted once).

use crate::ledger::Ledger;
use crate::task::{Done, Job};
use crate::{Queue, Round};
use anyhow::bail;
use std::ops::Range;
use std::time::Duration;
use work_queue::ring::Message;
use workers::clock;
use workers::pool::{Heard, Pool};

/// Workers' processes in a shared-queue design: the channels carry only
/// heartbeats (and their closing, when a worker ends).
pub type Workers = Pool<(), ()>;

/// What a medium knows about the tasks of a worker that is certainly dead.
#[derive(Debug)]
pub enum Buried {
    /// These tasks (sequence numbers) may have been in its hands.
    Held(Vec<u64>),
    /// Someone took these tasks and has not finished them; which were the
    /// dead worker's is unknown.
    Taken,
    /// A live worker is in the middle of an operation on the same slot: ask
    /// again shortly.
    Busy,
}

/// A queue every worker shares, seen from the parent.
pub trait Medium {
    /// Most tasks out at once: what the queue holds, so results never
    /// outnumber the room for them.
    const WINDOW: usize;
    /// Puts a message on the task queue; `false` if it is full.
    fn put(&mut self, msg: Message) -> anyhow::Result<bool>;
    /// Wakes workers asleep on an empty queue, after a burst of puts.
    fn wake_workers(&self);
    /// Takes one result, if one is waiting.
    fn take(&mut self) -> anyhow::Result<Option<Message>>;
    /// Waits up to `timeout` for what `want` says is worth waking for.
    fn wait(&mut self, timeout: Duration, want: Want) -> anyhow::Result<()>;
    /// Tasks put and not yet taken by any worker.
    fn queued(&self) -> anyhow::Result<u64>;
    /// Worker `w` is dead (reaped): finish what it left half done in the
    /// queue, and say what it may have held. `alive` says who is not.
    fn bury(&mut self, w: usize, alive: &[bool]) -> Buried;
}

/// What the parent waits for when it sleeps.
#[derive(Debug, Clone, Copy)]
pub struct Want {
    /// More tasks are to be sent: wake it when the queue runs low.
    pub refill: bool,
    /// Tasks out: with nothing more to send, wake it when all are answered.
    pub out: usize,
}

/// A shared queue and its workers.
#[derive(Debug)]
pub struct SharedQueue<M> {
    pub pool: Workers,
    pub medium: M,
    pub alive: Vec<bool>,
    /// The last task number used, in any round.
    pub last_seq: u64,
}

/// How often the parent asks the pool about deaths and silences while work
/// flows (it asks whenever it would otherwise sleep, too).
const CHECK_EVERY: Duration = Duration::from_millis(5);

impl<M: Medium> SharedQueue<M> {
    /// Takes every waiting result into the books; how many there were.
    fn drain(&mut self, ledger: &mut Ledger) -> anyhow::Result<usize> {
        let mut n = 0;
        while let Some(msg) = self.medium.take()? {
            // A filler left where a lost worker died half-way: no result.
            if let Some(done) = Done::decode(msg) {
                ledger.done(&done)?;
            }
            n += 1;
        }
        Ok(n)
    }

    /// Hears about dead and silent workers, and puts what they held back on
    /// the queue. `unburied` holds workers whose slot was busy last time.
    fn check_workers(
        &mut self,
        ledger: &mut Ledger,
        unburied: &mut Vec<(usize, String)>,
        deaths: &mut Vec<String>,
    ) -> anyhow::Result<()> {
        for heard in self.pool.wait(Duration::ZERO)? {
            let (w, how) = match heard {
                Heard::Gone(w) => (w, crate::died(&mut self.pool, w)?),
                Heard::Silent(w, quiet) => (w, self.pool.kill_silent(w, quiet)?),
                Heard::Message(w, ()) => {
                    bail!("worker {w} sent a message on its channel")
                }
            };
            self.alive[w] = false;
            unburied.push((w, how));
        }
        let mut busy = Vec::new();
        for (w, how) in unburied.drain(..) {
            let lost = match self.medium.bury(w, &self.alive) {
                Buried::Busy => {
                    busy.push((w, how));
                    continue;
                }
                Buried::Held(seqs) => {
                    // Its last result may be waiting: count it first.
                    self.drain(ledger)?;
                    let lost: u64 = seqs.into_iter().map(|s| ledger.lose(s)).sum();
                    format!("its {lost} unfinished numbers went back on the queue")
                }
                Buried::Taken => {
                    // Results first, then the queue's length: whatever is
                    // out, not queued and not answered was taken by someone.
                    self.drain(ledger)?;
                    let queued = self.medium.queued()? as usize;
                    let out: Vec<u64> = ledger.out().collect();
                    let taken = &out[..out.len().saturating_sub(queued)];
                    let lost: u64 = taken.iter().map(|&s| ledger.lose(s)).sum();
                    format!(
                        "the {lost} numbers taken and unfinished, by it or by the \
                         others, went back on the queue"
                    )
                }
            };
            deaths.push(crate::bury(how, &lost, &self.alive, ledger)?);
        }
        *unburied = busy;
        Ok(())
    }
}

impl<M: Medium + std::fmt::Debug> Queue for SharedQueue<M> {
    // ANCHOR: round
    /// Keeps the queue full, counts results as they come, and sleeps when
    /// there is nothing to do until a result arrives.
    fn round(&mut self, numbers: Range<u64>, batch: u32) -> anyhow::Result<Round> {
        let mut ledger = Ledger::new(numbers, batch, self.pool.len(), self.last_seq);
        let (mut deaths, mut unburied) = (Vec::new(), Vec::new());
        let start = clock::now_ns();
        let mut checked = start;
        while !ledger.finished() {
            // Fill the queue, up to the window.
            let mut put = 0;
            while ledger.out_len() < M::WINDOW {
                let Some(task) = ledger.next() else { break };
                let job = Job::Check {
                    seq: task.seq,
                    numbers: task.numbers.clone(),
                };
                if !self.medium.put(job.encode())? {
                    ledger.unsend(task);
                    break;
                }
                put += 1;
            }
            if put > 0 {
                self.medium.wake_workers();
            }
            let got = self.drain(&mut ledger)?;
            let idle = put == 0 && got == 0;
            if idle || clock::now_ns() - checked > CHECK_EVERY.as_nanos() as u64 {
                self.check_workers(&mut ledger, &mut unburied, &mut deaths)?;
                checked = clock::now_ns();
            }
            if idle {
                let want = Want {
                    refill: ledger.has_more(),
                    out: ledger.out_len(),
                };
                self.medium.wait(CHECK_EVERY, want)?;
            }
        }
        self.last_seq = ledger.last_seq();
        Ok(Round::new(clock::now_ns() - start, ledger.tally, deaths))
    }
    // ANCHOR_END: round

    // ANCHOR: shutdown
    /// The text's shutdown: one pill per live worker, on the same queue,
    /// behind all the work. A worker that takes one exits; the parent waits
    /// for every live worker to end and checks that each ended cleanly.
    fn shut_down(mut self: Box<Self>) -> anyhow::Result<()> {
        let live: Vec<usize> =
            (0..self.pool.len()).filter(|&w| self.alive[w]).collect();
        let deadline = clock::now_ns() + 5_000_000_000;
        let mut pills = live.len();
        let mut ended = 0;
        while ended < live.len() {
            while pills > 0 && self.medium.put(Job::Stop.encode())? {
                pills -= 1;
            }
            self.medium.wake_workers();
            if clock::now_ns() > deadline {
                bail!(
                    "{} workers did not take their pill in 5 s",
                    live.len() - ended
                );
            }
            for heard in self.pool.wait(Duration::from_millis(10))? {
                match heard {
                    // A worker that took its pill exits, and its channel closes.
                    Heard::Gone(_) => ended += 1,
                    Heard::Silent(w, quiet) => {
                        let what = self.pool.kill_silent(w, quiet)?;
                        bail!("{what} before it took its pill")
                    }
                    Heard::Message(w, ()) => {
                        bail!("worker {w} sent a message on its channel")
                    }
                }
            }
        }
        crate::reap_all(&mut self.pool, &live)
    }
    // ANCHOR_END: shutdown
}
