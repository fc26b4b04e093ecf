//! `coordinate` and `join`: the search on any machines that reach one Redis.
//!
//! Terminal 1: `cargo run --bin 06-redis-flag -- coordinate --case mid`
//! Terminal 2, here or on another machine:
//! `cargo run --bin 06-redis-flag -- join --run-id <id> --redis-url redis://<host>:6379`
//!
//! Chapter 1's queue, chapter 2's ending and this chapter's flag, all kept by
//! a real server. The coordinator puts ranges of divisors on a Redis stream
//! read through a consumer group: a range handed to a worker stays pending,
//! under that worker's name, until the worker acknowledges it, so a range
//! whose worker goes silent is taken over by another. Workers search while
//! looking at the run's keys, and write their results keyed by range, so a
//! range searched twice counts once. When the answer is in, the coordinator
//! sets the run's end key and waits for every live worker to answer. The
//! workers know nothing of each other, or of the coordinator's machine: only
//! the server's URL and the run's name.
//!
//! Two kinds of absence are told apart. A worker is alive while it renews
//! the lease on its range; the coordinator is alive while it renews its
//! heartbeat key. Every write a worker makes goes through a Lua script that
//! first checks the run still exists and its coordinator is the one the
//! worker joined, and sets the key's expiry in the same step: no key of a
//! run ever lives without a TTL, and a worker that outlives its coordinator
//! writes nothing.

use crate::{RedisUrl, Server, TTL_SECONDS, connect, lost};
use anyhow::{Context, bail};
use redis::{Commands, Connection, Script};
use serde::{Deserialize, Serialize};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::process::{Child, Command, Stdio};
use std::sync::LazyLock;
use std::time::{Duration, Instant};
use workers::clock;
use workers::flag::SearchArgs;
use workers::interrupt::{self, OnSignal};
use workers::report::{Table, human_ns, print_json};
use workers::search::{Outcome, Searched, StopFlag, candidate, candidates, search};

// What `coordinate --json` prints, defined in lib.rs where others read it too.
use redis_flag::{DeadLetter, DistributedReport, Reclaim, WorkerLine};

/// The coordinator's heartbeat key lives this long unless renewed; it renews
/// it several times a second. Joiners that find it gone stop.
const HEARTBEAT_MS: u64 = 3_000;
/// How often an idle worker asks for work again.
const IDLE_POLL: Duration = Duration::from_millis(100);
/// The stream's consumer group: every worker reads through it.
const GROUP: &str = "workers";

/// `coordinate`: the search cut into ranges on a Redis stream.
///
/// Divisors only: `--workload fraud` maps one machine's memory file, so it
/// is refused here (and hidden, with `--transactions`).
#[derive(Debug, clap::Args)]
#[command(
    mut_arg("workload", |a| a.hide(true).value_parser(
        clap::builder::TypedValueParser::map(
            clap::builder::PossibleValuesParser::new(["prime"]),
            |_| workers::search::Workload::Prime,
        ),
    )),
    mut_arg("transactions", |a| a.hide(true)),
)]
pub struct Coordinate {
    #[command(flatten)]
    server: Server,
    // The same options as the plain run: --case, --check-every, --json.
    #[command(flatten)]
    search: SearchArgs<100_000>,
    /// Ranges of divisors to cut the search into: the tasks on the stream
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
    /// A worker silent this long loses its range to another
    #[arg(long, default_value_t = 5_000, value_parser = clap::value_parser!(u64).range(100..=3_600_000))]
    lease_ms: u64,
    /// A range delivered this often, each time to a worker that went silent,
    /// goes to the dead letters
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=100))]
    max_deliveries: u64,
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
    /// For tests: sleep this long at every look, as a slow machine would.
    #[arg(long, hide = true, default_value_t = 0)]
    slow_ms: u64,
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
    /// "0" while the run goes on. Anything else: stopped from outside. No
    /// key: the run is gone. The program only ever creates it.
    stop: String,
    /// The coordinator's heartbeat: its token, with a TTL of a few seconds.
    alive: String,
    /// The run's settings, for joiners: lease and deliveries.
    meta: String,
    /// The queue: a stream of ranges, read through a consumer group.
    tasks: String,
    /// Results keyed by range number: the first result for a range wins.
    results: String,
    /// News for the coordinator: results, take-overs, dead letters, ends.
    news: String,
    /// Ranges given up on, as a stream.
    dead: String,
    /// A factor, set by the worker that found it: others stop searching.
    found: String,
    /// Set by the coordinator once it has the answer: workers leave.
    end: String,
    /// Workers that joined, by consumer name: when each was last heard.
    workers: String,
    /// Candidates each worker has tried so far: watch it with HGETALL.
    progress: String,
}
// ANCHOR_END: keys

