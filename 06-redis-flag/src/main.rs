//! Chapter 6: the stop flag is a key in Redis, reachable from anywhere.
//!
//! Run it: start a server (`redis-server`), then `cargo run --bin 06-redis-flag`
//! (or `cargo run -p redis-flag`). Try `--case prime`, `--check-every 1000`,
//! `--redis-url redis://:password@host:6379/2`, `--help`.
//!
//! Redis is a server that holds keys in memory and answers commands over TCP.
//! Every worker opens its own connection, and a look at the flag is a `GET`:
//! a request, a reply, two trips through the kernel's network stack and a
//! wake-up of the server. In exchange the flag can be read and set by any
//! program in any language on any machine that reaches the server, including
//! `redis-cli` in another terminal.

mod distributed;

use anyhow::Context;
use clap::{Parser, Subcommand};
use redis::{
    Client, Commands, Connection, ErrorKind, IntoConnectionInfo, RedisError,
};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, LazyLock, Mutex, OnceLock};
use std::time::Duration;
use workers::WorkerArgs;
use workers::flag::{self, Order, Parent, SearchArgs, Timing};
use workers::interrupt::OnSignal;
use workers::search::StopFlag;

/// How long connecting may take before we say that no Redis is there.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one command may wait for its reply: a stalled server then fails
/// the run instead of hanging it.
const IO_TIMEOUT: Duration = Duration::from_secs(2);
/// The key's lifetime, renewed by every write: a run killed outright leaves
/// its key behind for ten minutes at most.
const TTL_SECONDS: u64 = 600;

/// Workers search for a factor and stop early on a shared flag: a key in
/// Redis.
#[derive(Debug, Parser)]
#[command(name = "06-redis-flag", args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(flatten)]
    server: Server,
    // A look costs a network round trip, tens of microseconds: at 1000
    // candidates between looks the workers would mostly wait for Redis, so
    // the default is 100,000.
    #[command(flatten)]
    search: SearchArgs<100_000>,
    #[command(flatten)]
    timing: Timing,
    /// Push instead of poll: each process hears the flag through pub/sub on
    /// a thread of its own, and a look reads local memory (try with
    /// --check-every 1000)
    #[arg(long)]
    push: bool,
    #[command(subcommand)]
    role: Option<Role>,
}

#[derive(Debug, Subcommand)]
enum Role {
    /// Across machines: put the search on Redis as ranges of divisors, and
    /// collect the results
    Coordinate(distributed::Coordinate),
    /// Across machines: work for a coordinator, taking ranges from its Redis
    /// list until a pill
    Join(distributed::Join),
    /// Internal: run as a worker process (started by the parent).
    #[command(hide = true)]
    Worker(WorkerArgs),
}

/// Where the Redis server is.
#[derive(Debug, Clone, clap::Args)]
struct Server {
    /// The server: redis://[[user]:password@]host[:port][/database]
    #[arg(
        long,
        env = "REDIS_URL",
        hide_env_values = true,
        default_value = "redis://127.0.0.1:6379",
        value_parser = RedisUrl::parse
    )]
    redis_url: RedisUrl,
}

/// A Redis URL that never shows its password: not in reports, errors or
/// `--help`. Workers receive it over their channel, not on their command line,
/// so it is not visible to `ps` either.
#[derive(Clone, Serialize, Deserialize)]
struct RedisUrl(String);

impl RedisUrl {
    /// Accepts what the redis crate accepts; clap turns an error into exit 2.
    fn parse(s: &str) -> Result<RedisUrl, String> {
        match s.into_connection_info() {
            Ok(_) => Ok(RedisUrl(s.to_string())),
            Err(e) => {
                Err(format!("not a Redis URL ({e}); expected redis://host:port"))
            }
        }
    }

    /// The URL with any password replaced by `<password>`.
    fn redacted(&self) -> String {
        let Some((scheme, rest)) = self.0.split_once("://") else {
            return self.0.clone();
        };
        let authority_end = rest.find('/').unwrap_or(rest.len());
        match rest[..authority_end].rsplit_once('@') {
            Some((user_info, host)) => {
                let user = user_info.split_once(':').map_or("", |(u, _)| u);
                let tail = &rest[authority_end..];
                format!("{scheme}://{user}:<password>@{host}{tail}")
            }
            None => self.0.clone(),
        }
    }
}

impl std::fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl std::fmt::Display for RedisUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

