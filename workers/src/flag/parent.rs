//! A flag parent's side: start the pool, hand over the flag, release the
//! workers together, time what the text argues about, and finish.

use super::{
    Counted, Counter, Measured, Order, Pool, Reply, SearchArgs, Timing, Work,
    WorkerRow,
};
use crate::clock;
use crate::pool::{Exit, Heard};
use crate::search::{Case, Outcome, Searched, StopFlag};
use anyhow::bail;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// A worker whose flag failed says why, then exits: its reason and its
/// death can arrive in one batch, in any order, and the reason is the one
/// line the run must print. So a `Failed` anywhere in `heard` comes first.
fn failed_first(heard: &[Heard<Reply>]) -> anyhow::Result<()> {
    match heard.iter().find_map(|h| match h {
        Heard::Message(w, Reply::Failed(why)) => Some((w, why)),
        _ => None,
    }) {
        Some((w, why)) => bail!("worker {w}: {why}"),
        None => Ok(()),
    }
}

/// One worker's search result and the moment it stopped.
type Stopped = (Searched, u64);

impl<H> Pool<H>
where
    H: Serialize + DeserializeOwned + Clone + Send + 'static,
{
    /// Starts `--workers` processes running this program's `worker`
    /// subcommand, to search what `args` ask for.
    ///
    /// With `--workload fraud` it first generates the transactions, in a
    /// memory file every worker then inherits (see [`crate::fraud`]).
    pub fn start<const K: u64>(
        args: &SearchArgs<K>,
        timing: &Timing,
    ) -> anyhow::Result<Self> {
        Self::start_with(args, timing, |_| Vec::new())
    }

    /// The same, with `extra(i)` added to worker `i`'s command line: for a
    /// program whose `worker` subcommand takes arguments of its own.
    pub fn start_with<const K: u64>(
        args: &SearchArgs<K>,
        timing: &Timing,
        extra: impl Fn(usize) -> Vec<String>,
    ) -> anyhow::Result<Self> {
        let work = Work::prepare(args)?;
        let workers =
            crate::pool::Pool::spawn(timing.workers(), timing.liveness, extra)?;
        Ok(Pool { workers, work })
    }

    /// Sends every worker what opens the flag, and waits until each has
    /// opened it; with `--workload fraud`, then until each has mapped the
    /// transactions.
    pub fn open_flag(&mut self, handle: &H) -> anyhow::Result<()> {
        self.tell_all(|_| Order::Open(handle.clone()))?;
        self.expect_all("opened the flag", |r| matches!(r, Reply::Opened))?;
        if let Some((fd, records)) = self.work.data_handle() {
            self.tell_all(|_| Order::Load { fd, records })?;
            self.expect_all("mapped the transactions", |r| {
                matches!(r, Reply::Loaded)
            })?;
        }
        Ok(())
    }

    /// One parallel search of the run's work, with the workers released
    /// together: each worker's result and stop time, and when the flag went
    /// up. With `raise_after`, the parent raises the flag itself that long
    /// after the release, and every worker searches a trial with nothing to
    /// find in full (so none can end before the flag does).
    fn search(
        &mut self,
        flag: &impl StopFlag,
        check_every: u64,
        raise_after: Option<Duration>,
    ) -> anyhow::Result<(Vec<Stopped>, Option<u64>)> {
        flag.lower()?;
        let w = self.len();
        let (task, trial) = match raise_after {
            Some(_) => {
                let (task, all) = self.work.trial();
                (task, Some(all))
            }
            None => (self.work.task(), None),
        };
        let ks = |i| trial.clone().unwrap_or_else(|| self.work.share(w, i));
        let orders: Vec<_> = (0..w).map(ks).collect();
        self.tell_all(|i| Order::Search {
            task,
            ks: orders[i].clone(),
            check_every,
        })?;
        // The start barrier: every worker has its order and said so.
        self.expect_all("got ready", |r| matches!(r, Reply::Ready))?;
        self.tell_all(|_| Order::Go)?;
        let mut raised = None;
        if let Some(pause) = raise_after {
            std::thread::sleep(pause);
            raised = Some(clock::now_ns());
            flag.raise()?;
        }
        let mut results = Vec::with_capacity(w);
        for reply in self.collect_all("searched")? {
            let Reply::Done {
                searched,
                stop_ns,
                raised_ns,
            } = reply
            else {
                bail!("expected a search result, got {reply:?}");
            };
            raised = raised.or(raised_ns);
            results.push((searched, stop_ns));
        }
        // Workers stopped and none found anything: the flag was raised by
        // someone outside the run (a Redis flag can be set by anyone).
        let found = results
            .iter()
            .any(|r| matches!(r.0.outcome, Outcome::Found(_)));
        let stopped = results.iter().any(|r| r.0.outcome == Outcome::Stopped);
        if raise_after.is_none() && stopped && !found {
            bail!(
                "stopped from outside: the flag was raised, and no worker had found anything"
            );
        }
        Ok((results, raised))
    }

    /// Searches the run's work (`args.workload`, `args.case`)
    /// `timing.repeats` times, timed, after one untimed search; then times
    /// one look at the flag, and how long a raised flag takes to stop every
    /// worker (`timing.trials` times).
    ///
    /// `flag` is the parent's own view of the flag: it lowers it before each
    /// search and raises it in the latency trials.
    pub fn measure<const K: u64>(
        &mut self,
        flag: &impl StopFlag,
        args: &SearchArgs<K>,
        timing: &Timing,
    ) -> anyhow::Result<Measured> {
        let check_every = args.check_every;
        // One search untimed: the first after start-up runs on cold caches and
        // cores that have not yet clocked up.
        self.search(flag, check_every, None)?;
        let mut timed = |k: u64| -> anyhow::Result<_> {
            let t = clock::now_ns();
            let (results, raised) = self.search(flag, k, None)?;
            let end = results.iter().map(|r| r.1).max().unwrap_or(t);
            Ok(((end - t) as f64, results, raised))
        };
        let (mut parallel, mut unchecked) = (Vec::new(), Vec::new());
        let (mut last, mut raised) = (Vec::new(), None);
        for _ in 0..timing.repeats {
            let ns;
            (ns, last, raised) = timed(check_every)?;
            parallel.push(ns);
            // The prime case (no fraud planted) never stops early, so it can
            // show the flag's whole cost: the same search never looking, timed
            // in turn with it.
            if args.case == Case::Prime {
                unchecked.push(timed(u64::MAX)?.0);
            }
        }
        let (check_ns, local_check_ns) = self.bench()?;
        let round_trip_ns = self.round_trips()?;
        let mut latency = Vec::new();
        let pause = Some(Duration::from_millis(1));
        for _ in 0..timing.trials {
            let (results, raised) = self.search(flag, check_every, pause)?;
            let raised = raised.expect("the parent raised the flag");
            if let Some(r) = results.iter().find(|r| r.0.outcome != Outcome::Stopped)
            {
                bail!("a latency trial ended without the flag: {:?}", r.0.outcome);
            }
            let end = results.iter().map(|r| r.1).max().unwrap_or(raised);
            latency.push(end.saturating_sub(raised) as f64);
        }
        let per_worker = (last.iter().enumerate())
            .map(|(i, (searched, stop))| WorkerRow {
                share: self.work.share(last.len(), i),
                searched: *searched,
                after_flag_ns: raised
                    .filter(|_| searched.outcome == Outcome::Stopped)
                    .map(|raised| stop.saturating_sub(raised)),
            })
            .collect();
        Ok(Measured {
            per_worker,
            parallel_ns: parallel,
            unchecked_ns: unchecked,
            check_ns,
            local_check_ns,
            round_trip_ns,
            stop_latency_ns: latency,
            work: self.work.clone(),
        })
    }

    /// Every worker adds one to the shared counter `times` times, all at once:
    /// first racily, then in one indivisible step. `counter` is the parent's
    /// own view of it, to reset and read.
    pub fn count(
        &mut self,
        counter: &impl Counter,
        times: u64,
    ) -> anyhow::Result<Counted> {
        let workers = self.len();
        let mut total = |racy| -> anyhow::Result<u64> {
            counter.reset()?;
            self.tell_all(|_| Order::Count { times, racy })?;
            self.expect_all("counted", |r| matches!(r, Reply::Counted))?;
            counter.get()
        };
        Ok(Counted {
            per_worker: times,
            expected: times * workers as u64,
            racy: total(true)?,
            atomic: total(false)?,
        })
    }

    /// The pill for every worker, then every answer, then reaping.
    pub fn finish(mut self) -> anyhow::Result<()> {
        self.tell_all(|_| Order::Stop)?;
        self.expect_all("answered the pill", |r| matches!(r, Reply::Finished))?;
        for w in 0..self.len() {
            let exit = self.reap(w, Duration::from_secs(5))?;
            if !exit.is_clean() {
                bail!("worker {w} {exit} after it finished");
            }
        }
        Ok(())
    }

    /// Sends every worker its order.
    fn tell_all(&mut self, order: impl Fn(usize) -> Order<H>) -> anyhow::Result<()> {
        (0..self.len()).try_for_each(|w| self.order(w, order(w)))
    }

    /// Sends worker `w` an order. A worker that cannot be reached has died:
    /// reap it and say how, rather than report a broken pipe.
    fn order(&mut self, w: usize, order: Order<H>) -> anyhow::Result<()> {
        if self.send(w, order).is_err() {
            return Err(self.died(w));
        }
        Ok(())
    }

    /// Waits for one reply from every worker, each of the kind `expected`.
    fn expect_all(
        &mut self,
        what: &str,
        expected: impl Fn(&Reply) -> bool,
    ) -> anyhow::Result<()> {
        for (w, reply) in self.collect_all(what)?.into_iter().enumerate() {
            if !expected(&reply) {
                bail!("worker {w} should have {what}, but said {reply:?}");
            }
        }
        Ok(())
    }

    /// Waits for one reply from every worker, in worker order. `what` names
    /// the step for error messages.
    fn collect_all(&mut self, what: &str) -> anyhow::Result<Vec<Reply>> {
        let mut replies: Vec<Option<Reply>> =
            (0..self.len()).map(|_| None).collect();
        let mut waiting = replies.len();
        while waiting > 0 {
            // A worker that dies closes its channel at once, one whose flag
            // fails says so (`failed_first`), and one that falls silent is
            // reported by `wait`.
            let heard = self.wait(Duration::from_millis(100))?;
            failed_first(&heard)?;
            for heard in heard {
                match heard {
                    Heard::Message(w, reply) if replies[w].is_none() => {
                        replies[w] = Some(reply);
                        waiting -= 1;
                    }
                    Heard::Message(w, reply) => {
                        bail!(
                            "worker {w} said {reply:?} before every worker had {what}"
                        )
                    }
                    // A worker exits right after `Finished`; its channel
                    // closing may be heard before the others have answered.
                    Heard::Gone(w)
                        if matches!(replies[w], Some(Reply::Finished)) => {}
                    Heard::Gone(w) => return Err(self.died(w)),
                    Heard::Silent(w, quiet) => return Err(self.silent(w, quiet)),
                }
            }
        }
        Ok(replies.into_iter().flatten().collect())
    }

    /// The next reply of worker 0, which alone was asked.
    fn collect_one(&mut self) -> anyhow::Result<Reply> {
        let heard = loop {
            let heard = self.wait(Duration::from_millis(100))?;
            failed_first(&heard)?;
            // Any worker's death ends the run, asked or not, and is reported
            // as a death, not as a message out of place.
            for h in &heard {
                match *h {
                    Heard::Gone(w) => return Err(self.died(w)),
                    Heard::Silent(w, quiet) => return Err(self.silent(w, quiet)),
                    Heard::Message(..) => {}
                }
            }
            match <[_; 1]>::try_from(heard) {
                Ok([one]) => break one,
                Err(heard) if heard.is_empty() => continue,
                Err(heard) => {
                    bail!("expected one reply from worker 0, heard {heard:?}")
                }
            }
        };
        match heard {
            Heard::Message(0, reply) => Ok(reply),
            Heard::Message(w, reply) => bail!("worker {w} said {reply:?} unasked"),
            Heard::Gone(_) | Heard::Silent(..) => unreachable!("handled above"),
        }
    }

    /// Reaps worker `w`, whose channel closed unexpectedly, and says how it died.
    fn died(&mut self, w: usize) -> anyhow::Error {
        let pid = self.pid(w);
        match self.reap(w, Duration::from_secs(2)) {
            Ok(Exit::Overstayed) => {
                anyhow::anyhow!(
                    "worker {w} (pid {pid}) hung up but did not exit; killed"
                )
            }
            Ok(how) => anyhow::anyhow!("worker {w} (pid {pid}) {how} mid-run"),
            Err(e) => e.context(format!("worker {w} (pid {pid}) vanished mid-run")),
        }
    }

    /// Kills and reaps worker `w`, silent for `quiet`, and says what that
    /// costs: a search needs every share.
    fn silent(&mut self, w: usize, quiet: Duration) -> anyhow::Error {
        match self.kill_silent(w, quiet) {
            Ok(what) => anyhow::anyhow!(
                "{what}: without its share no search can finish, so the run stops"
            ),
            Err(e) => {
                e.context(format!("worker {w} was silent and could not be reaped"))
            }
        }
    }

    /// One timed run of `iters` looks at the flag (or, `local`, at an atomic
    /// in the worker's own memory) inside worker 0: nanoseconds per look.
    fn bench_once(&mut self, iters: u64, local: bool) -> anyhow::Result<f64> {
        let samples = 1;
        self.order(
            0,
            Order::Bench {
                iters,
                samples,
                local,
            },
        )?;
        match self.collect_one()? {
            Reply::Bench(v) => Ok(v[0]),
            other => bail!("expected a benchmark, got {other:?}"),
        }
    }

    /// Nanoseconds per look at the flag and at the floor, sample by sample in
    /// turn, so that a noisy moment of the machine falls on both alike.
    fn bench(&mut self) -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
        // Each its own count: a look at a manager takes 100,000 times longer.
        let mut iters =
            |local| calibrate(|n| Ok(self.bench_once(n, local)? * n as f64));
        let (flag_iters, floor_iters) = (iters(false)?, iters(true)?);
        // Look, untimed, until the scheduler has settled. Right after the
        // searches, a manager or a Redis server may still share the asking
        // worker's core, where a round trip is a switch on one core; the
        // scheduler soon moves it to the idle one, and from then on a round
        // trip wakes another core, which costs about twice as much on this
        // book's machine. The move came 20 to 30 ms into the looks in the
        // runs where it came late; timed from the start, a run's median
        // depended on when.
        let settle = clock::now_ns();
        while clock::now_ns() - settle < SETTLE_NS {
            self.bench_once(flag_iters, false)?;
        }
        let (mut flag, mut floor) = (Vec::new(), Vec::new());
        for _ in 0..SAMPLES {
            flag.push(self.bench_once(flag_iters, false)?);
            floor.push(self.bench_once(floor_iters, true)?);
        }
        Ok((flag, floor))
    }

    /// Nanoseconds per ipc-channel round trip to worker 0, per sample.
    fn round_trips(&mut self) -> anyhow::Result<Vec<f64>> {
        let mut out = Vec::new();
        for _ in 0..SAMPLES {
            let (t, n) = (clock::now_ns(), 200);
            for _ in 0..n {
                self.order(0, Order::Ping)?;
                self.collect_one()?;
            }
            out.push((clock::now_ns() - t) as f64 / f64::from(n));
        }
        Ok(out)
    }
}

/// Samples per benchmark: enough for a median and a spread.
pub(super) const SAMPLES: u32 = 21;

/// Nanoseconds of untimed looks before a benchmark's samples: several times
/// the latest move of a round trip's server to the other core seen (`bench`).
const SETTLE_NS: u64 = 200_000_000;

/// The number of iterations that takes at least 2 ms, by doubling.
fn calibrate(
    mut time_ns: impl FnMut(u64) -> anyhow::Result<f64>,
) -> anyhow::Result<u64> {
    let mut iters = 64;
    while time_ns(iters)? < 2e6 && iters < 1 << 30 {
        iters *= 2;
    }
    Ok(iters)
}