impl Keys {
    fn of(run: &str) -> Keys {
        let key = |what: &str| format!("run:{run}:{what}");
        Keys {
            stop: key("stop"),
            alive: key("alive"),
            meta: key("meta"),
            tasks: key("tasks"),
            results: key("results"),
            news: key("news"),
            dead: key("dead"),
            found: key("found"),
            end: key("end"),
            workers: key("workers"),
            progress: key("progress"),
        }
    }

    /// The stop key first, the heartbeat second: the scripts rely on it.
    fn all(&self) -> [&str; 11] {
        [
            &self.stop,
            &self.alive,
            &self.meta,
            &self.tasks,
            &self.results,
            &self.news,
            &self.dead,
            &self.found,
            &self.end,
            &self.workers,
            &self.progress,
        ]
    }
}

/// What the coordinator puts on the stream, one range per entry.
#[derive(Debug, Serialize, Deserialize)]
struct Task {
    n: u64,
    /// The range's number, from 0: its field in the results.
    range: u64,
    ks: Range<u64>,
    check_every: u64,
}

/// What the coordinator hears on the news list. Workers write the first and
/// the last; the worker's take script writes the other two.
#[derive(Debug, Serialize, Deserialize)]
enum News {
    Done {
        worker: String,
        range: u64,
        searched: Searched,
    },
    Reclaimed {
        worker: String,
        range: u64,
        from: String,
        silent_ms: u64,
        deliveries: u64,
    },
    Dead {
        range: u64,
        last: String,
        deliveries: u64,
    },
    Finished {
        worker: String,
        consumer: String,
    },
}

/// JSON in, JSON out: the keys hold text any language can read.
fn encode<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("plain data serializes")
}

// ANCHOR: guard
/// Every worker script starts here. KEYS[1] is the stop key, KEYS[2] the
/// heartbeat; ARGV[1] the token of the coordinator the worker joined,
/// ARGV[2] the TTL. No stop key: the run is gone. A heartbeat missing or
/// another coordinator's: the worker's coordinator is gone. Either way the
/// script writes nothing, so no key is ever made again without a TTL.
const GUARD: &str = r"
local stop = redis.call('GET', KEYS[1])
if not stop then return {'gone'} end
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return {'orphaned'} end
local ttl = ARGV[2]
if redis.call('TTL', KEYS[1]) == -1 then redis.call('EXPIRE', KEYS[1], ttl) end
local function seen(key, consumer)
  local t = redis.call('TIME')
  redis.call('HSET', key, consumer, t[1] * 1000 + math.floor(t[2] / 1000))
  redis.call('EXPIRE', key, ttl)
end
";

fn script(body: &str) -> Script {
    Script::new(&format!("{GUARD}{body}"))
}
// ANCHOR_END: guard

// ANCHOR: take
/// Takes a range: first one whose holder has been silent longer than the
/// lease (XAUTOCLAIM), else a new one (XREADGROUP). A range delivered too
/// often goes to the dead letters instead.
/// KEYS: stop alive end found workers tasks dead news.
/// ARGV: token ttl group consumer lease max_deliveries name.
static TAKE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
seen(KEYS[5], ARGV[4])
if stop ~= '0' then return {'stopped'} end
if redis.call('EXISTS', KEYS[3]) == 1 then return {'end'} end
if redis.call('EXISTS', KEYS[4]) == 1 then return {'wait'} end
for _ = 1, 100 do
  local p = redis.call('XPENDING', KEYS[6], ARGV[3], 'IDLE', ARGV[5], '-', '+', 1)
  if #p == 0 then break end
  local id, from, idle, count = p[1][1], p[1][2], p[1][3], p[1][4]
  local claimed = redis.call('XAUTOCLAIM', KEYS[6], ARGV[3], ARGV[4], ARGV[5], id, 'COUNT', 1)
  local e = claimed[2][1]
  if e and e[1] == id then
    local range, deliveries = tonumber(e[2][2]), count + 1
    if deliveries > tonumber(ARGV[6]) then
      redis.call('XADD', KEYS[7], '*', 'range', range, 'last', from, 'deliveries', deliveries)
      redis.call('EXPIRE', KEYS[7], ttl)
      redis.call('XACK', KEYS[6], ARGV[3], id)
      redis.call('RPUSH', KEYS[8], cjson.encode({Dead = {range = range, last = from, deliveries = deliveries}}))
      redis.call('EXPIRE', KEYS[8], ttl)
    else
      redis.call('RPUSH', KEYS[8], cjson.encode({Reclaimed = {worker = ARGV[7], range = range,
        from = from, silent_ms = idle, deliveries = deliveries}}))
      redis.call('EXPIRE', KEYS[8], ttl)
      return {'task', id, e[2][4]}
    end
  end