// ANCHOR: connect
/// Opens a connection with a deadline on connecting and on every reply.
/// Without them a dead or stalled server hangs the program forever.
fn connect(url: &RedisUrl) -> anyhow::Result<Connection> {
    let explain = |e: RedisError| explain(url, e);
    let client = Client::open(url.0.as_str()).map_err(explain)?;
    let conn = client
        .get_connection_with_timeout(CONNECT_TIMEOUT)
        .map_err(explain)?;
    conn.set_read_timeout(Some(IO_TIMEOUT)).map_err(explain)?;
    conn.set_write_timeout(Some(IO_TIMEOUT)).map_err(explain)?;
    Ok(conn)
}
// ANCHOR_END: connect

/// One line that says what failed and what to do about it.
fn explain(url: &RedisUrl, e: RedisError) -> anyhow::Error {
    let why = first_line(&e);
    if e.kind() == ErrorKind::AuthenticationFailed
        || e.code().is_some_and(|c| c == "WRONGPASS" || c == "NOAUTH")
    {
        anyhow::anyhow!(
            "Redis at {url} refused our credentials ({why}): check the password in --redis-url"
        )
    } else if e.is_connection_refusal() || e.is_timeout() || e.is_io_error() {
        anyhow::anyhow!(
            "cannot reach Redis at {url} ({why}): start one with `redis-server`, or \
             point --redis-url (or REDIS_URL) at yours"
        )
    } else {
        anyhow::anyhow!(
            "the server at {url} does not answer as Redis does ({why}): is \
             --redis-url pointing at a Redis server?"
        )
    }
}

/// A command failed after we had connected: the server went away or stalled.
fn lost(url: &RedisUrl, e: RedisError) -> anyhow::Error {
    let why = first_line(&e);
    anyhow::anyhow!(
        "Redis at {url} stopped answering mid-run ({why}); the run cannot go on"
    )
}

/// The first line of a Redis error: some carry the bytes they could not
/// parse on lines of their own.
fn first_line(e: &RedisError) -> String {
    e.to_string().lines().next().unwrap_or_default().to_string()
}

// ANCHOR: create
/// The run's key, as the parent created it: deleted at the end.
struct FlagKey {
    /// `stop-flag:<pid>-<clock>`: unique to this run, so no key left by an
    /// earlier or a crashed run, nor another run's, can stop this one.
    key: String,
    /// The parent's connection, kept to delete the key at the end.
    conn: Connection,
    /// Deletes the keys if Ctrl-C ends the run.
    _on_signal: OnSignal,
}

impl FlagKey {
    fn create(url: &RedisUrl, push: bool) -> anyhow::Result<FlagKey> {
        let mut conn = connect(url)?;
        let key = format!(
            "stop-flag:{}-{}",
            std::process::id(),
            workers::clock::now_ns()
        );
        // Create the key and register its clean-up as one step, so that no
        // Ctrl-C falls between the two.
        let _on_signal = workers::interrupt::creating(|| {
            // NX: create the key only if no such key exists; never take over one.
            let created: bool = redis::cmd("SET")
                .arg(&key)
                .arg(0)
                .arg("NX")
                .arg("EX")
                .arg(TTL_SECONDS)
                .query::<Option<String>>(&mut conn)
                .map_err(|e| explain(url, e))?
                .is_some();
            anyhow::ensure!(
                created,
                "key {key} already exists in Redis: not reusing it"
            );
            let (doomed_url, doomed_key) = (url.clone(), key.clone());
            anyhow::Ok(OnSignal::new(move || {
                if let Ok(mut c) = connect(&doomed_url) {
                    let _: redis::RedisResult<()> = c.del(run_keys(&doomed_key));
                }
            }))
        })?;
        let cli = format!("redis-cli -u {url}");
        let stop = if push { "PUBLISH" } else { "SET" };
        eprintln!(
            "The flag is key {key}. From another terminal:\n  \
             watch it: {cli} GET {key}\n  stop the run: {cli} {stop} {key} 1"
        );
        Ok(FlagKey {
            key,
            conn,
            _on_signal,
        })
    }
}

impl Drop for FlagKey {
    /// The run is over: its key goes. If Redis is gone too, the TTL does it.
    fn drop(&mut self) {
        let _: redis::RedisResult<()> = self.conn.del(run_keys(&self.key));
    }
}
// ANCHOR_END: create

/// Every key a run may create: the flag, and with `--push` its version.
fn run_keys(key: &str) -> Vec<String> {
    vec![key.to_string(), version_key(key)]
}

fn version_key(key: &str) -> String {
    format!("{key}:version")
}

