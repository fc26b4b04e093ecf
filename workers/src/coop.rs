//! The program every flag chapter runs, generic over the flag.
//!
//! A chapter implements [`SharedFlag`] (how its flag is created, handed to a
//! worker, opened there, and lowered again) and calls [`main`]. This module
//! does the rest: it starts the workers, runs the search of [`crate::search`],
//! and measures what the text argues about: the cost of one look at the flag,
//! how long a raised flag takes to stop everyone, the work wasted meanwhile,
//! and the time against a serial run.

use crate::crew::{Crew, Heard, Inbox, WorkerArgs, WorkerEnd};
use crate::report::{Machine, Table, human_ns, print_json, ratio};
use crate::search::{
    Case, LocalFlag, Outcome, Searched, StopFlag, candidate, candidates, search,
    share,
};
use crate::stats::Summary;
use crate::{clock, interrupt};
use anyhow::bail;
use clap::{Parser, Subcommand};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::cell::Cell;
use std::ops::Range;
use std::process::ExitCode;
use std::time::Duration;

/// A stop flag that worker processes share: what each chapter teaches.
pub trait SharedFlag: Sized {
    /// What the flag is, in a few words, for reports.
    const WHAT: &'static str;
    /// What a worker needs to open the flag: a name, a path, a channel.
    type Handle: Serialize + DeserializeOwned + Send + 'static;
    /// The flag as a process holds it.
    type View: StopFlag + Counter;
    /// Command-line arguments of this flag alone (a server's address, say);
    /// [`NoArgs`] for none.
    type Args: clap::Args + Clone + std::fmt::Debug;
    /// Whether `View` has a real counter, for `--count` (see [`Counter`]).
    const HAS_COUNTER: bool = false;
    /// The default of `--check-every`: often enough to stop fast, rarely
    /// enough that looking costs little. A dear flag wants a larger one.
    const CHECK_EVERY: u64 = 1000;
    /// In the parent: creates a new, lowered flag, unique to this run.
    fn create(args: &Self::Args) -> anyhow::Result<Self>;
    /// In the parent: what to send each worker so it can open the flag.
    fn handle(&self) -> Self::Handle;
    /// In any process: opens the flag from its handle.
    fn open(handle: Self::Handle) -> anyhow::Result<Self::View>;
    /// In the parent, through its own view: lowers the flag again between
    /// searches. (The search itself only ever raises it.)
    fn lower(mine: &Self::View) -> anyhow::Result<()>;
    /// In a worker, before each search: bring a view that caches the flag up
    /// to date. (A view that reads the shared flag on every look needs nothing.)
    fn begin(_view: &Self::View) -> anyhow::Result<()> {
        Ok(())
    }
    /// More to say at the end of `--help`: other ways to run the program.
    const ALSO: &'static str = "";
    /// In the parent: every worker has opened the flag. A flag reached by a
    /// name can drop the name now, so nothing is left even if the parent is
    /// killed outright.
    fn all_opened(&mut self) -> anyhow::Result<()> {
        Ok(())
    }
    /// In a helper process the flag needs (a manager, say), started as the
    /// hidden `serve` subcommand: serve until the parent goes.
    fn serve(_link: &WorkerArgs) -> anyhow::Result<()> {
        bail!("this program has no server process")
    }
}

/// A counter beside the flag, to show what "unsafe" means for shared state:
/// `--count N` has every worker add one N times, first in two steps (read,
/// then write back one more), then in one indivisible step.
pub trait Counter {
    /// Reads the counter, then writes back one more: another process can come
    /// between the two steps, and then one of the two additions is lost.
    fn bump_racy(&self) -> anyhow::Result<()> {
        bail!("this flag has no counter")
    }
    /// Adds one in a single step no other process can come between.
    fn bump_atomic(&self) -> anyhow::Result<()> {
        bail!("this flag has no counter")
    }
    /// The counter's value.
    fn count(&self) -> anyhow::Result<u64> {
        bail!("this flag has no counter")
    }
    /// Sets the counter back to zero.
    fn reset(&self) -> anyhow::Result<()> {
        bail!("this flag has no counter")
    }
}

