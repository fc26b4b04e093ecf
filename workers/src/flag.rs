//! What a flag chapter's program calls by name: its command-line options, the
//! orders a worker obeys, the parent's timed searches, and the report.
//!
//! A chapter owns its flag (how it is created, opened, looked at, raised) and
//! its `main` and `worker`. This module owns what every flag chapter does the
//! same way: it releases the workers together, times the searches against a
//! serial run, times one look at the flag, times how long a raised flag takes
//! to stop everyone, and prints what it found.
//!
//! The protocol, parent to worker: `Open(handle)` once, answered `Opened`;
//! then per search `Search`, answered `Ready`, and `Go` once every worker is
//! ready, answered `Done`; `Bench` and `Ping` for worker 0 alone; the pill,
//! `Stop`, answered `Finished`.

use crate::clock;
use crate::pool::{Exit, Heard, Liveness, WorkerArgs, WorkerEnd};
use crate::report::{Machine, Table, human_ns, print_json, ratio};
use crate::search::{
    Case, LocalFlag, Outcome, Searched, StopFlag, candidate, candidates, search,
    share,
};
use crate::stats::Summary;
use anyhow::bail;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::cell::Cell;
use std::ops::Range;
use std::time::Duration;

/// What to search and how often to look: `--case`, `--check-every`, `--json`.
///
/// `CHECK_EVERY` is the chapter's default interval: often enough to stop fast,
/// rarely enough that looking costs little. A dear flag wants a larger one.
#[derive(Debug, Clone, clap::Args)]
pub struct SearchArgs<const CHECK_EVERY: u64> {
    /// Which number to search: a prime (no early exit) or where the factor lies
    #[arg(long, value_enum, default_value_t = Case::Mid)]
    pub case: Case,
    /// Candidates to try between two looks at the flag
    #[arg(long, default_value_t = CHECK_EVERY, value_parser = clap::value_parser!(u64).range(1..=1_000_000_000))]
    pub check_every: u64,
    /// Print one JSON document instead of the text report
    #[arg(long)]
    pub json: bool,
}

/// How many workers, how much to time, and how long a worker may be silent:
/// `--workers`, `--repeats`, `--trials`, `--silence-ms`.
#[derive(Debug, Clone, clap::Args)]
pub struct Timing {
    /// Worker processes to start [default: the number of cores]
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub workers: Option<u16>,
    /// Searches to time (each one parallel and serial)
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub repeats: u32,
    /// Stop-latency trials: raise the flag, time until every worker stopped
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub trials: u32,
    #[command(flatten)]
    pub liveness: Liveness,
}

impl Timing {
    /// `--workers` if given, else one per core.
    pub fn workers(&self) -> usize {
        crate::worker_count(self.workers)
    }
}

/// Parent to worker. `H` is what a worker needs to open the flag: a name, a
/// path, a channel end.
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound = "")]
pub enum Order<H: Serialize + DeserializeOwned> {
    /// Open the flag; sent once, first.
    Open(H),
    /// Get ready to search candidates `ks` of `n`, looking at the flag every
    /// `check_every`; start at `Go`.
    Search {
        n: u64,
        ks: Range<u64>,
        check_every: u64,
    },
    /// Every worker is ready: start the search.
    Go,
    /// Time `samples` runs of `iters` looks at the flag, or with `local` at
    /// an atomic in the worker's own memory: the floor, timed the same way.
    Bench {
        iters: u64,
        samples: u32,
        local: bool,
    },
    /// Add one to a shared counter `times` times, racily or atomically: for
    /// the chapters that have a counter beside the flag.
    Count { times: u64, racy: bool },
    /// Answer `Pong` at once: one round trip, for scale.
    Ping,
    /// The poison pill.
    Stop,
}

