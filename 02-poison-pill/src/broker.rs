//! The parent's bookkeeping: the workers, what each holds, what came back.
//!
//! Every demonstration starts workers, hands them batches and hears their
//! replies the same way, so that is here once. What the chapter is about,
//! how the parent ends its workers, is `Broker::shut_down` in main.rs.

use crate::cli::RunArgs;
use crate::{Job, Reply, crash};
use anyhow::Context;
use std::collections::VecDeque;
use std::time::Duration;
use workers::pool::{Heard, Liveness, Pool};
use workers::{clock, interrupt};

/// Batches a worker holds at once: one in hand, one waiting behind it.
const DEPTH: usize = 2;

/// The parent's side: the workers, what each holds, and what came back.
#[derive(Debug)]
pub struct Broker {
    /// The worker processes, and the parent's ends of their channels.
    pub pool: Pool<Job, Reply>,
    /// Batches each worker holds, oldest first: its next `Done` is the front.
    pub held: Vec<VecDeque<Vec<u64>>>,
    /// Primes each worker sent from its oldest batch, kept aside until that
    /// batch is done: a batch whose worker dies midway is redone whole, and
    /// its primes must not count twice.
    pub found: Vec<Vec<u64>>,
    /// Primes of finished batches: the results.
    pub primes: Vec<u64>,
    /// Numbers each worker finished.
    pub tasks: Vec<u64>,
    /// Still running, as far as the parent knows.
    pub alive: Vec<bool>,
    /// Answered the pill.
    pub finished: Vec<bool>,
    /// Its channel closed: it exited, or died.
    pub gone: Vec<bool>,
    /// When each worker answered the pill or hung up, ns after the shutdown began.
    pub answered_ns: Vec<Option<u64>>,
    /// When the last result arrived, on the shared clock.
    pub last_result_ns: u64,
    /// Workers that died while there was work, and what became of it.
    pub deaths: Vec<String>,
    /// For a worker reported silent, killed and reaped: who it was, in words.
    pub silent: Vec<Option<String>>,
}

impl Broker {
    /// Starts `workers` worker processes; `crash` names one that is to crash.
    pub fn start(
        workers: usize,
        crash: Option<usize>,
        liveness: Liveness,
    ) -> anyhow::Result<Broker> {
        let pool = Pool::spawn(workers, liveness, |w| crash::flags(crash, w))?;
        Ok(Broker {
            pool,
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
            silent: vec![None; workers],
        })
    }

    /// Hands out every batch of `queue`, refilling each worker as it replies,
    /// until the queue is empty or Ctrl-C asks to stop feeding.
    pub fn feed(&mut self, queue: &mut VecDeque<Vec<u64>>) -> anyhow::Result<()> {
        self.top_up(queue)?;
        while !queue.is_empty() && interrupt::stop_requested().is_none() {
            for heard in self.pool.wait(Duration::from_millis(20))? {
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
        for w in 0..self.pool.len() {
            while self.alive[w] && self.held[w].len() < DEPTH {
                let Some(batch) = queue.pop_front() else {
                    return Ok(());
                };
                if self.pool.send(w, Job::Check(batch.clone())).is_err() {
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

    /// Takes in one reply or hang-up. A worker that hung up with work in
    /// hand gives back that work, as one batch; so does one that fell silent,
    /// which is killed first. `since` (the start of the shutdown) is when
    /// answers are timed from.
    pub fn hear(
        &mut self,
        heard: Heard<Reply>,
        since: Option<u64>,
    ) -> anyhow::Result<Option<(usize, Vec<u64>)>> {
        let after = |since: Option<u64>| since.map(|t| clock::now_ns() - t);
        match heard {
            Heard::Message(w, Reply::Prime(p)) => self.found[w].push(p),
            Heard::Message(w, Reply::Done) => {
                let batch = self.held[w].pop_front().with_context(|| {
                    format!("worker {w} finished a batch it never had")
                })?;
                self.tasks[w] += batch.len() as u64;
                self.primes.append(&mut self.found[w]);
                self.last_result_ns = clock::now_ns();
            }
            Heard::Message(w, Reply::Finished) => {
                self.finished[w] = true;
                self.answered_ns[w] = after(since);
            }
            Heard::Silent(w, quiet) => {
                let who = self.pool.kill_silent(w, quiet)?;
                self.gone[w] = true;
                self.alive[w] = false;
                self.found[w].clear();
                let lost: Vec<u64> = self.held[w].drain(..).flatten().collect();
                if lost.is_empty() {
                    self.deaths.push(format!("{who}; it held no numbers"));
                    return Ok(None);
                }
                self.silent[w] = Some(who);
                return Ok(Some((w, lost)));
            }
            Heard::Gone(w) => {
                self.gone[w] = true;
                self.alive[w] = false;
                if self.answered_ns[w].is_none() {
                    self.answered_ns[w] = after(since);
                }
                // Its primes from an unfinished batch do not count: the batch
                // is done again whole, or lost whole.
                self.found[w].clear();
                let lost: Vec<u64> = self.held[w].drain(..).flatten().collect();
                if !lost.is_empty() {
                    return Ok(Some((w, lost)));
                }
                // Gone while the queue is being fed, with nothing in hand: a
                // death all the same (at start-up, say), and reported.
                if since.is_none() {
                    self.bury(w, "it held no numbers".into())?;
                }
            }
        }
        Ok(None)
    }

    /// Reaps worker `w`, which died with work in hand, and notes what
    /// became of the work.
    pub fn bury(&mut self, w: usize, fate: String) -> anyhow::Result<()> {
        let who = match self.silent[w].take() {
            Some(silent) => silent,
            None => {
                let how = self.pool.reap(w, Duration::from_secs(2))?;
                let pid = self.pool.pid(w);
                format!("worker {w} (pid {pid}) {how} mid-run")
            }
        };
        self.deaths.push(format!("{who}; {fate}"));
        Ok(())
    }
}

/// The numbers `from..to`, in batches of `batch`: the queue.
pub fn batches(args: &RunArgs) -> VecDeque<Vec<u64>> {
    let numbers: Vec<u64> = (args.from..args.to).collect();
    numbers
        .chunks(args.batch as usize)
        .map(<[u64]>::to_vec)
        .collect()
}
