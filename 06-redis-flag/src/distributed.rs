//! `coordinate` and `join`: the search on any machines that reach one Redis.
//!
//! Terminal 1: `cargo run --bin 06-redis-flag -- coordinate --case mid`
//! Terminal 2, here or on another machine:
//! `cargo run --bin 06-redis-flag -- join --run-id <id> --redis-url redis://<host>:6379`
//!
//! Chapter 1's queue, chapter 2's pill and this chapter's flag, all kept by a
//! real server. The coordinator puts ranges of divisors on a Redis list.
//! Workers take them with `BLPOP`, search them while looking at the run's stop
//! key, and push their results on a second list. When the answer is in, the
//! coordinator puts one pill per worker on the list and waits for each to
//! answer. The workers know nothing of each other, or of the coordinator's
//! machine: only the server's URL and the run's name.

use crate::{RedisUrl, Server, TTL_SECONDS, connect, lost};
use anyhow::{Context, bail};
use redis::{Commands, Connection};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::ops::Range;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use workers::clock;
use workers::flag::SearchArgs;
use workers::interrupt::{self, OnSignal};
use workers::report::{Table, human_ns, print_json};
use workers::search::{Outcome, Searched, StopFlag, candidate, candidates, search};

// What `coordinate --json` prints, defined in lib.rs where others read it too.
use redis_flag::{DistributedReport, WorkerLine};

/// `coordinate`: the search cut into ranges on a Redis list.
#[derive(Debug, clap::Args)]
pub struct Coordinate {
    #[command(flatten)]
    server: Server,
    // The same options as the plain run: --case, --check-every, --json.
    #[command(flatten)]
    search: SearchArgs<100_000>,
    /// Ranges of divisors to cut the search into: the tasks on the list
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    chunks: u32,
    /// The run's name, which workers join by [default: made up, unique]
    #[arg(long, value_parser = run_id)]
    run_id: Option<String>,
    /// Also start this many workers here
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=256))]
    local_workers: u16,
    /// Give up when no result arrives for this many seconds
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    idle_secs: u64,
}

/// `join`: a worker for a coordinator, on this machine or another.
#[derive(Debug, clap::Args)]
pub struct Join {
    #[command(flatten)]
    server: Server,
    /// The run to work for, as its coordinator printed it
    #[arg(long, value_parser = run_id)]
    run_id: String,
    /// This worker's name in reports [default: <host>-<pid>]
    #[arg(long)]
    name: Option<String>,
    /// Started by a coordinator on this machine: die with it.
    #[arg(long, hide = true)]
    local: bool,
}

/// A run's name goes into key names: keep it short and plain.
fn run_id(s: &str) -> Result<String, String> {
    let plain = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if plain && (1..=64).contains(&s.len()) {
        Ok(s.to_string())
    } else {
        Err("use 1 to 64 letters, digits, '-', '_' or '.'".into())
    }
}

// ANCHOR: keys
/// Every key of one run, all named after it.
#[derive(Debug)]
struct Keys {
    /// The queue: a list of ranges to search, then the pills.
    tasks: String,
    /// Workers' results and answers to the pill, a list the coordinator pops.
    results: String,
    /// The stop flag: "1" once anyone found a factor (or a person set it).
    stop: String,
    /// Names of the workers that joined: one pill each.
    workers: String,
    /// Candidates each worker has tried so far: watch it with HGETALL.
    progress: String,
}

impl Keys {
    fn of(run: &str) -> Keys {
        let key = |what: &str| format!("run:{run}:{what}");
        Keys {
            tasks: key("tasks"),
            results: key("results"),
            stop: key("stop"),
            workers: key("workers"),
            progress: key("progress"),
        }
    }

    fn all(&self) -> [&str; 5] {
        [
            &self.tasks,
            &self.results,
            &self.stop,
            &self.workers,
            &self.progress,
        ]
    }
}

/// What the coordinator puts on the task list.
#[derive(Debug, Serialize, Deserialize)]
enum Task {
    Search {
        n: u64,
        ks: Range<u64>,
        check_every: u64,
    },
    /// The pill: one per worker, after the ranges.
    Stop,
}

/// What a worker pushes on the result list.
#[derive(Debug, Serialize, Deserialize)]
enum Reply {
    Done { worker: String, searched: Searched },
    Finished { worker: String },
}
// ANCHOR_END: keys

/// JSON in, JSON out: the lists hold text any language can read.
fn encode<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("plain data serializes")
}

// ANCHOR: flag
/// A worker's stop flag: the run's stop key, looked at through one round trip
/// that also reports how far the worker got.
struct RunFlag<'a> {
    url: &'a RedisUrl,
    conn: &'a RefCell<Connection>,
    keys: &'a Keys,
    name: &'a str,
    /// Candidates tried between two looks, added to the progress each time.
    step: u64,
}