/// Worker to parent.
#[derive(Debug, Serialize, Deserialize)]
pub enum Reply {
    /// The flag is open.
    Opened,
    /// Ready to search; waiting for `Go`.
    Ready,
    /// A search ended at `stop_ns` on the shared monotonic clock; the finder
    /// also says when it raised the flag.
    Done {
        searched: Searched,
        stop_ns: u64,
        raised_ns: Option<u64>,
    },
    /// Nanoseconds per look at the flag, one value per sample.
    Bench(Vec<f64>),
    /// The counting is done.
    Counted,
    Pong,
    /// The answer to the pill.
    Finished,
    /// The flag failed (its server died, say): why, in one line.
    Failed(String),
}

/// The pool of workers a flag chapter's parent runs.
pub type Pool<H> = crate::pool::Pool<Order<H>, Reply>;

/// A worker's link to its parent.
#[derive(Debug)]
pub struct Parent<H: Serialize + DeserializeOwned> {
    end: WorkerEnd<Reply, Order<H>>,
}

impl<H: Serialize + DeserializeOwned> Parent<H> {
    /// Connects to the parent and receives what opens the flag.
    pub fn connect(link: &WorkerArgs) -> anyhow::Result<(Self, H)> {
        let end = WorkerEnd::connect(link)?;
        let Ok(Order::Open(handle)) = end.down.recv() else {
            bail!("the parent sent no flag");
        };
        Ok((Parent { end }, handle))
    }

    /// Tells the parent this worker has opened the flag.
    pub fn opened(&self) -> anyhow::Result<()> {
        self.reply(Reply::Opened)
    }

    /// Sends the parent a reply.
    pub fn reply(&self, reply: Reply) -> anyhow::Result<()> {
        self.end.up.send(reply)
    }

    /// The parent's next order; `None` after the pill (answered here) or
    /// when the parent is gone.
    pub fn next_order(&self) -> anyhow::Result<Option<Order<H>>> {
        match self.end.down.recv() {
            Ok(Order::Stop) => {
                self.reply(Reply::Finished)?;
                Ok(None)
            }
            Ok(order) => Ok(Some(order)),
            // The parent is gone: nobody is left to answer.
            Err(_) => Ok(None),
        }
    }

    /// Obeys every order with `flag` until the pill.
    pub fn serve(&self, flag: &impl StopFlag) -> anyhow::Result<()> {
        while let Some(order) = self.next_order()? {
            self.obey(order, flag)?;
        }
        Ok(())
    }

    /// Carries out one order with `flag` and answers it. A flag that fails
    /// is reported to the parent, and the worker exits with status 1.
    pub fn obey(&self, order: Order<H>, flag: &impl StopFlag) -> anyhow::Result<()> {
        let reply = match order {
            Order::Search { n, ks, check_every } => {
                // The start barrier: nobody searches before everyone is ready.
                self.reply(Reply::Ready)?;
                match self.end.down.recv() {
                    Ok(Order::Go) => timed_search(n, ks, check_every, flag),
                    Ok(_) => bail!("the parent broke the protocol: expected Go"),
                    Err(_) => return Ok(()), // the parent is gone
                }
            }
            Order::Bench {
                iters,
                samples,
                local,
            } => {
                let timed = if local {
                    bench(&LocalFlag::default(), iters, samples)
                } else {
                    bench(flag, iters, samples)
                };
                timed.map_or_else(|e| Reply::Failed(format!("{e:#}")), Reply::Bench)
            }
            Order::Ping => Reply::Pong,
            Order::Count { .. } => Reply::Failed("this flag has no counter".into()),
            Order::Open(_) | Order::Go | Order::Stop => {
                bail!("the parent broke the protocol: an order out of place")
            }
        };
        let failed = matches!(reply, Reply::Failed(_));
        self.reply(reply)?;
        if failed {
            // The parent prints why; this process has nothing to add.
            std::process::exit(1);
        }
        Ok(())
    }
}