/// The command line every flag chapter shares, and the flag's own arguments.
#[derive(Debug, Parser)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli<A: clap::Args> {
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub flag: A,
    #[command(subcommand)]
    role: Option<Role>,
}

/// The arguments of a flag that needs none.
#[derive(Debug, Clone, clap::Args)]
pub struct NoArgs {}

#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Worker processes to start [default: the number of cores]
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub workers: Option<u16>,
    /// Which number to search: a prime (no early exit) or where the factor lies
    #[arg(long, value_enum, default_value_t = Case::Mid)]
    pub case: Case,
    /// Candidates to try between two looks at the flag
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1_000_000_000))]
    pub check_every: Option<u64>,
    /// Searches to time (each one parallel and serial)
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub repeats: u32,
    /// Stop-latency trials: raise the flag, time until every worker stopped
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub trials: u32,
    /// Also have every worker add one to a shared counter this many times,
    /// racily and then atomically, and count the lost updates
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub count: Option<u64>,
    /// Print one JSON document instead of the text report
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
enum Role {
    /// Internal: run as a worker process (started by the parent).
    #[command(hide = true)]
    Worker {
        #[command(flatten)]
        link: WorkerArgs,
    },
    /// Internal: run the flag's helper process (started by the parent).
    #[command(hide = true)]
    Serve {
        #[command(flatten)]
        link: WorkerArgs,
    },
}

/// Parent to worker.
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound = "")]
enum Order<H: Serialize + DeserializeOwned> {
    /// Open the flag; sent once, first.
    Open(H),
    /// Search candidates `ks` of `n`, looking at the flag every `check_every`.
    Search {
        n: u64,
        ks: Range<u64>,
        check_every: u64,
    },
    /// The same, but say `Ready` first: the parent will raise the flag itself.
    Spin {
        n: u64,
        ks: Range<u64>,
        check_every: u64,
    },
    /// Time `samples` runs of `iters` looks at the flag, or with `local` at
    /// an atomic in the worker's own memory: the floor, timed the same way.
    Bench {
        iters: u64,
        samples: u32,
        local: bool,
    },
    /// Add one to the shared counter `times` times, racily or atomically.
    Count { times: u64, racy: bool },
    /// Answer `Pong` at once: one round trip, for scale.
    Ping,
    /// The poison pill.
    Stop,
}

/// Worker to parent.
#[derive(Debug, Serialize, Deserialize)]
enum Reply {
    Opened,
    Ready,
    /// A search ended at `stop_ns` on the shared monotonic clock; the
    /// finder also says when it raised the flag.
    Done {
        searched: Searched,
        stop_ns: u64,
        raised_ns: Option<u64>,
    },
    /// Nanoseconds per look at the flag, one value per sample.
    Bench(Vec<f64>),
    Pong,
    Counted,
    Finished,
    /// The flag failed (its server died, say): why, in one line.
    Failed(String),
}