impl StopFlag for RunFlag<'_> {
    fn is_set(&self) -> anyhow::Result<bool> {
        // Pipelined: both commands go in one write, both replies come back
        // in one read. Progress costs no extra round trip.
        let (stop,): (Option<u8>,) = redis::pipe()
            .hincr(&self.keys.progress, self.name, self.step)
            .ignore()
            .get(&self.keys.stop)
            .query(&mut *self.conn.borrow_mut())
            .map_err(|e| lost(self.url, e))?;
        Ok(stop == Some(1))
    }

    fn raise(&self) -> anyhow::Result<()> {
        (self.conn.borrow_mut())
            .set_ex(&self.keys.stop, 1, TTL_SECONDS)
            .map_err(|e| lost(self.url, e))
    }

    /// A run's stop key starts at 0 and is never lowered: workers only look
    /// and raise.
    fn lower(&self) -> anyhow::Result<()> {
        bail!("a worker never lowers the run's stop key")
    }
}
// ANCHOR_END: flag

// ANCHOR: join
/// A worker: take a range, search it, report, until a pill or the run's end.
pub fn join(args: &Join) -> anyhow::Result<()> {
    if args.local {
        interrupt::worker_defers_to_parent()?;
    }
    let url = &args.server.redis_url;
    let keys = Keys::of(&args.run_id);
    let name = args.name.clone().unwrap_or_else(default_name);
    let conn = RefCell::new(connect(url)?);
    let run_exists = |c: &RefCell<Connection>| -> anyhow::Result<bool> {
        (c.borrow_mut().exists(&keys.stop)).map_err(|e| lost(url, e))
    };
    if !run_exists(&conn)? {
        bail!(
            "there is no run {} at {url}: start one with `06-redis-flag coordinate`, \
             and pass the run id it prints",
            args.run_id
        );
    }
    let _: () =
        (conn.borrow_mut().sadd(&keys.workers, &name)).map_err(|e| lost(url, e))?;
    eprintln!("{name} joined run {}; waiting for work", args.run_id);
    loop {
        // Wait a second at most, then check the run still exists: a worker
        // that joined too late for a pill still ends with the run.
        let popped: Option<(String, String)> =
            (conn.borrow_mut().blpop(&keys.tasks, 1.0)).map_err(|e| lost(url, e))?;
        let Some((_, text)) = popped else {
            if run_exists(&conn)? {
                continue;
            }
            eprintln!("{name}: run {} is over", args.run_id);
            return Ok(());
        };
        let reply =
            match serde_json::from_str(&text).context("a task I cannot read")? {
                Task::Search { n, ks, check_every } => {
                    let flag = RunFlag {
                        url,
                        conn: &conn,
                        keys: &keys,
                        name: &name,
                        step: check_every,
                    };
                    let searched = search(n, ks, check_every, &flag)?;
                    Reply::Done {
                        worker: name.clone(),
                        searched,
                    }
                }
                Task::Stop => Reply::Finished {
                    worker: name.clone(),
                },
            };
        let last = matches!(reply, Reply::Finished { .. });
        let _: () = (conn.borrow_mut().rpush(&keys.results, encode(&reply)))
            .map_err(|e| lost(url, e))?;
        if last {
            return Ok(());
        }
    }
}
// ANCHOR_END: join

fn default_name() -> String {
    let host = hostname().unwrap_or_else(|| "host".into());
    format!("{host}-{}", std::process::id())
}

fn hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
}

/// The run's keys, deleted when the coordinator is done, fails, or is
/// interrupted; expiring by themselves if it is killed outright.
struct RunKeys<'a> {
    url: &'a RedisUrl,
    keys: &'a Keys,
    conn: RefCell<Connection>,
    _on_signal: OnSignal,
}

impl<'a> RunKeys<'a> {
    /// Claims the run's name: fails if a run of that name exists.
    fn claim(url: &'a RedisUrl, keys: &'a Keys, run: &str) -> anyhow::Result<Self> {
        let mut conn = connect(url)?;
        // Claim and register the clean-up as one step: no Ctrl-C between.
        let _on_signal = interrupt::creating(|| {
            let claimed: Option<String> = redis::cmd("SET")
                .arg(&keys.stop)
                .arg(0)
                .arg("NX")
                .arg("EX")
                .arg(TTL_SECONDS)
                .query(&mut conn)
                .map_err(|e| lost(url, e))?;
            if claimed.is_none() {
                bail!("a run named {run} exists at {url}: choose another --run-id");
            }
            let (doomed_url, doomed) = (url.clone(), keys.all().map(String::from));
            anyhow::Ok(OnSignal::new(move || {
                if let Ok(mut c) = connect(&doomed_url) {
                    let _: redis::RedisResult<()> = c.del(&doomed);
                }
            }))
        })?;
        Ok(RunKeys {
            url,
            keys,
            conn: RefCell::new(conn),
            _on_signal,
        })
    }

