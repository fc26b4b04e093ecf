//! Chapter 6: the stop flag is a key in Redis, reachable from anywhere.
//!
//! Run it: start a server (`redis-server --save '' --appendonly no --daemonize
//! yes`: in the background, nothing written to disk), then `cargo run --bin
//! 06-redis-flag` (or `cargo run -p redis-flag`); stop the server with
//! `redis-cli shutdown nosave`. Try `--case prime`, `--check-every 1000`,
//! `--redis-url redis://:password@host:6379/2`, `--help`.
//!
//! Redis is a server that holds keys in memory and answers commands over TCP.
//! The flag is two keys: the stop key, which only a person (or any program)
//! outside the run sets, and the run's own flag, which the run raises and
//! lowers between its searches. Every worker opens its own connection, and a
//! look at the flag is one `MGET` of both: a request, a reply, two trips
//! through the kernel's network stack and a wake-up of the server. In
//! exchange the run can be watched and stopped by any program in any language
//! on any machine that reaches the server, including `redis-cli` in another
//! terminal; since the run never writes the stop key, no reset of its own can
//! undo a stop.

mod distributed;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use redis::{
    Client, Commands, Connection, ConnectionAddr, ConnectionInfo, ErrorKind,
    IntoConnectionInfo, RedisError,
};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, LazyLock, Mutex, OnceLock};
use std::time::Duration;
use workers::WorkerArgs;
use workers::flag::{self, Order, Parent, SearchArgs, Timing};
use workers::interrupt::OnSignal;
use workers::search::StopFlag;

/// What a server started by hand for these runs needs: no snapshots or
/// append-only file written, and the prompt back. `redis-cli shutdown nosave`
/// stops it.
const QUIET: &str = "--save '' --appendonly no --daemonize yes";

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
    /// --check-every 1000); stop the run by publishing to the channel named
    /// after its stop key
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
    /// stream until the run ends
    Join(distributed::Join),
    /// Internal: run as a worker process (started by the parent).
    #[command(hide = true)]
    Worker(WorkerArgs),
}

/// Where the Redis server is.
#[derive(Debug, Clone, clap::Args)]
struct Server {
    /// The server: redis://[[user]:password@]host[:port][/database], or
    /// unix:///path/to/socket[?db=N&pass=password]
    #[arg(
        long,
        env = "REDIS_URL",
        hide_env_values = true,
        default_value = "redis://127.0.0.1:6379",
        value_parser = UrlParser
    )]
    redis_url: RedisUrl,
}

/// A Redis URL that never shows its password: not in reports, errors,
/// hints or `--help`. Workers receive it over their channel, not on their
/// command line, so it is not visible to `ps` either.
#[derive(Clone, Serialize, Deserialize)]
struct RedisUrl(String);

/// What `--redis-url` and `REDIS_URL` go through. A plain function would do,
/// but clap would then quote the rejected value, password and all.
#[derive(Debug, Clone)]
struct UrlParser;

impl clap::builder::TypedValueParser for UrlParser {
    type Value = RedisUrl;

    /// A bad URL is one line naming it without its password, and exit 2.
    fn parse_ref(
        &self,
        _: &clap::Command,
        _: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<RedisUrl, clap::Error> {
        let text = value.to_string_lossy();
        let url = match value.to_str() {
            Some(s) => RedisUrl::parse(s),
            None => Err(format!("{} is not text", mask(&text))),
        };
        url.map_err(|why| {
            let kind = clap::error::ErrorKind::ValueValidation;
            clap::Error::raw(kind, format!("--redis-url (or REDIS_URL): {why}\n"))
        })
    }
}

impl RedisUrl {
    /// Accepts what the redis crate accepts; the error names the URL with
    /// its password masked.
    fn parse(s: &str) -> Result<RedisUrl, String> {
        match s.into_connection_info() {
            Ok(_) => Ok(RedisUrl(s.to_string())),
            Err(e) => Err(format!(
                "{} is not a Redis URL ({}); write redis://[[user]:password@]host[:port][/database] \
                 or unix:///path/to/socket[?db=N&pass=password]",
                mask(s),
                e.to_string().lines().next().unwrap_or_default()
            )),
        }
    }