end
local r = redis.call('XREADGROUP', 'GROUP', ARGV[3], ARGV[4], 'COUNT', 1, 'STREAMS', KEYS[6], '>')
if not r then return {'idle'} end
local e = r[1][2][1]
return {'task', e[1], e[2][4]}
",
    )
});
// ANCHOR_END: take

// ANCHOR: look
/// A look during a search: adds progress, renews the lease on the range
/// (XCLAIM of one's own entry, which resets its idle time), and says whether
/// to go on. KEYS: stop alive end found progress workers tasks.
/// ARGV: token ttl group consumer id name step.
static LOOK: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
redis.call('HINCRBY', KEYS[5], ARGV[6], ARGV[7])
redis.call('EXPIRE', KEYS[5], ttl)
seen(KEYS[6], ARGV[4])
if stop ~= '0' then return {'stopped'} end
if redis.call('EXISTS', KEYS[3]) == 1 or redis.call('EXISTS', KEYS[4]) == 1 then
  return {'found'}
end
local p = redis.call('XPENDING', KEYS[7], ARGV[3], ARGV[5], ARGV[5], 1)
if #p == 0 or p[1][2] ~= ARGV[4] then return {'lost'} end
redis.call('XCLAIM', KEYS[7], ARGV[3], ARGV[4], 0, ARGV[5], 'JUSTID')
return {'go'}
",
    )
});
// ANCHOR_END: look

// ANCHOR: report
/// A range searched: its result under its number, unless one is there
/// already (HSETNX), the news, the acknowledgement, and for a factor the
/// found key that stops the others.
/// KEYS: stop alive results news tasks found. ARGV: token ttl group id range
/// result news factor-or-empty.
static REPORT: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local first = redis.call('HSETNX', KEYS[3], ARGV[5], ARGV[6])
redis.call('EXPIRE', KEYS[3], ttl)
redis.call('RPUSH', KEYS[4], ARGV[7])
redis.call('EXPIRE', KEYS[4], ttl)
redis.call('XACK', KEYS[5], ARGV[3], ARGV[4])
if ARGV[8] ~= '' then redis.call('SET', KEYS[6], ARGV[8], 'NX', 'EX', ttl) end
return {'ok', tostring(first)}
",
    )
});
// ANCHOR_END: report

/// Joins, or leaves, with news for the coordinator.
/// KEYS: stop alive workers news. ARGV: token ttl consumer news-or-empty.
static HELLO: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
seen(KEYS[3], ARGV[3])
if ARGV[4] ~= '' then
  redis.call('RPUSH', KEYS[4], ARGV[4])
  redis.call('EXPIRE', KEYS[4], ttl)
end
return {'ok'}
",
    )
});

// ANCHOR: claim
/// Claims the run's name: fails if any key of the run exists, so no
/// leftover of an earlier run can be taken for this one's. Creates the stop
/// key, the heartbeat with this coordinator's token, the settings and the
/// stream with its group, each with its TTL.
/// KEYS: all of them, stop first. ARGV: token ttl heartbeat_ms group lease
/// max_deliveries.
static CLAIM: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
for _, k in ipairs(KEYS) do
  if redis.call('EXISTS', k) == 1 then return k end
end
redis.call('SET', KEYS[1], '0', 'EX', ARGV[2])
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3])
redis.call('HSET', KEYS[3], 'lease_ms', ARGV[5], 'max_deliveries', ARGV[6])
redis.call('EXPIRE', KEYS[3], ARGV[2])
redis.call('XGROUP', 'CREATE', KEYS[4], ARGV[4], '$', 'MKSTREAM')
redis.call('EXPIRE', KEYS[4], ARGV[2])
return ''
",
    )
});
// ANCHOR_END: claim

/// Puts the ranges on the stream, if the run is still this coordinator's.
/// KEYS: stop alive tasks. ARGV: token ttl task...
static QUEUE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
for i = 3, #ARGV do
  redis.call('XADD', KEYS[3], '*', 'range', i - 3, 'task', ARGV[i])
end
redis.call('EXPIRE', KEYS[3], ttl)
return {'ok'}
",
    )
});

/// A worker's view of its run: the keys, the coordinator's token, and its
/// connection. Every write goes through one of the scripts above.
struct Worker<'a> {
    url: &'a RedisUrl,
    run: &'a str,
    keys: Keys,
    conn: RefCell<Connection>,
    token: String,
    name: String,
    /// Unique to this process: the consumer the stream knows it by.
    consumer: String,
    lease_ms: u64,
    max_deliveries: u64,
}