    /// Runs a command on the coordinator's connection.
    fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> redis::RedisResult<T>,
    ) -> anyhow::Result<T> {
        f(&mut self.conn.borrow_mut()).map_err(|e| lost(self.url, e))
    }

    /// Renews every key's lifetime: the workers create some of them.
    fn refresh(&self) -> anyhow::Result<()> {
        let mut pipe = redis::pipe();
        for key in self.keys.all() {
            pipe.expire(key, TTL_SECONDS as i64).ignore();
        }
        self.with(|c| pipe.query(c))
    }

    /// The next result, waiting a second at most.
    fn next_result(&self) -> anyhow::Result<Option<Reply>> {
        let popped: Option<(String, String)> =
            self.with(|c| c.blpop(&self.keys.results, 1.0))?;
        popped
            .map(|(_, text)| {
                serde_json::from_str(&text).context("a result I cannot read")
            })
            .transpose()
    }
}

impl Drop for RunKeys<'_> {
    fn drop(&mut self) {
        let _: redis::RedisResult<()> =
            self.conn.get_mut().del(&self.keys.all()[..]);
    }
}

/// Workers started here with `--local-workers`: killed and reaped on every exit.
struct Locals(Vec<Child>);

impl Drop for Locals {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
            interrupt::unwatch_child(child.id());
        }
    }
}

fn start_locals(args: &Coordinate, run: &str) -> anyhow::Result<Locals> {
    let exe = std::env::current_exe().context("cannot find this program's path")?;
    let mut locals = Locals(Vec::new());
    for i in 0..args.local_workers {
        // The URL goes in the environment: on the command line, `ps` would
        // show its password.
        let child = Command::new(&exe)
            .args([
                "join",
                "--local",
                "--run-id",
                run,
                "--name",
                &format!("local-{i}"),
            ])
            .env("REDIS_URL", &args.server.redis_url.0)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start a local worker")?;
        interrupt::watch_child(child.id());
        locals.0.push(child);
    }
    Ok(locals)
}

/// What the coordinator has heard so far.
#[derive(Debug, Default)]
struct Tally {
    /// Per worker name.
    workers: BTreeMap<String, WorkerLine>,
    /// Ranges whose results came back.
    reported: u64,
    /// The smallest factor any worker found.
    factor: Option<u64>,
}

impl Tally {
    fn note(&mut self, reply: Reply) {
        match reply {
            Reply::Done { worker, searched } => {
                let line = self.workers.entry(worker).or_default();
                line.ranges += 1;
                line.tried += searched.checked;
                self.reported += 1;
                if let Outcome::Found(d) = searched.outcome {
                    self.factor = Some(self.factor.map_or(d, |f| f.min(d)));
                }
            }
            Reply::Finished { worker } => {
                self.workers.entry(worker).or_default().answered_pill = true
            }
        }
    }
}