// ANCHOR: check
/// One process's connection to the flag.
struct RedisFlag {
    url: RedisUrl,
    key: String,
    /// `Connection` needs `&mut` to send; the search holds the flag by `&`.
    conn: RefCell<Connection>,
    /// With `--push`: the flag as last heard, kept by a listener thread.
    heard: Option<Arc<Heard>>,
}

impl StopFlag for RedisFlag {
    /// A look at the flag: `GET key`, one round trip to the server. With
    /// `--push`, a load from this process's memory.
    fn is_set(&self) -> anyhow::Result<bool> {
        if let Some(heard) = &self.heard {
            return heard.is_set();
        }
        let value: Option<u8> = (self.conn.borrow_mut().get(&self.key))
            .map_err(|e| lost(&self.url, e))?;
        Ok(value == Some(1))
    }

    /// `SET key 1 EX ttl`: Redis runs one command at a time, so the write is
    /// whole, and every later `GET` from anywhere sees it.
    fn raise(&self) -> anyhow::Result<()> {
        self.write(1)
    }

    fn lower(&self) -> anyhow::Result<()> {
        self.write(0)
    }
}
// ANCHOR_END: check

impl RedisFlag {
    /// Connects to the server; with `push`, also starts the listener.
    fn open(url: RedisUrl, key: String, push: bool) -> anyhow::Result<RedisFlag> {
        let conn = connect(&url).context("a worker could not connect")?;
        let heard = match push {
            true => Some(Heard::listen(&url, &key)?),
            false => None,
        };
        Ok(RedisFlag {
            url,
            key,
            conn: RefCell::new(conn),
            heard,
        })
    }

    /// With `--push`, catch up before a search: read the key and its version
    /// once, so a late message about the last search cannot stop this one.
    fn catch_up(&self) -> anyhow::Result<()> {
        let Some(heard) = &self.heard else {
            return Ok(());
        };
        let (state, version): (Option<u8>, Option<u64>) = redis::cmd("MGET")
            .arg(run_keys(&self.key))
            .query(&mut *self.conn.borrow_mut())
            .map_err(|e| lost(&self.url, e))?;
        heard.apply(version.unwrap_or(0), state.unwrap_or(0));
        Ok(())
    }

    fn write(&self, state: u8) -> anyhow::Result<()> {
        let conn = &mut *self.conn.borrow_mut();
        let written = if self.heard.is_some() {
            (PUBLISH.key(&self.key).key(version_key(&self.key)))
                .arg(state)
                .arg(TTL_SECONDS)
                .invoke::<u64>(conn)
                .map(drop)
        } else {
            conn.set_ex(&self.key, state, TTL_SECONDS)
        };
        written.map_err(|e| lost(&self.url, e))
    }
}

// ANCHOR: push
/// `--push`: set the key and announce it, in one step on the server. The
/// message carries a version, so that a listener can tell a late message
/// about an earlier search from news.
static PUBLISH: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
        local version = redis.call('INCR', KEYS[2])
        redis.call('EXPIRE', KEYS[2], ARGV[2])
        redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
        redis.call('PUBLISH', KEYS[1], version .. ':' .. ARGV[1])
        return version",
    )
});

/// The flag as one process last heard it.
#[derive(Debug, Default)]
struct Heard {
    /// What a look reads: 1 once raised.
    state: AtomicU8,
    /// The version `state` came with; older news is ignored.
    version: Mutex<u64>,
    /// Why the listener stopped, if it did: every look then fails with it.
    failed: OnceLock<String>,
}

impl Heard {
    fn is_set(&self) -> anyhow::Result<bool> {
        if let Some(why) = self.failed.get() {
            anyhow::bail!("{why}");
        }
        Ok(self.state.load(Ordering::Acquire) != 0)
    }

    fn apply(&self, version: u64, state: u8) {
        let mut known = self.version.lock().unwrap_or_else(|e| e.into_inner());
        if version >= *known {
            *known = version;
            self.state.store(state, Ordering::Release);
        }
    }