impl Worker<'_> {
    // ANCHOR: call
    /// Runs a worker script; the run's absence or its coordinator's is an
    /// error that says which.
    fn call(
        &self,
        script: &Script,
        keys: &[&str],
        args: &[&str],
    ) -> anyhow::Result<Vec<String>> {
        let mut inv = script.key(&self.keys.stop);
        inv.key(&self.keys.alive);
        for k in keys {
            inv.key(*k);
        }
        inv.arg(&self.token).arg(TTL_SECONDS);
        for a in args {
            inv.arg(a);
        }
        let reply: Vec<String> = (inv.invoke(&mut *self.conn.borrow_mut()))
            .map_err(|e| lost(self.url, e))?;
        match reply.first().map(String::as_str) {
            Some("gone") => bail!(
                "the coordinator of run {} is gone: the run's stop key {} no \
                 longer exists (deleted at the run's end, on an interrupt, or \
                 by hand)",
                self.run,
                self.keys.stop
            ),
            Some("orphaned") => bail!(
                "the coordinator of run {} is gone: its heartbeat {} was not \
                 renewed for {} ms",
                self.run,
                self.keys.alive,
                HEARTBEAT_MS
            ),
            _ => Ok(reply),
        }
    }
    // ANCHOR_END: call

    fn hello(&self, news: Option<&News>) -> anyhow::Result<()> {
        let text = news.map(encode).unwrap_or_default();
        let keys = [&*self.keys.workers, &*self.keys.news];
        self.call(&HELLO, &keys, &[&self.consumer, &text]).map(drop)
    }
}

// ANCHOR: flag
/// A worker's stop flag for one range: each look is one script that adds
/// the progress, renews the lease on the range and reads the run's keys.
struct RunFlag<'a> {
    worker: &'a Worker<'a>,
    /// The stream entry of the range being searched.
    id: &'a str,
    /// Candidates tried between two looks, added to the progress each time.
    step: u64,
    /// Why the last look said stop: "stopped", "found" or "lost".
    verdict: Cell<&'static str>,
    slow: Duration,
}

impl StopFlag for RunFlag<'_> {
    fn is_set(&self) -> anyhow::Result<bool> {
        std::thread::sleep(self.slow);
        let w = self.worker;
        let k = &w.keys;
        let keys = [&*k.end, &*k.found, &*k.progress, &*k.workers, &*k.tasks];
        let reply = w.call(
            &LOOK,
            &keys,
            &[GROUP, &w.consumer, self.id, &w.name, &self.step.to_string()],
        )?;
        let verdict = match reply[0].as_str() {
            "go" => return Ok(false),
            "stopped" => "stopped",
            "found" => "found",
            _ => "lost",
        };
        self.verdict.set(verdict);
        Ok(true)
    }

    /// Nothing yet: the report that follows sets the found key in the same
    /// step as it records the result, so no factor is ever announced that a
    /// worker killed a moment later would take with it.
    fn raise(&self) -> anyhow::Result<()> {
        Ok(())
    }

    /// The program never lowers anything: the stop key is only ever created
    /// (as "0"), and only a person raises it.
    fn lower(&self) -> anyhow::Result<()> {
        bail!("a worker never lowers the run's stop key")
    }
}
// ANCHOR_END: flag