pub fn coordinate(args: &Coordinate) -> anyhow::Result<()> {
    let url = &args.server.redis_url;
    let run = (args.run_id.clone())
        .unwrap_or_else(|| format!("{}-{}", std::process::id(), clock::now_ns()));
    let keys = Keys::of(&run);
    let redis = RunKeys::claim(url, &keys, &run)?;
    let (n, _) = args.search.case.number();
    let total = candidates(n);
    let chunks = u64::from(args.chunks);

    // ANCHOR: queue
    // The work queue of chapter 1, on a real server: one range per entry.
    let start = clock::now_ns();
    let mut pipe = redis::pipe();
    for i in 0..chunks {
        let ks = total * i / chunks..total * (i + 1) / chunks;
        let task = Task::Search {
            n,
            ks,
            check_every: args.search.check_every,
        };
        pipe.rpush(&keys.tasks, encode(&task)).ignore();
    }
    redis.with(|c| pipe.query::<()>(c))?;
    redis.refresh()?;
    // ANCHOR_END: queue
    let cli = format!("redis-cli -u {url}");
    eprintln!(
        "Run {run}: {chunks} ranges of divisors of {n} wait on list {}.\n\
         Start workers here or on any machine that reaches this Redis:\n  \
         06-redis-flag join --redis-url {url} --run-id {run}\n\
         Watch:  {cli} HGETALL {}\n\
         Stop:   {cli} SET {} 1",
        keys.tasks, keys.progress, keys.stop
    );
    let mut locals = start_locals(args, &run)?;

    // ANCHOR: collect
    let mut tally = Tally::default();
    let idle = Duration::from_secs(args.idle_secs);
    let mut heard = Instant::now();
    // Until a factor is found or every range is searched.
    while tally.reported < chunks && tally.factor.is_none() {
        match redis.next_result()? {
            Some(reply) => {
                tally.note(reply);
                heard = Instant::now();
            }
            None if heard.elapsed() > idle => bail!(
                "no result for {} s ({} of {chunks} ranges reported): \
                 start a worker with `06-redis-flag join --run-id {run}`",
                idle.as_secs(),
                tally.reported
            ),
            None => {}
        }
        locals.check()?;
        redis.refresh()?;
    }
    let answer_ns = clock::now_ns() - start;
    if tally.reported == chunks
        && tally.factor.is_none()
        && redis.with(|c| c.get::<_, Option<u8>>(&keys.stop))? == Some(1)
    {
        bail!(
            "stopped from outside: the stop key was set, and no worker had found a factor"
        );
    }
    // ANCHOR_END: collect

    // ANCHOR: pills
    // Chapter 2's ending: no more ranges, then one pill per worker that
    // joined, then every answer read.
    redis.with(|c| c.del::<_, ()>(&keys.tasks))?;
    let joined: u64 = redis.with(|c| c.scard(&keys.workers))?;
    let pills = vec![encode(&Task::Stop); joined as usize];
    if joined > 0 {
        redis.with(|c| c.rpush::<_, _, ()>(&keys.tasks, &pills))?;
    }
    let mut answered = 0;
    let mut heard = Instant::now();
    while answered < joined {
        match redis.next_result()? {
            Some(reply) => {
                answered += u64::from(matches!(reply, Reply::Finished { .. }));
                tally.note(reply);
                heard = Instant::now();
            }
            None if heard.elapsed() > Duration::from_secs(10) => bail!(
                "{} of {joined} workers never answered their pill within 10 s",
                joined - answered
            ),
            None => {}
        }
    }
    let shutdown_ns = clock::now_ns() - start - answer_ns;
    // ANCHOR_END: pills
    locals.reap()?;

    let report = DistributedReport {
        run,
        case: args.search.case,
        n,
        chunks: args.chunks,
        check_every: args.search.check_every,
        factor: tally.factor,
        ranges_reported: tally.reported,
        workers: tally.workers,
        answer_ns,
        shutdown_ns,
    };
    args.search.case.confirm(report.factor)?;
    if args.search.json {
        print_json(&report)?;
    } else {
        print_run(&report);
    }
    Ok(())
}

impl Locals {
    /// A local worker that exited before its pill failed: say so.
    fn check(&mut self) -> anyhow::Result<()> {
        for (i, child) in self.0.iter_mut().enumerate() {
            if let Some(status) = child.try_wait()?
                && !status.success()
            {
                bail!("local worker {i} {}", workers::pool::describe(status));
            }
        }
        Ok(())
    }

    /// Waits for every local worker, which has answered its pill, to exit.
    fn reap(&mut self) -> anyhow::Result<()> {
        for (i, child) in self.0.iter_mut().enumerate() {
            let exited = workers::ps::wait_for(Duration::from_secs(5), || {
                child.try_wait().ok().flatten()
            });
            match exited {
                Some(s) if s.success() => interrupt::unwatch_child(child.id()),
                Some(s) => bail!("local worker {i} {}", workers::pool::describe(s)),
                None => bail!("local worker {i} did not exit after its pill"),
            }
        }
        Ok(())
    }
}

fn print_run(r: &DistributedReport) {
    println!(
        "Run {}: is {} prime? {} ranges of divisors from 3 to {}, on a Redis list;\n\
         workers look at the stop key every {} candidates.\n",
        r.run,
        r.n,
        r.chunks,
        candidate(candidates(r.n) - 1),
        r.check_every
    );
    match r.factor {
        Some(d) => println!(
            "Found: {} = {d} x {}, after {}.",
            r.n,
            r.n / d,
            human_ns(r.answer_ns as f64)
        ),
        None => println!(
            "No divisor: {} is prime. Every range searched in {}.",
            r.n,
            human_ns(r.answer_ns as f64)
        ),
    }
    println!("{} of {} ranges reported.\n", r.ranges_reported, r.chunks);
    let mut t =
        Table::new(["worker", "ranges", "candidates tried", "answered its pill"]);
    for (name, w) in &r.workers {
        let pill = if w.answered_pill { "yes" } else { "no" };
        t.row([
            name.clone(),
            w.ranges.to_string(),
            w.tried.to_string(),
            pill.to_string(),
        ]);
    }
    print!("{t}");
    println!(
        "Every worker answered its pill {} after the answer; the run's keys are deleted.",
        human_ns(r.shutdown_ns as f64)
    );
}