/// Runs a flag chapter: the parent by default, a worker when told so.
pub fn main<F: SharedFlag>() -> ExitCode {
    use clap::{CommandFactory, FromArgMatches};
    // The default check interval is the chapter's; setting it here also
    // shows it in `--help`.
    let every = F::CHECK_EVERY;
    let matches = Cli::<F::Args>::command()
        .about(format!(
            "Workers search for a factor and stop early on a shared flag: {}.",
            F::WHAT
        ))
        .after_help((!F::ALSO.is_empty()).then_some(F::ALSO))
        .mut_arg("check_every", |a| {
            a.default_value(every.to_string()).help(format!(
                "Candidates to try between two looks at the flag [default: {every}]"
            ))
        })
        .get_matches();
    let cli =
        Cli::<F::Args>::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let result = match cli.role {
        Some(Role::Worker { link }) => worker::<F>(&link),
        Some(Role::Serve { link }) => F::serve(&link),
        None => {
            if cli.run.count.is_some() && !F::HAS_COUNTER {
                // Name the program as the user typed it, not this library.
                let argv0 = std::env::args().next().unwrap_or_default();
                let name = std::path::Path::new(&argv0)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned());
                Cli::<F::Args>::command()
                    .bin_name(name.unwrap_or_default())
                    .error(
                        clap::error::ErrorKind::ArgumentConflict,
                        "--count needs a counter beside the flag; chapters 3 and 4 have one",
                    )
                    .exit();
            }
            crate::warn_if_unoptimized();
            interrupt::install().and_then(|()| parent::<F>(&cli.run, &cli.flag))
        }
    };
    interrupt::defer_to_signal();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn worker<F: SharedFlag>(link: &WorkerArgs) -> anyhow::Result<()> {
    let end = WorkerEnd::<Reply, Order<F::Handle>>::connect(link)?;
    let Ok(Order::Open(handle)) = end.down.recv() else {
        bail!("the parent sent no flag");
    };
    let flag = F::open(handle)?;
    end.up.send(Reply::Opened)?;
    // `recv` fails only when the parent is gone: then the worker just ends.
    while let Ok(order) = end.down.recv() {
        let reply = match order {
            Order::Open(_) => bail!("the flag was opened twice"),
            Order::Search { n, ks, check_every } => match F::begin(&flag) {
                Ok(()) => timed_search(n, ks, check_every, &flag),
                Err(e) => Reply::Failed(format!("{e:#}")),
            },
            Order::Spin { n, ks, check_every } => match F::begin(&flag) {
                Ok(()) => {
                    end.up.send(Reply::Ready)?;
                    timed_search(n, ks, check_every, &flag)
                }
                Err(e) => Reply::Failed(format!("{e:#}")),
            },
            Order::Bench {
                iters,
                samples,
                local,
            } => {
                let timed = if local {
                    bench(&LocalFlag::default(), iters, samples)
                } else {
                    bench(&flag, iters, samples)
                };
                match timed {
                    Ok(v) => Reply::Bench(v),
                    Err(e) => Reply::Failed(format!("{e:#}")),
                }
            }
            Order::Count { times, racy } => {
                let bump = || {
                    if racy {
                        flag.bump_racy()
                    } else {
                        flag.bump_atomic()
                    }
                };
                match (0..times).try_for_each(|_| bump()) {
                    Ok(()) => Reply::Counted,
                    Err(e) => Reply::Failed(format!("{e:#}")),
                }
            }
            Order::Ping => Reply::Pong,
            Order::Stop => {
                end.up.send(Reply::Finished)?;
                return Ok(());
            }
        };
        let failed = matches!(reply, Reply::Failed(_));
        end.up.send(reply)?;
        if failed {
            std::process::exit(1);
        }
    }
    Ok(())
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

/// Everything one run measured, as `--json` prints it.
#[derive(Debug, Serialize)]
pub struct Report {
    machine: Machine,
    /// What the flag is.
    flag: &'static str,
    case: Case,
    n: u64,
    workers: usize,
    check_every: u64,
    /// The smallest factor found, if any.
    factor: Option<u64>,
    /// Each worker's last search.
    per_worker: Vec<WorkerRow>,
    /// Wall time of the parallel search, flag checked every `check_every`.
    parallel_ns: Summary,
    /// The same search in one process, with no flag at all.
    serial_ns: Summary,
    /// Prime case only: the parallel search never looking at the flag.
    unchecked_ns: Option<Summary>,
    /// Nanoseconds per look at this flag, from a worker.
    check_ns: Summary,
    /// The floor: an atomic load in the process's own memory.
    local_check_ns: Summary,
    /// For scale: one ipc-channel message there and back.
    round_trip_ns: Summary,
    /// From raising the flag to every worker stopped, over the trials.
    stop_latency_ns: Summary,
    /// Worker time spent after the flag went up, in the last search.
    wasted_ns: u64,
    /// With `--count`: what the shared counter said.
    counted: Option<Counted>,
}

/// The lost-update demonstration: every worker added one `per_worker` times.
#[derive(Debug, Clone, Serialize)]
pub struct Counted {
    per_worker: u64,
    /// What a counter that lost nothing would say.
    expected: u64,
    /// Read, then write back one more.
    racy: u64,
    /// One indivisible step.
    atomic: u64,
}

#[derive(Debug, Clone, Serialize)]
struct WorkerRow {
    share: Range<u64>,
    searched: Searched,
    /// How long after the finder raised the flag this worker stopped.
    after_flag_ns: Option<u64>,
}

/// One worker's search result and the moment it stopped.
type Stopped = (Searched, u64);

/// The parent's side: the flag, the workers, and what they say.
struct Team<F: SharedFlag> {
    /// The flag's owner: dropping it removes the flag.
    flag: F,
    /// The parent's own view of the flag, to raise it in latency trials.
    mine: F::View,
    crew: Crew<Order<F::Handle>>,
    inbox: Inbox<Reply>,
}

impl<F: SharedFlag> Team<F> {
    /// Creates the flag, starts `workers` processes and hands each the flag.
    fn start(workers: usize, args: &F::Args) -> anyhow::Result<Self> {
        let flag = F::create(args)?;
        let mine = F::open(flag.handle())?;
        let (crew, inbox) = Crew::spawn(workers, |_| Vec::new())?;
        let mut team = Team {
            flag,
            mine,
            crew,
            inbox,
        };
        for w in 0..workers {
            let handle = team.flag.handle();
            team.send(w, Order::Open(handle))?;
        }
        team.collect_all()?;
        team.flag.all_opened()?;
        Ok(team)
    }

    /// Waits for one reply from every worker, in worker order.
    fn collect_all(&mut self) -> anyhow::Result<Vec<Reply>> {
        let mut replies: Vec<Option<Reply>> =
            (0..self.crew.len()).map(|_| None).collect();
        let mut waiting = replies.len();
        while waiting > 0 {
            // No deadline: a worker that dies closes its channel at once, and
            // one whose flag fails says so.
            for heard in self.inbox.wait(Duration::from_millis(100))? {
                match heard {
                    Heard::Message(w, Reply::Failed(why)) => {
                        bail!("worker {w}: {why}")
                    }
                    Heard::Message(w, reply) if replies[w].is_none() => {
                        replies[w] = Some(reply);
                        waiting -= 1;
                    }
                    Heard::Message(w, reply) => {
                        bail!("worker {w} said {reply:?} out of turn")
                    }
                    // A worker exits right after `Finished`; its channel
                    // closing may be heard before the others have answered.
                    Heard::Gone(w)
                        if matches!(replies[w], Some(Reply::Finished)) => {}
                    Heard::Gone(w) => return Err(self.died(w)),
                }
            }
        }
        Ok(replies.into_iter().flatten().collect())
    }

    /// Reaps worker `w`, whose channel closed unexpectedly, and says how it died.
    fn died(&mut self, w: usize) -> anyhow::Error {
        let pid = self.crew.pid(w);
        match self.crew.reap(w, Duration::from_secs(2)) {
            Ok(how) => anyhow::anyhow!("worker {w} (pid {pid}) {how} mid-run"),
            Err(e) => e.context(format!("worker {w} (pid {pid}) vanished mid-run")),
        }
    }

    /// Sends worker `w` an order. A worker that cannot be reached has died:
    /// reap it and say how, rather than report a broken pipe.
    fn send(&mut self, w: usize, order: Order<F::Handle>) -> anyhow::Result<()> {
        if self.crew.send(w, order).is_err() {
            return Err(self.died(w));
        }
        Ok(())
    }

    fn tell_all(
        &mut self,
        order: impl Fn(usize) -> Order<F::Handle>,
    ) -> anyhow::Result<()> {
        (0..self.crew.len()).try_for_each(|w| self.send(w, order(w)))
    }

    /// One parallel search of `n`: each worker's result and stop time, and
    /// when the flag went up. With `raise_after`, the parent raises the flag
    /// itself that long after every worker has started.
    fn search(
        &mut self,
        n: u64,
        check_every: u64,
        raise_after: Option<Duration>,
    ) -> anyhow::Result<(Vec<Stopped>, Option<u64>)> {
        F::lower(&self.mine)?;
        let w = self.crew.len();
        let mut raised = None;
        if let Some(pause) = raise_after {
            self.tell_all(|i| Order::Spin {
                n,
                ks: share(n, w, i),
                check_every,
            })?;
            self.collect_all()?; // every worker is Ready
            std::thread::sleep(pause);
            raised = Some(clock::now_ns());
            self.mine.raise()?;
        } else {
            self.tell_all(|i| Order::Search {
                n,
                ks: share(n, w, i),
                check_every,
            })?;
        }
        let results = self
            .collect_all()?
            .into_iter()
            .map(|r| match r {
                Reply::Done {
                    searched,
                    stop_ns,
                    raised_ns,
                } => {
                    raised = raised.or(raised_ns);
                    Ok((searched, stop_ns))
                }
                other => bail!("expected a search result, got {other:?}"),
            })
            .collect::<anyhow::Result<Vec<Stopped>>>()?;
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

    /// One timed run of `iters` looks at the flag (or, `local`, at an atomic
    /// in the worker's own memory) inside worker 0: nanoseconds per look.
    fn bench_once(&mut self, iters: u64, local: bool) -> anyhow::Result<f64> {
        self.send(
            0,
            Order::Bench {
                iters,
                samples: 1,
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
                self.send(0, Order::Ping)?;
                self.collect_one()?;
            }
            out.push((clock::now_ns() - t) as f64 / f64::from(n));
        }
        Ok(out)
    }

    /// The next reply of worker 0, which alone was asked: anything else heard
    /// meanwhile is an error.
    fn collect_one(&mut self) -> anyhow::Result<Reply> {
        let heard = loop {
            let mut heard = self.inbox.wait(Duration::from_millis(100))?;
            if heard.len() > 1 {
                bail!("expected one reply from worker 0, heard {heard:?}");
            }
            if let Some(h) = heard.pop() {
                break h;
            }
        };
        match heard {
            Heard::Message(0, Reply::Failed(why)) => bail!("worker 0: {why}"),
            Heard::Message(0, reply) => Ok(reply),
            Heard::Message(w, reply) => bail!("worker {w} said {reply:?} unasked"),
            Heard::Gone(w) => Err(self.died(w)),
        }
    }

    /// Every worker adds one `times` times; returns what the counter says.
    fn count(&mut self, times: u64, racy: bool) -> anyhow::Result<u64> {
        self.mine.reset()?;
        self.tell_all(|_| Order::Count { times, racy })?;
        self.collect_all()?;
        self.mine.count()
    }

    /// The pill for every worker, then every acknowledgement, then reaping.
    fn finish(mut self) -> anyhow::Result<()> {
        self.tell_all(|_| Order::Stop)?;
        for r in self.collect_all()? {
            if !matches!(r, Reply::Finished) {
                bail!("expected Finished, got {r:?}");
            }
        }
        for w in 0..self.crew.len() {
            let exit = self.crew.reap(w, Duration::from_secs(5))?;
            if !exit.is_clean() {
                bail!("worker {w} {exit} after it finished");
            }
        }
        Ok(())
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

fn summary(samples: &[f64]) -> Summary {
    Summary::of(samples).expect("at least one sample")
}

fn parent<F: SharedFlag>(args: &RunArgs, flag: &F::Args) -> anyhow::Result<()> {
    let check_every = args.check_every.unwrap_or(F::CHECK_EVERY);
    let workers = crate::worker_count(args.workers);
    let (n, _) = args.case.number();
    let mut team = Team::<F>::start(workers, flag)?;

    // One search untimed: the first after start-up runs on cold caches and
    // cores that have not yet clocked up.
    team.search(n, check_every, None)?;
    let timed = |team: &mut Team<F>, k: u64| -> anyhow::Result<_> {
        let t = clock::now_ns();
        let (results, raised) = team.search(n, k, None)?;
        let end = results.iter().map(|r| r.1).max().unwrap_or(t);
        Ok(((end - t) as f64, results, raised))
    };
    let (mut parallel, mut unchecked) = (Vec::new(), Vec::new());
    let (mut last, mut raised) = (Vec::new(), None);
    for _ in 0..args.repeats {
        let ns;
        (ns, last, raised) = timed(&mut team, check_every)?;
        parallel.push(ns);
        // The prime case never stops early, so it can show the flag's whole
        // cost: the same search never looking, timed alternately with it.
        if args.case == Case::Prime {
            unchecked.push(timed(&mut team, u64::MAX)?.0);
        }
    }
    let unchecked_ns = Summary::of(&unchecked);
    let (check_ns, local_check_ns) = team.bench()?;
    let round_trip_ns = team.round_trips()?;
    let mut latency = Vec::new();
    let spin = Case::Prime.number().0;
    for _ in 0..args.trials {
        let (results, raised) =
            team.search(spin, check_every, Some(Duration::from_millis(1)))?;
        let raised = raised.expect("the parent raised the flag");
        if let Some(r) = results.iter().find(|r| r.0.outcome != Outcome::Stopped) {
            bail!("a latency trial ended without the flag: {:?}", r.0.outcome);
        }
        let end = results.iter().map(|r| r.1).max().unwrap_or(raised);
        latency.push(end.saturating_sub(raised) as f64);
    }
    let counted = match args.count {
        Some(times) => Some(Counted {
            per_worker: times,
            expected: times * workers as u64,
            racy: team.count(times, true)?,
            atomic: team.count(times, false)?,
        }),
        None => None,
    };
    team.finish()?;

    let serial = (0..args.repeats)
        .map(|_| {
            let t = clock::now_ns();
            search(n, 0..candidates(n), u64::MAX, &LocalFlag::default())
                .map(|_| (clock::now_ns() - t) as f64)
        })
        .collect::<anyhow::Result<Vec<f64>>>()?;

    let factor = last.iter().find_map(|(s, _)| match s.outcome {
        Outcome::Found(d) => Some(d),
        _ => None,
    });
    let per_worker: Vec<WorkerRow> = last
        .iter()
        .enumerate()
        .map(|(i, (searched, stop))| WorkerRow {
            share: share(n, workers, i),
            searched: *searched,
            after_flag_ns: raised
                .filter(|_| searched.outcome == Outcome::Stopped)
                .map(|raised| stop.saturating_sub(raised)),
        })
        .collect();
    let report = Report {
        machine: Machine::here(),
        flag: F::WHAT,
        case: args.case,
        n,
        workers,
        check_every,
        factor,
        wasted_ns: per_worker.iter().filter_map(|w| w.after_flag_ns).sum(),
        per_worker,
        parallel_ns: summary(&parallel),
        serial_ns: summary(&serial),
        unchecked_ns,
        check_ns: summary(&check_ns),
        local_check_ns: summary(&local_check_ns),
        round_trip_ns: summary(&round_trip_ns),
        stop_latency_ns: summary(&latency),
        counted,
    };
    args.case.confirm(report.factor)?;
    if args.json {
        print_json(&report)
    } else {
        print_report(&report, args);
        Ok(())
    }
}

fn print_report(r: &Report, args: &RunArgs) {
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
        let (a, b) = (candidate(w.share.start), candidate(w.share.end.max(1) - 1));
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
    println!("\nWall time, median of {} (min to max):", args.repeats);
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
    if let Some(u) = &r.unchecked_ns {
        let overhead = (r.parallel_ns.median - u.median) / u.median * 100.0;
        println!("Looking at the flag cost {overhead:+.1}% of the search time.");
    }
    println!("\nOne look at the flag, median of {SAMPLES} samples (min to max):");
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
}