    /// Subscribes to the flag's channel on a thread of its own, and returns
    /// once subscribed: from then on no raise can be missed.
    fn listen(url: &RedisUrl, channel: &str) -> anyhow::Result<Arc<Heard>> {
        let heard = Arc::new(Heard::default());
        let (ready, subscribed) = std::sync::mpsc::channel();
        let (url, name, mine) = (url.clone(), channel.to_string(), heard.clone());
        std::thread::spawn(move || {
            let listen = || -> anyhow::Result<()> {
                let mut conn = connect(&url)?;
                let mut sub = conn.as_pubsub();
                sub.subscribe(&name).map_err(|e| lost(&url, e))?;
                let _ = ready.send(Ok(()));
                // Wait for news as long as it takes; a server that dies
                // closes the socket, and that ends the wait.
                sub.set_read_timeout(None).map_err(|e| lost(&url, e))?;
                loop {
                    let msg = sub.get_message().map_err(|e| lost(&url, e))?;
                    let text: String =
                        msg.get_payload().map_err(|e| lost(&url, e))?;
                    // "version:state" from a run; a bare "1" from a person
                    // with redis-cli, which no later version overrides.
                    let (version, state) = match text.split_once(':') {
                        Some((v, s)) => {
                            (v.parse().unwrap_or(0), s.parse().unwrap_or(1))
                        }
                        None => (u64::MAX, text.parse().unwrap_or(1)),
                    };
                    mine.apply(version, state);
                }
            };
            if let Err(e) = listen() {
                let _ = mine.failed.set(format!("{e:#}"));
                let _ = ready.send(Err(e));
            }
        });
        match subscribed.recv_timeout(CONNECT_TIMEOUT + IO_TIMEOUT) {
            Ok(Ok(())) => Ok(heard),
            Ok(Err(e)) => Err(e),
            Err(_) => anyhow::bail!("could not subscribe to {channel} in time"),
        }
    }
}
// ANCHOR_END: push

// ANCHOR: main
fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.role {
        Some(Role::Worker(link)) => workers::run_worker(|| worker(link)),
        // Two more ways to run: a coordinator and its workers, on any
        // machines that reach one Redis (see `distributed.rs`).
        Some(Role::Coordinate(args)) => {
            workers::run_parent(|| distributed::coordinate(args))
        }
        Some(Role::Join(args)) => workers::run_worker(|| distributed::join(args)),
        None => workers::run_parent(|| parent(&cli)),
    }
}

fn parent(cli: &Cli) -> anyhow::Result<()> {
    // Create the flag: a key of this run's own, and a connection here.
    let url = &cli.server.redis_url;
    let key = FlagKey::create(url, cli.push)?;
    let flag = RedisFlag::open(url.clone(), key.key.clone(), cli.push)?;
    // Start the workers, send each the server, the key and the mode, and
    // wait until every one has connected.
    let mut pool = flag::Pool::start(&cli.timing)?;
    pool.open_flag(&(url.clone(), key.key.clone(), cli.push))?;
    // Search: released together, stopped by the first to find a factor.
    // Timed over repeats, with the cost of one look and the time to stop all.
    let measured = pool.measure(&flag, &cli.search, &cli.timing)?;
    // The poison pill for every worker, then reap them; dropping `key`
    // deletes the run's keys.
    pool.finish()?;
    let what = match cli.push {
        true => "a key in Redis, heard by pub/sub",
        false => "a key in Redis, read with GET",
    };
    let report = measured.report(what, &cli.search, &cli.timing, None)?;
    report.print(cli.search.json)
}
// ANCHOR_END: main

// ANCHOR: worker
fn worker(link: &WorkerArgs) -> anyhow::Result<()> {
    // Meet the parent; its first message is the server, the key and the mode.
    let (parent, (url, key, push)) =
        Parent::<(RedisUrl, String, bool)>::connect(link)?;
    // Connect, and tell the parent how that went: no search starts until
    // every worker has.
    let flag = parent.opened(RedisFlag::open(url, key, push))?;
    // Search when released, or time looks at the flag, until the pill.
    while let Some(order) = parent.next_order()? {
        // Pushed news can arrive late: before a search, read the key itself.
        if matches!(order, Order::Search { .. }) {
            flag.catch_up()?;
        }
        parent.obey(order, &flag)?;
    }
    Ok(())
}
// ANCHOR_END: worker

#[cfg(test)]
mod tests {
    use super::RedisUrl;

    #[test]
    fn passwords_are_never_shown() {
        let url = |s: &str| RedisUrl::parse(s).unwrap().redacted();
        assert_eq!(url("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
        assert_eq!(
            url("redis://:s3cret@db.example:6380/2"),
            "redis://:<password>@db.example:6380/2"
        );
        assert_eq!(
            url("redis://ann:s3cret@db.example/0"),
            "redis://ann:<password>@db.example/0"
        );
        let shown = format!("{:?}", RedisUrl::parse("redis://:pw@h:1").unwrap());
        assert!(!shown.contains("pw@"), "{shown}");
    }

    #[test]
    fn malformed_urls_are_refused() {
        for bad in ["http://localhost", "redis://", "localhost:6379", ""] {
            assert!(RedisUrl::parse(bad).is_err(), "{bad} was accepted");
        }
    }
}