/// Runs the search with a flag that notes when it was raised, and says how
/// it ended and when.
fn timed_search(
    n: u64,
    ks: Range<u64>,
    check_every: u64,
    flag: &impl StopFlag,
) -> Reply {
    let flag = Timed {
        flag,
        raised_ns: Cell::new(None),
    };
    let r = search(n, ks, check_every, &flag);
    let stop_ns = clock::now_ns();
    match r {
        Ok(searched) => Reply::Done {
            searched,
            stop_ns,
            raised_ns: flag.raised_ns.get(),
        },
        Err(e) => Reply::Failed(format!("{e:#}")),
    }
}

/// A flag that stamps the moment it is raised, just before raising it.
struct Timed<'a, V> {
    flag: &'a V,
    raised_ns: Cell<Option<u64>>,
}

impl<V: StopFlag> StopFlag for Timed<'_, V> {
    fn is_set(&self) -> anyhow::Result<bool> {
        self.flag.is_set()
    }
    fn raise(&self) -> anyhow::Result<()> {
        self.raised_ns.set(Some(clock::now_ns()));
        self.flag.raise()
    }
    fn lower(&self) -> anyhow::Result<()> {
        self.flag.lower()
    }
}

/// Nanoseconds per `is_set`, over `samples` runs of `iters` calls.
fn bench(
    flag: &impl StopFlag,
    iters: u64,
    samples: u32,
) -> anyhow::Result<Vec<f64>> {
    let mut out = Vec::with_capacity(samples as usize);
    for _ in 0..samples {
        let t = clock::now_ns();
        for _ in 0..iters {
            std::hint::black_box(std::hint::black_box(flag).is_set()?);
        }
        out.push((clock::now_ns() - t) as f64 / iters as f64);
    }
    Ok(out)
}

/// A counter beside the flag (chapters 3 and 4), to show what "race
/// conditions possible" means for shared state: with `--count N` every worker
/// adds one N times, first in two steps, then in one.
pub trait Counter {
    /// Reads the counter, then writes back one more: another process can come
    /// between the two steps, and then one of the two additions is lost.
    fn add_racy(&self) -> anyhow::Result<()>;
    /// Adds one in a single step no other process can come between.
    fn add_atomic(&self) -> anyhow::Result<()>;
    /// The counter's value.
    fn get(&self) -> anyhow::Result<u64>;
    /// Sets it back to zero.
    fn reset(&self) -> anyhow::Result<()>;
}

impl<H: Serialize + DeserializeOwned> Parent<H> {
    /// Obeys `Order::Count`: adds one `times` times to `counter`, then answers.
    pub fn count(
        &self,
        counter: &impl Counter,
        times: u64,
        racy: bool,
    ) -> anyhow::Result<()> {
        let add = || match racy {
            true => counter.add_racy(),
            false => counter.add_atomic(),
        };
        let reply = match (0..times).try_for_each(|_| add()) {
            Ok(()) => Reply::Counted,
            Err(e) => Reply::Failed(format!("{e:#}")),
        };
        self.reply(reply)
    }
}

/// One worker's search result and the moment it stopped.
type Stopped = (Searched, u64);