    fn info(&self) -> Option<ConnectionInfo> {
        self.0.as_str().into_connection_info().ok()
    }

    /// The URL with any password replaced by `<password>`.
    fn redacted(&self) -> String {
        mask(&self.0)
    }

    fn has_password(&self) -> bool {
        self.info()
            .is_some_and(|i| i.redis_settings().password().is_some())
    }

    /// The `redis-cli` command that reaches this server, without the
    /// password: with one, `--askpass` has redis-cli ask for it. (redis-cli
    /// reads no unix:// URLs, and a URL would put the password on its
    /// command line.)
    fn cli(&self) -> String {
        let mut words = vec!["redis-cli".to_string()];
        let Some(info) = self.info() else {
            return words.remove(0);
        };
        match info.addr() {
            ConnectionAddr::Tcp(host, port) => words.extend([
                "-h".into(),
                host.clone(),
                "-p".into(),
                port.to_string(),
            ]),
            ConnectionAddr::Unix(path) => {
                words.extend(["-s".into(), path.to_string_lossy().into_owned()])
            }
            _ => {}
        }
        let redis = info.redis_settings();
        if redis.db() != 0 {
            words.extend(["-n".into(), redis.db().to_string()]);
        }
        if redis.password().is_some() {
            if let Some(user) = redis.username() {
                words.extend(["--user".into(), user.to_string()]);
            }
            words.push("--askpass".into());
        }
        words
            .iter()
            .map(|w| shell_word(w))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Why a refused connection means no server, and how to start one: in
    /// the background, keeping nothing on disk (a plain `redis-server` saves
    /// snapshots into the folder it was started in).
    fn nobody_there(&self) -> String {
        let yours = "or point --redis-url (or REDIS_URL) at yours";
        match self.info().as_ref().map(ConnectionInfo::addr) {
            Some(ConnectionAddr::Unix(path)) => {
                let path = shell_word(&path.to_string_lossy());
                format!(
                    "(no server on socket {path}): start one with \
                     `redis-server --port 0 --unixsocket {path} {QUIET}`, {yours}"
                )
            }
            Some(ConnectionAddr::Tcp(host, port)) if is_loopback(host) => format!(
                "(connection refused): start one with \
                 `redis-server --port {port} {QUIET}`, {yours}"
            ),
            Some(ConnectionAddr::Tcp(host, port)) => format!(
                "(connection refused): start redis-server on {host}, listening on \
                 port {port}, {yours}"
            ),
            _ => format!("(connection refused): start one, {yours}"),
        }
    }

    /// Whether the URL's host name does not resolve.
    fn host_unknown(&self) -> bool {
        use std::net::ToSocketAddrs;
        match self.info().as_ref().map(ConnectionInfo::addr) {
            Some(ConnectionAddr::Tcp(host, port)) => {
                (host.as_str(), *port).to_socket_addrs().is_err()
            }
            _ => false,
        }
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `text` with any password in it replaced by `<password>`: what follows the
/// `:` of a URL's user info (`redis://user:pw@host`), and a `pass=` or
/// `password=` parameter (`unix:///path?pass=pw`). Works on any text, URL or
/// not, so that a URL that does not parse is shown without its password too.
fn mask(text: &str) -> String {
    let start = text.find("://").map_or(0, |i| i + 3);
    let mut out = text.to_string();
    // The user info ends at the last `@`: a password may hold one.
    if let Some(at) = text[start..].rfind('@').map(|i| start + i)
        && let Some(colon) = text[start..at].find(':').map(|i| start + i)
    {
        out.replace_range(colon + 1..at, "<password>");
    }
    let Some(q) = out.find('?') else {
        return out;
    };
    let params = out[q + 1..]
        .split('&')
        .map(|param| match param.split_once('=') {
            Some((k, _))
                if ["pass", "password"].contains(&k.to_lowercase().as_str()) =>
            {
                format!("{k}=<password>")
            }
            _ => param.to_string(),
        });
    format!("{}?{}", &out[..q], params.collect::<Vec<_>>().join("&"))
}

/// `word` as a shell reads it back: quoted if it holds anything but plain
/// characters.
fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:@%+=,".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
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
    // Connecting sends AUTH and SELECT if the URL asks for them, and by
    // default two CLIENT SETINFO, each reply with the whole deadline. Skip
    // those two: a stalled server then costs one deadline, not three.
    let info = url.0.as_str().into_connection_info().map_err(explain)?;
    let settings = info.redis_settings().clone().set_skip_set_lib_name();
    let client = Client::open(info.set_redis_settings(settings)).map_err(explain)?;
    let mut conn = client
        .get_connection_with_timeout(CONNECT_TIMEOUT)
        .map_err(explain)?;
    conn.set_read_timeout(Some(IO_TIMEOUT)).map_err(explain)?;
    conn.set_write_timeout(Some(IO_TIMEOUT)).map_err(explain)?;
    // A PING answered in time: the server speaks Redis and is not stalled.
    redis::cmd("PING").query::<()>(&mut conn).map_err(explain)?;
    Ok(conn)
}
// ANCHOR_END: connect

/// Connecting failed, or the first command on a new connection: one line
/// that says what failed and what to do about it.
fn explain(url: &RedisUrl, e: RedisError) -> anyhow::Error {
    anyhow::anyhow!("{}", fault(url, &e, true))
}

/// A command failed after the run had started: the server went away or
/// stalled.
fn lost(url: &RedisUrl, e: RedisError) -> anyhow::Error {
    anyhow::anyhow!("{}", fault(url, &e, false))
}

/// Tells apart no server, a server that stopped answering, and a service
/// that does not speak Redis; `connecting` is true until the run has started.
fn fault(url: &RedisUrl, e: &RedisError, connecting: bool) -> String {
    let why = first_line(e);
    let secs = IO_TIMEOUT.as_secs();
    let point = "point --redis-url (or REDIS_URL) at";
    // `is_timeout` covers both deadlines: the TCP handshake's ("timed out")
    // and a reply's (the read gives up: "temporarily unavailable").
    let handshake = e.is_timeout() && why.to_lowercase().contains("timed out");
    let hung_up = e.is_connection_dropped() && !e.is_connection_refusal();
    if e.kind() == ErrorKind::AuthenticationFailed
        || e.code().is_some_and(|c| c == "WRONGPASS" || c == "NOAUTH")
    {
        format!(
            "Redis at {url} refused our credentials ({why}): check the user and \
             password in --redis-url (or REDIS_URL)"
        )
    } else if connecting && handshake {
        format!(
            "cannot reach Redis at {url} (no answer to connecting within {} s): \
             check the host and port, and that no firewall is in the way",
            CONNECT_TIMEOUT.as_secs()
        )
    } else if connecting && e.is_timeout() {
        format!(
            "the server at {url} accepted the connection but did not answer within \
             {secs} s (stalled or overloaded): check that server, or {point} another"
        )
    } else if e.is_timeout() {
        format!(
            "Redis at {url} stopped answering mid-run: no reply within {secs} s \
             (stalled or overloaded); check that server, then run again"
        )
    } else if connecting && e.is_connection_refusal() {
        format!("cannot reach Redis at {url} {}", url.nobody_there())
    } else if connecting && (hung_up || e.kind() == ErrorKind::Parse) {
        format!(
            "the service at {url} does not speak Redis (it answered something else, \
             or hung up): {point} a Redis server"
        )
    } else if hung_up {
        format!(
            "Redis at {url} stopped answering mid-run (it closed the connection: \
             the server exited or restarted); start it again, then run again"
        )
    } else if connecting && e.is_io_error() && url.host_unknown() {
        format!(
            "cannot reach Redis at {url} (no such host): check the host name in \
             --redis-url (or REDIS_URL)"
        )
    } else if connecting && e.is_io_error() {
        format!(
            "cannot reach Redis at {url} ({why}): check --redis-url (or REDIS_URL) \
             and the network"
        )
    } else if connecting {
        format!(
            "Redis at {url} refused the connection ({why}): check --redis-url (or \
             REDIS_URL) and the server's settings"
        )
    } else {
        format!(
            "Redis at {url} failed a command mid-run ({why}); the run cannot go on"
        )
    }
}

/// The first line of a Redis error: some carry the bytes they could not
/// parse on lines of their own.
fn first_line(e: &RedisError) -> String {
    e.to_string().lines().next().unwrap_or_default().to_string()
}

// ANCHOR: create
/// The run's keys, as the parent created them. A normal run deletes them in
/// `RedisFlag::end_run`; if an error ends it first, dropping this does.
struct FlagKey {
    /// The stop key, `stop-flag:<pid>-<clock>`: unique to this run, so no key
    /// left by an earlier or a crashed run, nor another run's, can stop this
    /// one. It is "0" while the run goes on, and it is the person's: the
    /// program never writes it after creating it, so a stop sticks.
    stop: String,
    /// The parent's connection, kept to delete the keys at the end.
    conn: Connection,
    /// Deletes the keys if Ctrl-C ends the run.
    _on_signal: OnSignal,
}

impl FlagKey {
    /// Creates the stop key and the run's own flag beside it, both "0".
    fn create(url: &RedisUrl) -> anyhow::Result<FlagKey> {
        let mut conn = connect(url)?;
        let stop = format!(
            "stop-flag:{}-{}",
            std::process::id(),
            workers::clock::now_ns()
        );
        // Create the keys and register their clean-up as one step, so that no
        // Ctrl-C falls between the two.
        let _on_signal = workers::interrupt::creating(|| {
            // NX: create a key only if no such key exists; never take over
            // one. Both keys in one transaction.
            let mut both = redis::pipe();
            for key in [&stop, &round_key(&stop)] {
                both.cmd("SET").arg(key).arg(0).arg("NX");
                both.arg("EX").arg(TTL_SECONDS);
            }
            let created: (Option<String>, Option<String>) = (both.atomic())
                .query(&mut conn)
                .map_err(|e| explain(url, e))?;
            anyhow::ensure!(
                created.0.is_some() && created.1.is_some(),
                "key {stop} already exists in Redis: not reusing it"
            );
            let (doomed_url, doomed_key) = (url.clone(), stop.clone());
            anyhow::Ok(OnSignal::new(move || {
                if let Ok(mut c) = connect(&doomed_url) {
                    let _: redis::RedisResult<()> = c.del(run_keys(&doomed_key));
                }
            }))
        })?;
        Ok(FlagKey {
            stop,
            conn,
            _on_signal,
        })
    }

    /// Tells the user how to stop the run from another terminal: the
    /// command names the stop key (with `--push`, its channel).
    fn tell(&self, url: &RedisUrl, push: bool) {
        let (cli, stop, round) = (url.cli(), &self.stop, round_key(&self.stop));
        let (how, command) = match push {
            false => (
                format!("set key {stop} to anything but 0 (or delete it)"),
                "SET",
            ),
            true => (
                format!(
                    "publish to channel {stop} (or set the key of that name to \
                     anything but 0, or delete it)"
                ),
                "PUBLISH",
            ),
        };
        eprintln!(
            "To stop the run, {how}. From another terminal:\n  \
             stop the run: {cli} {command} {stop} 1\n  \
             watch it: {cli} MGET {stop} {round}"
        );
    }
}

impl Drop for FlagKey {
    /// The run is over: its keys go (after `end_run`, they are gone already).
    /// If Redis is gone too, the TTL does it.
    fn drop(&mut self) {
        let _: redis::RedisResult<()> = self.conn.del(run_keys(&self.stop));
    }
}
// ANCHOR_END: create

/// The run's own flag, beside the stop key: raised when a search is over,
/// lowered before the next one. Only the program writes it.
fn round_key(stop: &str) -> String {
    format!("{stop}:round")
}

/// With `--push`: how often the run's own flag was written.
fn version_key(stop: &str) -> String {
    format!("{stop}:version")
}

/// Every key a run may create.
fn run_keys(stop: &str) -> Vec<String> {
    vec![stop.to_string(), round_key(stop), version_key(stop)]
}

// ANCHOR: check
/// One process's connection to the flag: the stop key, which a person sets
/// to stop the run, and the run's own flag, which the program raises and
/// lowers for its searches.
struct RedisFlag {
    url: RedisUrl,
    stop: String,
    round: String,
    /// `Connection` needs `&mut` to send; the search holds the flag by `&`.
    conn: RefCell<Connection>,
    /// With `--push`: the flags as last heard, kept by a listener thread.
    heard: Option<Arc<Heard>>,
}

impl StopFlag for RedisFlag {
    /// A look at the flag: `MGET stop round`, both keys in one round trip.
    /// The run's own flag says whether this search is over; a stop key that
    /// is anything but 0, or gone, ends the run: the look fails with why.
    /// With `--push`, a load from this process's memory.
    fn is_set(&self) -> anyhow::Result<bool> {
        if let Some(heard) = &self.heard {
            return heard.is_set();
        }
        let (stop, round): (Option<Vec<u8>>, Option<Vec<u8>>) = redis::cmd("MGET")
            .arg(&self.stop)
            .arg(&self.round)
            .query(&mut *self.conn.borrow_mut())
            .map_err(|e| lost(&self.url, e))?;
        self.go_on(stop.as_deref(), round.is_some())?;
        Ok(round.as_deref() == Some(b"1"))
    }

    /// Raises the run's own flag. Redis runs one command at a time, so the
    /// write is whole, and every later look at this server sees it (a
    /// replica may lag behind: every process of a run talks to one server).
    fn raise(&self) -> anyhow::Result<()> {
        self.write(1)
    }

    /// Lowers the run's own flag, never the stop key: a stop from outside
    /// outlives every reset. The same round trip reads the stop key.
    fn lower(&self) -> anyhow::Result<()> {
        self.write(0)
    }
}

impl RedisFlag {
    /// Fails unless the run goes on: `stop`, the stop key's value, is 0, and
    /// the run's own flag exists (`round_there`). A missing key means
    /// someone deleted it: that stops the run too.
    fn go_on(&self, stop: Option<&[u8]>, round_there: bool) -> anyhow::Result<()> {
        match stop {
            Some(b"0") if round_there => Ok(()),
            Some(v) if round_there => bail!(
                "stopped from outside: key {} was set to {}",
                self.stop,
                String::from_utf8_lossy(v)
            ),
            None => bail!("stopped from outside: key {} was deleted", self.stop),
            Some(_) => bail!(
                "stopped from outside: key {} was deleted",
                round_key(&self.stop)
            ),
        }
    }

    /// Writes the run's own flag and renews the stop key's lifetime, in one
    /// step on the server, reading the stop key as it goes.
    fn write(&self, state: u8) -> anyhow::Result<()> {
        let conn = &mut *self.conn.borrow_mut();
        let (stop, round_there): (Option<Vec<u8>>, bool) = match &self.heard {
            Some(heard) => {
                // A stop pushed from outside: no key holds it, the listener does.
                heard.is_set()?;
                (PUBLISH.key(&self.stop).key(&self.round))
                    .key(version_key(&self.stop))
                    .arg(state)
                    .arg(TTL_SECONDS)
                    .invoke(conn)
            }
            None => redis::pipe()
                .atomic()
                .get(&self.stop)
                .exists(&self.round)
                .set_ex(&self.round, state, TTL_SECONDS)
                .ignore()
                .expire(&self.stop, TTL_SECONDS as i64)
                .ignore()
                .query(conn),
        }
        .map_err(|e| lost(&self.url, e))?;
        self.go_on(stop.as_deref(), round_there)
    }
}
// ANCHOR_END: check

impl RedisFlag {
    /// Connects to the server; with `push`, also starts the listener.
    fn open(url: RedisUrl, stop: String, push: bool) -> anyhow::Result<RedisFlag> {
        let conn = connect(&url).context("a worker could not connect")?;
        let round = round_key(&stop);
        let heard = match push {
            true => Some(Heard::listen(&url, &stop, &round)?),
            false => None,
        };
        Ok(RedisFlag {
            url,
            stop,
            round,
            conn: RefCell::new(conn),
            heard,
        })
    }

    /// With `--push`, catch up before a search: read the keys and the
    /// version once, so a late message about the last search cannot stop
    /// this one, and a stop key set from outside is seen.
    fn catch_up(&self) -> anyhow::Result<()> {
        let Some(heard) = &self.heard else {
            return Ok(());
        };
        let (stop, state, version): (Option<Vec<u8>>, Option<u8>, Option<u64>) =
            redis::cmd("MGET")
                .arg(run_keys(&self.stop))
                .query(&mut *self.conn.borrow_mut())
                .map_err(|e| lost(&self.url, e))?;
        self.go_on(stop.as_deref(), state.is_some())?;
        heard.apply(version.unwrap_or(0), state.unwrap_or(0));
        Ok(())
    }

    /// The parent's last look, once every worker has finished: reads the
    /// stop key and deletes the run's keys in one step, so a stop from
    /// outside that came first still ends the run. With `--push`, a last
    /// message of the run's own on the stop channel, heard in order after
    /// any earlier one, tells when the listener has heard everything.
    fn end_run(&self) -> anyhow::Result<()> {
        let mut last = redis::pipe();
        last.atomic().get(&self.stop).exists(&self.round);
        last.del(run_keys(&self.stop)).ignore();
        if self.heard.is_some() {
            last.publish(&self.stop, end_message(&self.stop)).ignore();
        }
        let (stop, round_there): (Option<Vec<u8>>, bool) = last
            .query(&mut *self.conn.borrow_mut())
            .map_err(|e| lost(&self.url, e))?;
        if let Some(heard) = &self.heard {
            heard.until_end(&self.url)?;
        }
        self.go_on(stop.as_deref(), round_there)
    }
}

/// The message the parent publishes on the stop channel once the run is
/// over: the only one there that does not stop it.
fn end_message(stop: &str) -> String {
    format!("{stop} is over")
}

// ANCHOR: push
/// `--push`: write the run's own flag and announce it, in one step on the
/// server; renew the stop key's lifetime and return its value (nothing if
/// either key is gone). The message carries a version, so that a listener
/// can tell a late message about an earlier search from news.
static PUBLISH: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
        local stop = redis.call('GET', KEYS[1])
        local round_there = redis.call('EXISTS', KEYS[2])
        redis.call('EXPIRE', KEYS[1], ARGV[2])
        local version = redis.call('INCR', KEYS[3])
        redis.call('EXPIRE', KEYS[3], ARGV[2])
        redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2])
        redis.call('PUBLISH', KEYS[2], version .. ':' .. ARGV[1])
        return {stop, round_there}",
    )
});