// ANCHOR: join
/// A worker: take a range, search it, report, until the run ends.
pub fn join(args: &Join) -> anyhow::Result<()> {
    if args.local {
        interrupt::worker_defers_to_parent()?;
    }
    let url = &args.server.redis_url;
    let run = &args.run_id;
    let keys = Keys::of(run);
    let name = args.name.clone().unwrap_or_else(default_name);
    let mut conn = connect(url)?;
    let (stop, token): (Option<String>, Option<String>) = redis::pipe()
        .get(&keys.stop)
        .get(&keys.alive)
        .query(&mut conn)
        .map_err(|e| lost(url, e))?;
    let (Some(_), Some(token)) = (stop, token) else {
        bail!(
            "there is no run {run} at {url}: start one with `06-redis-flag coordinate`, \
             and pass the run id it prints"
        );
    };
    let meta: BTreeMap<String, u64> =
        conn.hgetall(&keys.meta).map_err(|e| lost(url, e))?;
    let worker = Worker {
        url,
        run,
        conn: RefCell::new(conn),
        token,
        consumer: format!("{name}#{}.{}", std::process::id(), clock::now_ns()),
        name,
        lease_ms: meta.get("lease_ms").copied().unwrap_or(5_000),
        max_deliveries: meta.get("max_deliveries").copied().unwrap_or(3),
        keys,
    };
    worker.hello(None)?;
    let name = &worker.name;
    eprintln!("{name} joined run {run}; waiting for work");
    loop {
        let k = &worker.keys;
        let keys = [
            &*k.end,
            &*k.found,
            &*k.workers,
            &*k.tasks,
            &*k.dead,
            &*k.news,
        ];
        let w = &worker;
        let taken = w.call(
            &TAKE,
            &keys,
            &[
                GROUP,
                &w.consumer,
                &w.lease_ms.to_string(),
                &w.max_deliveries.to_string(),
                name,
            ],
        )?;
        let (id, text) = match taken[0].as_str() {
            "task" => (&taken[1], &taken[2]),
            "end" => {
                let consumer = worker.consumer.clone();
                let bye = News::Finished {
                    worker: name.clone(),
                    consumer,
                };
                worker.hello(Some(&bye))?;
                return Ok(());
            }
            "stopped" => {
                eprintln!("{name}: run {run} was stopped from outside");
                let consumer = worker.consumer.clone();
                let bye = News::Finished {
                    worker: name.clone(),
                    consumer,
                };
                return worker.hello(Some(&bye));
            }
            // A factor found and the end not yet set: a moment's wait.
            "wait" => {
                std::thread::sleep(IDLE_POLL / 10);
                continue;
            }
            // Nothing to take, for now.
            _ => {
                std::thread::sleep(IDLE_POLL);
                continue;
            }
        };
        let task: Task =
            serde_json::from_str(text).context("a task I cannot read")?;
        let flag = RunFlag {
            worker: &worker,
            id,
            step: task.check_every,
            verdict: Cell::new(""),
            slow: Duration::from_millis(args.slow_ms),
        };
        let searched = search(task.n, task.ks, task.check_every, &flag)?;
        // Stopped mid-range: the next take says why, or hands out more work
        // (the lease was lost to a worker that took the range over).
        if searched.outcome == Outcome::Stopped {
            continue;
        }
        let news = News::Done {
            worker: name.clone(),
            range: task.range,
            searched,
        };
        let k = &worker.keys;
        let keys = [&*k.results, &*k.news, &*k.tasks, &*k.found];
        let factor = match searched.outcome {
            Outcome::Found(d) => d.to_string(),
            _ => String::new(),
        };
        let (range, result) = (task.range.to_string(), encode(&searched));
        let news = encode(&news);
        worker.call(
            &REPORT,
            &keys,
            &[GROUP, id, &range, &result, &news, &factor],
        )?;
    }
}
// ANCHOR_END: join

/// The command that joins run `run` from this repository, as a student runs
/// the programs. A URL with a password is left to REDIS_URL, never put on a
/// command line.
fn join_command(url: &RedisUrl, run: &str) -> String {
    let server = match url.has_password() {
        true => String::new(),
        false => format!(" --redis-url {}", crate::shell_word(&url.0)),
    };
    format!("cargo run --bin 06-redis-flag -- join{server} --run-id {run}")
}

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
    /// This coordinator's own: the heartbeat holds it.
    token: String,
    /// When every key's TTL was last renewed.
    refreshed: Cell<Option<Instant>>,
    _on_signal: OnSignal,
}