impl<H> Pool<H>
where
    H: Serialize + DeserializeOwned + Clone + Send + 'static,
{
    /// Starts `--workers` processes running this program's `worker`
    /// subcommand.
    pub fn start(timing: &Timing) -> anyhow::Result<Self> {
        Self::spawn(timing.workers(), timing.liveness, |_| Vec::new())
    }

    /// Sends every worker what opens the flag, and waits until each has
    /// opened it.
    pub fn open_flag(&mut self, handle: &H) -> anyhow::Result<()> {
        self.tell_all(|_| Order::Open(handle.clone()))?;
        self.expect_all("opened the flag", |r| matches!(r, Reply::Opened))
    }

    /// One parallel search of `n`, with the workers released together: each
    /// worker's result and stop time, and when the flag went up. With
    /// `raise_after`, the parent raises the flag itself that long after the
    /// release, and every worker searches every candidate (so none can end
    /// before the flag does).
    fn search(
        &mut self,
        flag: &impl StopFlag,
        n: u64,
        check_every: u64,
        raise_after: Option<Duration>,
    ) -> anyhow::Result<(Vec<Stopped>, Option<u64>)> {
        flag.lower()?;
        let w = self.len();
        let ks = |i| match raise_after {
            Some(_) => 0..candidates(n),
            None => share(n, w, i),
        };
        self.tell_all(|i| Order::Search {
            n,
            ks: ks(i),
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
                "stopped from outside: the flag was raised, and no worker had found a factor"
            );
        }
        Ok((results, raised))
    }

    /// Searches `search.case` `timing.repeats` times, timed, after one untimed
    /// search; then times one look at the flag, and how long a raised flag
    /// takes to stop every worker (`timing.trials` times).
    ///
    /// `flag` is the parent's own view of the flag: it lowers it before each
    /// search and raises it in the latency trials.
    pub fn measure<const K: u64>(
        &mut self,
        flag: &impl StopFlag,
        args: &SearchArgs<K>,
        timing: &Timing,
    ) -> anyhow::Result<Measured> {
        let (n, _) = args.case.number();
        let check_every = args.check_every;
        // One search untimed: the first after start-up runs on cold caches and
        // cores that have not yet clocked up.
        self.search(flag, n, check_every, None)?;
        let mut timed = |k: u64| -> anyhow::Result<_> {
            let t = clock::now_ns();
            let (results, raised) = self.search(flag, n, k, None)?;
            let end = results.iter().map(|r| r.1).max().unwrap_or(t);
            Ok(((end - t) as f64, results, raised))
        };
        let (mut parallel, mut unchecked) = (Vec::new(), Vec::new());
        let (mut last, mut raised) = (Vec::new(), None);
        for _ in 0..timing.repeats {
            let ns;
            (ns, last, raised) = timed(check_every)?;
            parallel.push(ns);
            // The prime case never stops early, so it can show the flag's
            // whole cost: the same search never looking, timed in turn with it.
            if args.case == Case::Prime {
                unchecked.push(timed(u64::MAX)?.0);
            }
        }
        let (check_ns, local_check_ns) = self.bench()?;
        let round_trip_ns = self.round_trips()?;
        let mut latency = Vec::new();
        let spin = Case::Prime.number().0;
        let pause = Some(Duration::from_millis(1));
        for _ in 0..timing.trials {
            let (results, raised) = self.search(flag, spin, check_every, pause)?;
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
                share: share(n, last.len(), i),
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
            // fails says so, and one that falls silent is reported by `wait`.
            for heard in self.wait(Duration::from_millis(100))? {
                match heard {
                    Heard::Message(w, Reply::Failed(why)) => {
                        bail!("worker {w}: {why}")
                    }
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
            Heard::Message(0, Reply::Failed(why)) => bail!("worker 0: {why}"),
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
const SAMPLES: u32 = 21;

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

/// What [`Pool::measure`] took, in nanoseconds, before it is summarized.
#[derive(Debug)]
pub struct Measured {
    per_worker: Vec<WorkerRow>,
    parallel_ns: Vec<f64>,
    unchecked_ns: Vec<f64>,
    check_ns: Vec<f64>,
    local_check_ns: Vec<f64>,
    round_trip_ns: Vec<f64>,
    stop_latency_ns: Vec<f64>,
}

impl Measured {
    /// Times the same search serially in this process (no flag, no workers),
    /// checks the factor found against the known one, and makes the report.
    /// `what` says what the flag is, in a few words.
    pub fn report<const K: u64>(
        self,
        what: &str,
        args: &SearchArgs<K>,
        timing: &Timing,
        counted: Option<Counted>,
    ) -> anyhow::Result<Report> {
        let (n, _) = args.case.number();
        let serial = (0..timing.repeats)
            .map(|_| {
                let t = clock::now_ns();
                search(n, 0..candidates(n), u64::MAX, &LocalFlag::default())
                    .map(|_| (clock::now_ns() - t) as f64)
            })
            .collect::<anyhow::Result<Vec<f64>>>()?;
        let factor = self
            .per_worker
            .iter()
            .find_map(|w| match w.searched.outcome {
                Outcome::Found(d) => Some(d),
                _ => None,
            });
        args.case.confirm(factor)?;
        let summary = |s: &[f64]| Summary::of(s).expect("at least one sample");
        Ok(Report {
            machine: Machine::here(),
            flag: what.to_string(),
            case: args.case,
            n,
            workers: self.per_worker.len(),
            check_every: args.check_every,
            factor,
            wasted_ns: self.per_worker.iter().filter_map(|w| w.after_flag_ns).sum(),
            per_worker: self.per_worker,
            parallel_ns: summary(&self.parallel_ns),
            serial_ns: summary(&serial),
            unchecked_ns: Summary::of(&self.unchecked_ns),
            check_ns: summary(&self.check_ns),
            local_check_ns: summary(&self.local_check_ns),
            round_trip_ns: summary(&self.round_trip_ns),
            stop_latency_ns: summary(&self.stop_latency_ns),
            counted,
        })
    }
}

/// Everything one run of a flag chapter measured, as `--json` prints it.
///
/// `cargo xtask` reads the same type back from `book/src/measured/` for the
/// book's tables and charts. Times are nanoseconds; a [`Summary`] is over
/// the searches timed (`--repeats`), the samples of one look, or the stop
/// trials (`--trials`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// The machine the run was measured on.
    pub machine: Machine,
    /// What the flag is, in a few words.
    pub flag: String,
    /// The number searched, by name.
    pub case: Case,
    /// The number searched.
    pub n: u64,
    /// Worker processes started.
    pub workers: usize,
    /// Candidates a worker tries between looks at the flag.
    pub check_every: u64,
    /// The smallest factor found, if any.
    pub factor: Option<u64>,
    /// Each worker's last search, by worker index.
    pub per_worker: Vec<WorkerRow>,
    /// Wall time of the parallel search, flag checked every `check_every`.
    pub parallel_ns: Summary,
    /// The same search in one process, with no flag at all.
    pub serial_ns: Summary,
    /// Prime case only: the parallel search never looking at the flag.
    pub unchecked_ns: Option<Summary>,
    /// Nanoseconds per look at this flag, from a worker.
    pub check_ns: Summary,
    /// The floor: nanoseconds per atomic load in the process's own memory.
    pub local_check_ns: Summary,
    /// For scale: nanoseconds of one ipc-channel message there and back.
    pub round_trip_ns: Summary,
    /// Nanoseconds from raising the flag to every worker stopped.
    pub stop_latency_ns: Summary,
    /// Nanoseconds of worker time spent after the flag went up, summed over
    /// the workers of the last search.
    pub wasted_ns: u64,
    /// With `--count`: what the shared counter said.
    pub counted: Option<Counted>,
}

/// The lost-update demonstration: every worker added one `per_worker` times.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Counted {
    /// Adds each worker made.
    pub per_worker: u64,
    /// What a counter that lost nothing would say.
    pub expected: u64,
    /// Read, then write back one more.
    pub racy: u64,
    /// One indivisible step.
    pub atomic: u64,
}

/// One worker's part of the last timed search.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerRow {
    /// The candidate numbers it was given.
    pub share: Range<u64>,
    pub searched: Searched,
    /// Nanoseconds after the finder raised the flag that this worker
    /// stopped; none unless the flag is what stopped it.
    pub after_flag_ns: Option<u64>,
}

impl Report {
    /// What looking at the flag added to the parallel search, in percent of
    /// the same search never looking (medians). `None` unless the run
    /// timed that search (the prime case does).
    pub fn overhead_pct(&self) -> Option<f64> {
        let never = self.unchecked_ns.as_ref()?.median;
        Some((self.parallel_ns.median - never) / never * 100.0)
    }

    /// Prints the report: one JSON document with `json`, else words and tables.
    pub fn print(&self, json: bool) -> anyhow::Result<()> {
        if json {
            return print_json(self);
        }
        let r = self;
        let last = candidate(candidates(r.n) - 1);
        println!(
            "Is {} prime? {} worker processes try every odd divisor from 3 to\n\
             {last}, each its own slice, looking at the stop flag every {} candidates.\n\
             The flag: {}.\n",
            r.n, r.workers, r.check_every, r.flag
        );
        match r.factor {
            Some(d) => println!("Found: {} = {d} x {}.\n", r.n, r.n / d),
            None => println!(
                "No divisor: {} is prime. Every look at the flag was overhead.\n",
                r.n
            ),
        }
        let mut t =
            Table::new(["worker", "divisors", "tried", "ended", "after the flag"]);
        for (i, w) in r.per_worker.iter().enumerate() {
            let (a, b) =
                (candidate(w.share.start), candidate(w.share.end.max(1) - 1));
            let ended = match w.searched.outcome {
                Outcome::Found(_) => "found it",
                Outcome::Stopped => "stopped",
                Outcome::Exhausted => "finished",
            };
            let after = w.after_flag_ns.map_or("-".into(), |ns| human_ns(ns as f64));
            t.row([
                i.to_string(),
                format!("{a}..={b}"),
                w.searched.checked.to_string(),
                ended.into(),
                after,
            ]);
        }
        print!("{t}");
        let spread = |s: &Summary| {
            format!(
                "{} ({} to {})",
                human_ns(s.median),
                human_ns(s.min),
                human_ns(s.max)
            )
        };
        println!("\nWall time, median of {} (min to max):", r.parallel_ns.n);
        let mut t = Table::new(["", "time"]);
        t.row(["parallel, with the flag".into(), spread(&r.parallel_ns)]);
        if let Some(u) = &r.unchecked_ns {
            t.row(["parallel, never looking".into(), spread(u)]);
        }
        t.row(["serial, one process".into(), spread(&r.serial_ns)]);
        print!("{t}");
        println!(
            "Parallel against serial: {}.",
            ratio(r.serial_ns.median / r.parallel_ns.median)
        );
        if let Some(overhead) = r.overhead_pct() {
            println!("Looking at the flag cost {overhead:+.1}% of the search time.");
        }
        println!(
            "\nOne look at the flag, median of {SAMPLES} samples (min to max):"
        );
        let mut t = Table::new(["", "time"]);
        t.row([format!("this flag: {}", r.flag), spread(&r.check_ns)]);
        t.row([
            "floor: atomic load in own memory".into(),
            spread(&r.local_check_ns),
        ]);
        t.row([
            "scale: ipc-channel round trip".into(),
            spread(&r.round_trip_ns),
        ]);
        print!("{t}");
        let l = &r.stop_latency_ns;
        println!(
            "\nFlag raised to every worker stopped, over {} trials: p50 {}, p99 {}, max {}.",
            l.n,
            human_ns(l.median),
            human_ns(l.p99),
            human_ns(l.max)
        );
        if r.factor.is_some() {
            println!(
                "Work wasted after the find: {} of worker time.",
                human_ns(r.wasted_ns as f64)
            );
        }
        if let Some(c) = &r.counted {
            println!(
                "\nA shared counter: {} workers each add one {} times (expected {}).",
                r.workers, c.per_worker, c.expected
            );
            let lost = |got: u64| c.expected.saturating_sub(got).to_string();
            let mut t = Table::new(["", "counter", "lost updates"]);
            t.row([
                "read, then write back one more".into(),
                c.racy.to_string(),
                lost(c.racy),
            ]);
            t.row([
                "add in one indivisible step".into(),
                c.atomic.to_string(),
                lost(c.atomic),
            ]);
            print!("{t}");
        }
        Ok(())
    }
}