/// The flags as one process last heard them.
#[derive(Debug, Default)]
struct Heard {
    /// What a look reads: 1 once the run's own flag is raised.
    state: AtomicU8,
    /// The version `state` came with; older news is ignored.
    version: Mutex<u64>,
    /// Why every look fails from now on: a stop from outside, or the
    /// listener's failure.
    failed: OnceLock<String>,
    /// The parent's end of the run was heard: the listener has stopped.
    ended: AtomicBool,
}

impl Heard {
    fn is_set(&self) -> anyhow::Result<bool> {
        if let Some(why) = self.failed.get() {
            bail!("{why}");
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

    /// Subscribes to the stop channel and the run's own on a thread of its
    /// own, and returns once subscribed: from then on nothing sent to either
    /// can be missed.
    fn listen(
        url: &RedisUrl,
        stop: &str,
        round: &str,
    ) -> anyhow::Result<Arc<Heard>> {
        let heard = Arc::new(Heard::default());
        let conn = connect(url)?;
        let (ready, subscribed) = std::sync::mpsc::channel();
        let (url, mine) = (url.clone(), heard.clone());
        let channels = [stop.to_string(), round.to_string()];
        std::thread::spawn(move || mine.hear(conn, &url, &channels, &ready));
        // Subscribing has a reply deadline: an answer always comes.
        match subscribed.recv() {
            Ok(Ok(())) => Ok(heard),
            Ok(Err(e)) => Err(e),
            Err(_) => anyhow::bail!("the listener for {stop} ended unheard"),
        }
    }

    /// The listener thread: subscribe, say so on `ready`, then apply every
    /// message until the run's end is heard, or a stop from outside, or the
    /// connection fails; record which.
    fn hear(
        &self,
        mut conn: Connection,
        url: &RedisUrl,
        channels: &[String; 2],
        ready: &std::sync::mpsc::Sender<anyhow::Result<()>>,
    ) {
        let mut sub = conn.as_pubsub();
        match self.apply_all(&mut sub, url, channels, ready) {
            Ok(()) => self.ended.store(true, Ordering::Release),
            Err(e) => {
                // Record why before `sub` goes: dropping it unsubscribes,
                // and waits another deadline for the reply.
                let _ = self.failed.set(format!("{e:#}"));
                let _ = ready.send(Err(e));
            }
        }
    }

    fn apply_all(
        &self,
        sub: &mut redis::PubSub<'_>,
        url: &RedisUrl,
        [stop, round]: &[String; 2],
        ready: &std::sync::mpsc::Sender<anyhow::Result<()>>,
    ) -> anyhow::Result<()> {
        for channel in [stop, round] {
            sub.subscribe(channel).map_err(|e| lost(url, e))?;
        }
        let _ = ready.send(Ok(()));
        loop {
            // A quiet channel is normal; a quiet server is not. After
            // IO_TIMEOUT without news, PING: a stalled server does not
            // answer that within IO_TIMEOUT either, and the run ends.
            let msg = match sub.get_message() {
                Ok(msg) => msg,
                Err(e) if e.is_timeout() => {
                    sub.ping::<redis::Value>().map_err(|e| lost(url, e))?;
                    continue;
                }
                Err(e) => return Err(lost(url, e)),
            };
            let text = String::from_utf8_lossy(msg.get_payload_bytes());
            // On the stop channel, anything but the parent's end of the run
            // stops it, for good.
            if msg.get_channel_name() == stop {
                if text == end_message(stop) {
                    return Ok(());
                }
                bail!("stopped from outside: {text} was published to {stop}");
            }
            // On the run's own, "version:state"; anything else is no news.
            let Some((version, state)) = text.split_once(':') else {
                continue;
            };
            if let (Ok(version), Ok(state)) = (version.parse(), state.parse()) {
                self.apply(version, state);
            }
        }
    }

    /// Waits for the listener to hear the parent's end of the run: fails
    /// with a stop from outside heard first, or the listener's failure.
    fn until_end(&self, url: &RedisUrl) -> anyhow::Result<()> {
        let start = std::time::Instant::now();
        while !self.ended.load(Ordering::Acquire) {
            self.is_set()?;
            if start.elapsed() > IO_TIMEOUT {
                bail!(
                    "Redis at {url} did not deliver the run's last message within \
                     {} s; check that server, then run again",
                    IO_TIMEOUT.as_secs()
                );
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(())
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
    // Create the flag: keys of this run's own, and a connection here. With
    // `--push`, this listens before the user learns where to send a stop.
    let url = &cli.server.redis_url;
    let key = FlagKey::create(url)?;
    let flag = RedisFlag::open(url.clone(), key.stop.clone(), cli.push)?;
    key.tell(url, cli.push);
    // Start the workers, send each the server, the key and the mode, and
    // wait until every one has connected.
    // (--workload fraud: first the transactions to scan, in workers::fraud.)
    let mut pool = flag::Pool::start(&cli.search, &cli.timing)?;
    pool.open_flag(&(url.clone(), key.stop.clone(), cli.push))?;
    // Search: released together, stopped by the first to find a factor.
    // Timed over repeats, with the cost of one look and the time to stop all.
    // Each reset of the flag also reads the stop key.
    let measured = pool.measure(&flag, &cli.search, &cli.timing)?;
    // The poison pill for every worker, then reap them; then delete the
    // run's keys, unless a stop from outside came first.
    pool.finish()?;
    flag.end_run()?;
    let what = match cli.push {
        true => "two keys in Redis, heard by pub/sub",
        false => "two keys in Redis, read with one MGET",
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
        // Pushed news can arrive late: before a search, read the keys. A stop
        // from outside seen here is the parent's to report, in one line.
        if matches!(order, Order::Search { .. })
            && let Err(e) = flag.catch_up()
        {
            parent.fail(e);
        }
        parent.obey(order, &flag)?;
    }
    Ok(())
}
// ANCHOR_END: worker

#[cfg(test)]
mod tests {
    use super::{Heard, RedisUrl, end_message, mask};
    use std::time::{Duration, Instant};
    use workers::redis_server::RedisServer;

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
        assert_eq!(
            url("unix:///tmp/r.sock?db=2&pass=s3cret"),
            "unix:///tmp/r.sock?db=2&pass=<password>"
        );
        let shown = format!("{:?}", RedisUrl::parse("redis://:pw@h:1").unwrap());
        assert!(!shown.contains("pw@"), "{shown}");
        // Text that is no URL at all is masked as well as it can be.
        for bad in [
            "redis://:s3cret@127.0.0.1:1/x",
            "redis://:s3cret@[::1",
            "redis://:s3c@ret@host",
            "redis:/:s3cret@host",
            "http://u:s3cret@host?pass=s3cret",
        ] {
            assert!(!mask(bad).contains("s3c"), "{bad} -> {}", mask(bad));
            let shown = match RedisUrl::parse(bad) {
                Ok(url) => url.to_string(),
                Err(why) => why,
            };
            assert!(!shown.contains("s3c"), "{shown}");
        }
    }

    #[test]
    fn redis_cli_hints_work_and_hold_no_password() {
        let cli = |s: &str| RedisUrl::parse(s).unwrap().cli();
        assert_eq!(
            cli("redis://127.0.0.1:6379"),
            "redis-cli -h 127.0.0.1 -p 6379"
        );
        assert_eq!(
            cli("redis://ann:s3cret@db.example/2"),
            "redis-cli -h db.example -p 6379 -n 2 --user ann --askpass"
        );
        assert_eq!(
            cli("unix:///tmp/my%20r.sock?pass=s3cret"),
            "redis-cli -s '/tmp/my r.sock' --askpass"
        );
    }

    #[test]
    fn malformed_urls_are_refused() {
        for bad in ["http://localhost", "redis://", "localhost:6379", ""] {
            assert!(RedisUrl::parse(bad).is_err(), "{bad} was accepted");
        }
    }

    /// A message on the stop channel fails every later look, and no news of
    /// the run's own flag undoes it; only the run's end passes quietly.
    #[test]
    fn the_listener_keeps_a_stop_from_outside() {
        let redis = RedisServer::start(&[]).unwrap();
        let url = RedisUrl::parse(&redis.url()).unwrap();
        let wait = || std::thread::sleep(Duration::from_millis(200));
        let heard = Heard::listen(&url, "stop", "round").unwrap();
        redis.cli(&["PUBLISH", "round", "1:1"]);
        wait();
        assert!(heard.is_set().unwrap());
        // Not "version:state": someone else's, no news of the run's flag.
        redis.cli(&["PUBLISH", "round", "0"]);
        redis.cli(&["PUBLISH", "round", "2:0"]);
        wait();
        assert!(!heard.is_set().unwrap());
        redis.cli(&["PUBLISH", "stop", "please"]);
        redis.cli(&["PUBLISH", "round", "3:0"]);
        wait();
        let why = heard.is_set().unwrap_err().to_string();
        assert_eq!(why, "stopped from outside: please was published to stop");
        redis.cli(&["PUBLISH", "stop", &end_message("stop")]);
        assert_eq!(heard.until_end(&url).unwrap_err().to_string(), why);

        let heard = Heard::listen(&url, "stop", "round").unwrap();
        redis.cli(&["PUBLISH", "stop", &end_message("stop")]);
        heard.until_end(&url).unwrap();
        assert!(!heard.is_set().unwrap());
    }

    /// The push listener waits for news on a quiet channel, and still notices
    /// a server that stops answering.
    #[test]
    fn the_listener_notices_a_stalled_server() {
        let redis = RedisServer::start(&[]).unwrap();
        let url = RedisUrl::parse(&redis.url()).unwrap();
        let heard = Heard::listen(&url, "stop", "quiet").unwrap();
        // Quiet for longer than a reply's deadline: nothing is wrong.
        std::thread::sleep(Duration::from_secs(3));
        assert!(!heard.is_set().unwrap());
        redis.cli(&["PUBLISH", "quiet", "1:1"]);
        std::thread::sleep(Duration::from_millis(200));
        assert!(heard.is_set().unwrap());
        // Stalled: within two deadlines (a wait, then a PING), the flag fails.
        workers::testkit::send_signal(redis.pid(), "STOP");
        let start = Instant::now();
        let failed = workers::ps::wait_for(Duration::from_secs(10), || {
            std::thread::sleep(Duration::from_millis(50));
            heard.is_set().err()
        });
        workers::testkit::send_signal(redis.pid(), "CONT");
        let why = failed.expect("the listener noticed").to_string();
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
        assert!(
            why.contains("stopped answering mid-run: no reply within 2 s"),
            "{why}"
        );
    }
}