impl<'a> RunKeys<'a> {
    /// Claims the run's name: fails if any key of a run of that name exists.
    fn claim(
        url: &'a RedisUrl,
        keys: &'a Keys,
        run: &str,
        args: &Coordinate,
    ) -> anyhow::Result<Self> {
        let mut conn = connect(url)?;
        let token = format!("{}-{}", std::process::id(), clock::now_ns());
        // Claim and register the clean-up as one step: no Ctrl-C between.
        let _on_signal = interrupt::creating(|| {
            let mut claim = CLAIM.prepare_invoke();
            for key in keys.all() {
                claim.key(key);
            }
            claim
                .arg(&token)
                .arg(TTL_SECONDS)
                .arg(HEARTBEAT_MS)
                .arg(GROUP)
                .arg(args.lease_ms)
                .arg(args.max_deliveries);
            let taken: String = claim.invoke(&mut conn).map_err(|e| lost(url, e))?;
            if !taken.is_empty() {
                bail!(
                    "a run named {run} exists at {url} (key {taken} is there): \
                     choose another --run-id"
                );
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
            token,
            refreshed: Cell::new(None),
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

    // ANCHOR: beat
    /// Renews the heartbeat (and, once a second, every key's lifetime), and
    /// reads the stop key: what stopped the run from outside, if anything.
    fn beat(&self) -> anyhow::Result<Option<Stopped>> {
        let mut pipe = redis::pipe();
        pipe.get(&self.keys.stop);
        pipe.cmd("SET")
            .arg(&self.keys.alive)
            .arg(&self.token)
            .arg("XX")
            .arg("PX")
            .arg(HEARTBEAT_MS);
        let due = (self.refreshed.get()).is_none_or(|t| t.elapsed().as_secs() >= 1);
        if due {
            for key in self.keys.all() {
                pipe.expire(key, TTL_SECONDS as i64).ignore();
            }
            self.refreshed.set(Some(Instant::now()));
        }
        let (stop, renewed): (Option<String>, Option<String>) =
            self.with(|c| pipe.query(c))?;
        if renewed.is_none() {
            bail!(
                "the heartbeat {} expired before this coordinator renewed it: \
                 the workers have left",
                self.keys.alive
            );
        }
        Ok(match stop.as_deref() {
            None => Some(Stopped::Deleted),
            Some("0") => None,
            Some(v) => Some(Stopped::Set(v.to_string())),
        })
    }
    // ANCHOR_END: beat

    /// The next piece of news, waiting a quarter of a second at most.
    fn next_news(&self) -> anyhow::Result<Option<News>> {
        let popped: Option<(String, String)> =
            self.with(|c| c.blpop(&self.keys.news, 0.25))?;
        popped
            .map(|(_, text)| {
                serde_json::from_str(&text).context("news I cannot read")
            })
            .transpose()
    }
}

/// How a run was stopped from outside.
#[derive(Debug)]
enum Stopped {
    /// Someone set the stop key (to this).
    Set(String),
    /// Someone deleted it: the run is gone.
    Deleted,
}

impl RunKeys<'_> {
    /// Deletes every key of the run (dropping does it too, quietly).
    fn delete_all(&self) -> anyhow::Result<()> {
        self.with(|c| c.del::<_, ()>(&self.keys.all()[..]))
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

// ANCHOR: tally
/// What the coordinator has heard so far.
#[derive(Debug, Default)]
struct Tally {
    /// Per worker name.
    workers: BTreeMap<String, WorkerLine>,
    /// Ranges whose results came back, each once.
    done: BTreeSet<u64>,
    /// Results for ranges already done.
    duplicates: u64,
    reclaims: Vec<Reclaim>,
    dead: Vec<DeadLetter>,
    /// Consumers that answered the end.
    finished: BTreeSet<String>,
    /// The smallest factor any worker found.
    factor: Option<u64>,
}
// ANCHOR_END: tally

impl Tally {
    fn note(&mut self, news: News) {
        match news {
            News::Done {
                worker,
                range,
                searched,
            } => {
                if !self.done.insert(range) {
                    self.duplicates += 1;
                    return;
                }
                let line = self.workers.entry(worker).or_default();
                line.ranges += 1;
                line.tried += searched.checked;
                if let Outcome::Found(d) = searched.outcome {
                    self.factor = Some(self.factor.map_or(d, |f| f.min(d)));
                }
            }
            News::Reclaimed {
                worker,
                range,
                from,
                silent_ms,
                deliveries,
            } => {
                self.workers.entry(worker.clone()).or_default().took_over += 1;
                self.reclaims.push(Reclaim {
                    range,
                    from,
                    by: worker,
                    silent_ms,
                    deliveries,
                });
            }
            News::Dead {
                range,
                last,
                deliveries,
            } => self.dead.push(DeadLetter {
                range,
                last,
                deliveries,
            }),
            News::Finished { worker, consumer } => {
                self.workers.entry(worker).or_default().answered_pill = true;
                self.finished.insert(consumer);
            }
        }
    }

    /// Every range is done or dead: nothing more can come.
    fn complete(&self, chunks: u64) -> bool {
        let dead: BTreeSet<u64> = self.dead.iter().map(|d| d.range).collect();
        self.done.union(&dead).count() as u64 >= chunks
    }
}

pub fn coordinate(args: &Coordinate) -> anyhow::Result<()> {
    let url = &args.server.redis_url;
    let run = (args.run_id.clone())
        .unwrap_or_else(|| format!("{}-{}", std::process::id(), clock::now_ns()));
    let keys = Keys::of(&run);
    let redis = RunKeys::claim(url, &keys, &run, args)?;
    let (n, _) = args.search.case.number();
    let total = candidates(n);
    let chunks = u64::from(args.chunks);

    // ANCHOR: queue
    // The work queue of chapter 1, on a real server: one range per entry of
    // a stream, which remembers who holds each one until it is acknowledged.
    let start = clock::now_ns();
    let mut queue = QUEUE.key(&keys.stop);
    queue.key(&keys.alive).key(&keys.tasks);
    queue.arg(&redis.token).arg(TTL_SECONDS);
    for range in 0..chunks {
        let ks = total * range / chunks..total * (range + 1) / chunks;
        let check_every = args.search.check_every;
        queue.arg(encode(&Task {
            n,
            range,
            ks,
            check_every,
        }));
    }
    redis.with(|c| queue.invoke::<Vec<String>>(c))?;
    // ANCHOR_END: queue
    let cli = url.cli();
    // A URL with a password goes in REDIS_URL, never on a command line.
    let join = match url.has_password() {
        true => format!(
            "Start workers here or on any machine that reaches this Redis, with \
             REDIS_URL set to {url} (the password in place of <password>):\n  {}",
            join_command(url, &run)
        ),
        false => format!(
            "Start workers here or on any machine that reaches this Redis:\n  {}",
            join_command(url, &run)
        ),
    };
    eprintln!(
        "Run {run}: {chunks} ranges of divisors of {n} wait on stream {}.\n{join}\n\
         Watch:  {cli} HGETALL {}\n\
         Stop:   {cli} SET {} 1",
        keys.tasks, keys.progress, keys.stop
    );
    let mut locals = start_locals(args, &run)?;

    // ANCHOR: collect
    let mut tally = Tally::default();
    let idle = Duration::from_secs(args.idle_secs);
    let mut heard = Instant::now();
    // Until a factor is found or every range is done (or dead).
    while tally.factor.is_none() && !tally.complete(chunks) {
        match redis.beat()? {
            None => {}
            // The workers stop at their next look; let them say so before
            // their run's keys go. A deleted stop key: they know already.
            Some(Stopped::Set(v)) => {
                let deadline = Instant::now() + Duration::from_secs(5);
                let _ = wait_for_live(&redis, &mut tally, args.lease_ms, deadline);
                bail!("stopped from outside: the stop key was set to {v}")
            }
            Some(Stopped::Deleted) => {
                bail!("stopped from outside: the run's stop key was deleted")
            }
        }
        match redis.next_news()? {
            Some(news) => {
                tally.note(news);
                heard = Instant::now();
            }
            None if heard.elapsed() > idle => bail!(
                "no news for {} s ({} of {chunks} ranges reported): \
                 start a worker with `{}`",
                idle.as_secs(),
                tally.done.len(),
                join_command(url, &run)
            ),
            None => {}
        }
        locals.check()?;
    }
    let answer_ns = clock::now_ns() - start;
    // ANCHOR_END: collect

    // From here on the answer is known: whatever goes wrong in the ending
    // is a warning under it, not a reason to lose it.
    let ended = end_run(&redis, &mut tally, &mut locals, args.lease_ms);
    let shutdown_ns = clock::now_ns() - start - answer_ns;
    // Every key goes now, so that the report can say so; if Redis is gone
    // too, each key's lifetime does it.
    let keys_deleted = redis.delete_all().is_ok();
    let report = DistributedReport {
        run,
        case: args.search.case,
        n,
        chunks: args.chunks,
        check_every: args.search.check_every,
        factor: tally.factor,
        ranges_reported: tally.done.len() as u64,
        duplicates: tally.duplicates,
        lease_ms: args.lease_ms,
        max_deliveries: args.max_deliveries,
        reclaims: tally.reclaims,
        dead_letters: tally.dead,
        workers: tally.workers,
        answer_ns,
        shutdown_ns,
        keys_deleted,
    };
    if args.search.json {
        print_json(&report)?;
    } else {
        print_run(&report);
    }
    if let Err(e) = ended {
        eprintln!("warning: after the answer: {e:#}");
    }
    if report.factor.is_none() && !report.dead_letters.is_empty() {
        let ranges: Vec<String> = (report.dead_letters.iter())
            .map(|d| d.range.to_string())
            .collect();
        bail!(
            "no answer: range(s) {} went to the dead letters ({}) after {} \
             deliveries, each to a worker that went silent",
            ranges.join(", "),
            keys.dead,
            args.max_deliveries
        );
    }
    args.search.case.confirm(report.factor)
}

// ANCHOR: end
/// Chapter 2's ending, for workers that come and go: one end key for all,
/// then an answer from every worker still alive (heard within the lease),
/// then the local workers reaped.
fn end_run(
    redis: &RunKeys,
    tally: &mut Tally,
    locals: &mut Locals,
    lease_ms: u64,
) -> anyhow::Result<()> {
    let keys = redis.keys;
    redis.with(|c| c.set_ex::<_, _, ()>(&keys.end, 1, TTL_SECONDS))?;
    let deadline = Instant::now() + Duration::from_secs(10);
    wait_for_live(redis, tally, lease_ms, deadline)?;
    locals.reap(deadline)
}
// ANCHOR_END: end

/// Waits until every worker heard within the lease has said it is leaving.
fn wait_for_live(
    redis: &RunKeys,
    tally: &mut Tally,
    lease_ms: u64,
    deadline: Instant,
) -> anyhow::Result<()> {
    let keys = redis.keys;
    loop {
        let (seen, (secs, micros)): (BTreeMap<String, u64>, (u64, u64)) = redis
            .with(|c| redis::pipe().hgetall(&keys.workers).cmd("TIME").query(c))?;
        let now_ms = secs * 1000 + micros / 1000;
        let waiting = (seen.iter())
            .filter(|(c, at)| {
                !tally.finished.contains(*c)
                    && now_ms.saturating_sub(**at) <= lease_ms
            })
            .count();
        if waiting == 0 {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{waiting} live worker(s) never said they were leaving");
        }
        // Keep the heartbeat up: a worker mid-range must hear the end, not
        // think us gone. The stop key no longer matters.
        let _ = redis.beat();
        if let Some(news) = redis.next_news()? {
            tally.note(news);
        }
    }
}

impl Locals {
    /// A local worker that exited with an error before the end: say so.
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

    /// Waits until `deadline` for every local worker, told the run has
    /// ended, to exit.
    fn reap(&mut self, deadline: Instant) -> anyhow::Result<()> {
        for (i, child) in self.0.iter_mut().enumerate() {
            let left = deadline.saturating_duration_since(Instant::now());
            let exited =
                workers::ps::wait_for(left, || child.try_wait().ok().flatten());
            match exited {
                Some(s) if s.success() => interrupt::unwatch_child(child.id()),
                Some(s) => bail!("local worker {i} {}", workers::pool::describe(s)),
                None => bail!("local worker {i} did not exit after the end"),
            }
        }
        Ok(())
    }
}

fn print_run(r: &DistributedReport) {
    println!(
        "Run {}: is {} prime? {} ranges of divisors from 3 to {}, on a Redis stream;\n\
         workers look at the run's keys every {} candidates, and lose a range \
         after {} ms of silence.\n",
        r.run,
        r.n,
        r.chunks,
        candidate(candidates(r.n) - 1),
        r.check_every,
        r.lease_ms
    );
    match r.factor {
        Some(d) => println!(
            "Found: {} = {d} x {}, after {}.",
            r.n,
            r.n / d,
            human_ns(r.answer_ns as f64)
        ),
        None if r.dead_letters.is_empty() => println!(
            "No divisor: {} is prime. Every range searched in {}.",
            r.n,
            human_ns(r.answer_ns as f64)
        ),
        None => println!(
            "No divisor found, but {} range(s) went to the dead letters: no answer.",
            r.dead_letters.len()
        ),
    }
    println!(
        "{} of {} ranges reported; {} searched twice, {} taken over, {} dead-lettered.\n",
        r.ranges_reported,
        r.chunks,
        r.duplicates,
        r.reclaims.len(),
        r.dead_letters.len()
    );
    let mut t = Table::new([
        "worker",
        "ranges",
        "candidates tried",
        "taken over",
        "answered the end",
    ]);
    for (name, w) in &r.workers {
        let pill = if w.answered_pill { "yes" } else { "no" };
        t.row([
            name.clone(),
            w.ranges.to_string(),
            w.tried.to_string(),
            w.took_over.to_string(),
            pill.to_string(),
        ]);
    }
    print!("{t}");
    for d in &r.dead_letters {
        println!(
            "Dead letter: range {} after {} deliveries, last to {}.",
            d.range, d.deliveries, d.last
        );
    }
    let keys = match r.keys_deleted {
        true => "every key of the run is deleted".to_string(),
        false => format!(
            "the run's keys could not be deleted; they expire within {TTL_SECONDS} s"
        ),
    };
    println!(
        "Every live worker answered the end {} after the answer; {keys}.",
        human_ns(r.shutdown_ns as f64)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(worker: &str, range: u64, outcome: Outcome) -> News {
        let searched = Searched {
            outcome,
            checked: 10,
            checks: 1,
        };
        News::Done {
            worker: worker.into(),
            range,
            searched,
        }
    }

    #[test]
    fn a_range_done_twice_counts_once_and_the_second_is_a_duplicate() {
        let mut tally = Tally::default();
        tally.note(done("a", 0, Outcome::Exhausted));
        tally.note(done("b", 0, Outcome::Exhausted));
        tally.note(done("b", 1, Outcome::Found(7)));
        assert_eq!((tally.done.len(), tally.duplicates), (2, 1));
        assert_eq!(tally.workers["a"].ranges + tally.workers["b"].ranges, 2);
        assert_eq!(tally.factor, Some(7));
        assert!(tally.complete(2) && !tally.complete(3));
    }

    #[test]
    fn dead_letters_complete_the_tally_but_give_no_answer() {
        let mut tally = Tally::default();
        tally.note(done("a", 0, Outcome::Exhausted));
        let (last, deliveries) = ("x#1".to_string(), 4);
        tally.note(News::Dead {
            range: 1,
            last,
            deliveries,
        });
        assert!(tally.complete(2));
        assert_eq!((tally.factor, tally.dead.len()), (None, 1));
    }

    #[test]
    fn news_written_by_lua_reads_back() {
        // cjson's spelling of what the take script pushes.
        let text = r#"{"Reclaimed":{"worker":"w","range":3,"from":"v#1.2","silent_ms":1004,"deliveries":2}}"#;
        let news: News = serde_json::from_str(text).unwrap();
        assert!(matches!(news, News::Reclaimed { range: 3, .. }));
        let text = r#"{"Dead":{"range":5,"last":"v#1.2","deliveries":4}}"#;
        assert!(serde_json::from_str::<News>(text).is_ok());
    }
}
