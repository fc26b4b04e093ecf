//! `cargo xtask measure --only 06-rtt`: chapter 6 at a distance from its
//! server.
//!
//! For each distance of [`RTT_PLANS`], a relay on the host delays each
//! direction by half the round trip, and the programs run in a network
//! namespace of their own, reaching the relay over a veth pair: to them the
//! server is on another machine. Each distance gives one document,
//! `06-rtt-<distance>.json`: Redis's own benchmark over that path, the prime
//! case polled at the chapter's intervals (those that finish in seconds),
//! pushed, and a few distributed runs.

use crate::data::{Distance, Path, Plan, Run, Stamp, measured_dir};
use crate::measure::{parse_benchmark, stamped};
use crate::netns::Netns;
use crate::relay::Relay;
use crate::workspace::{bin_dir, root};
use anyhow::{Context, bail};
use serde::de::DeserializeOwned;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use workers::interrupt;
use workers::redis_server::RedisServer;

/// The command every `06-rtt-*.json` file is made by.
const COMMAND: &str = "cargo xtask measure --only 06-rtt";

/// Where the programs run: in a namespace of their own, or, where none can
/// be made, on the host (why not, in words).
#[derive(Debug)]
enum Place {
    Namespace(Netns),
    Host(String),
}

/// Measures every plan in `plans` against `redis`, writing each document.
pub fn measure_all(
    plans: &[&Plan],
    stamp: &Stamp,
    redis: &RedisServer,
) -> anyhow::Result<()> {
    if plans.is_empty() {
        return Ok(());
    }
    // From here a Ctrl-C kills the programs started, deletes the namespace
    // and stops the server before xtask exits (see `workers::interrupt`).
    interrupt::install()?;
    interrupt::watch_child(redis.pid());
    let place = match Netns::create() {
        Ok(ns) => Place::Namespace(ns),
        Err(e) => {
            let why = format!("{e:#}");
            println!(
                "measure: no network namespace ({why}): the relay runs on loopback, \
                 and the programs beside it"
            );
            Place::Host(why)
        }
    };
    let server = SocketAddr::from((Ipv4Addr::LOCALHOST, redis.port));
    let result = plans.iter().try_for_each(|plan| {
        let doc = at_distance(plan, &place, server)?;
        let text = stamped(stamp, COMMAND, &doc)?;
        std::fs::write(measured_dir().join(plan.file), text)?;
        anyhow::Ok(())
    });
    drop(place);
    interrupt::unwatch_child(redis.pid());
    result
}

/// Runs one plan: through a relay of its own if it has a delay.
fn at_distance(
    plan: &Plan,
    place: &Place,
    server: SocketAddr,
) -> anyhow::Result<Distance> {
    let one_way = Duration::from_micros(plan.one_way_us);
    let relay = match (plan.one_way_us, place) {
        (0, _) => None,
        (_, Place::Namespace(ns)) => Some(Relay::start(
            SocketAddr::from((ns.host(), 0)),
            server,
            one_way,
        )?),
        (_, Place::Host(_)) => Some(Relay::start(
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            server,
            one_way,
        )?),
    };
    let path = match (&relay, place) {
        (None, _) => Path::Loopback,
        (Some(_), Place::Namespace(_)) => Path::Namespace,
        (Some(_), Place::Host(why)) => Path::RelayOnLoopback { why: why.clone() },
    };
    let addr = relay.as_ref().map_or(server, Relay::addr);
    // A command run where the programs run, reaching the server at `addr`.
    let at = |program: &std::ffi::OsStr| -> Command {
        let mut cmd = match (&relay, place) {
            (Some(_), Place::Namespace(ns)) => ns.command(program),
            _ => Command::new(program),
        };
        cmd.env("REDIS_URL", format!("redis://{addr}"));
        cmd
    };
    let say = |what: &str| println!("measure: {} ({what})", plan.file);

    say("redis-benchmark, GET");
    let gets = plan.gets.to_string();
    let args = ["-c", "1", "-n", &gets, "-t", "get", "--csv"];
    let (host, port) = (ip_text(addr.ip()), addr.port().to_string());
    let mut bench = at("redis-benchmark".as_ref());
    bench.args(["-h", &host, "-p", &port]).args(args);
    let shown = format!("redis-benchmark {}", args.join(" "));
    let (csv, wall_ns) = output(bench, &shown)?;
    let floor = Run {
        command: shown,
        wall_ns,
        output: parse_benchmark(&csv)?,
    };

    // The chapter's program with `args`, and how a student types it.
    let exe = bin_dir().join(crate::data::REDIS_BIN);
    let program = |args: &[&str]| -> (Command, String) {
        let mut cmd = at(exe.as_os_str());
        cmd.args(args);
        let shown = format!(
            "cargo run --bin {} -- {}",
            crate::data::REDIS_BIN,
            args.join(" ")
        );
        say(&shown);
        (cmd, shown)
    };
    let trials = plan.trials.to_string();
    let mut polls = Vec::new();
    for (k, repeats) in plan.polls {
        let (k, repeats) = (k.to_string(), repeats.to_string());
        let (cmd, shown) = program(&[
            "--case",
            "prime",
            "--check-every",
            &k,
            "--repeats",
            &repeats,
            "--trials",
            &trials,
            "--json",
        ]);
        polls.push(json(cmd, shown)?);
    }
    let (cmd, shown) = program(&[
        "--case",
        "prime",
        "--push",
        "--check-every",
        "1000",
        "--repeats",
        "5",
        "--trials",
        &trials,
        "--json",
    ]);
    let push = json(cmd, shown)?;
    let mut coordinate = Vec::new();
    for _ in 0..plan.coordinate_runs {
        let (cmd, shown) =
            program(&["coordinate", "--local-workers", "2", "--json"]);
        coordinate.push(json(cmd, shown)?);
    }
    Ok(Distance {
        added_rtt_ns: 2 * one_way.as_nanos() as u64,
        path,
        floor,
        polls,
        push,
        coordinate,
    })
}

/// An address as `redis-benchmark -h` takes it.
fn ip_text(ip: IpAddr) -> String {
    ip.to_string()
}

/// Runs `cmd` to its end: its standard output and the nanoseconds it took,
/// or an error with what it said on standard error. `shown` names it.
fn output(mut cmd: Command, shown: &str) -> anyhow::Result<(String, u64)> {
    cmd.current_dir(root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let child = cmd
        .spawn()
        .with_context(|| format!("cannot run `{shown}`"))?;
    // `ip netns exec` becomes the program (it execs): a Ctrl-C kills it.
    let pid = child.id();
    interrupt::watch_child(pid);
    let out = child.wait_with_output();
    interrupt::unwatch_child(pid);
    let out = out?;
    let wall_ns = start.elapsed().as_nanos() as u64;
    if !out.status.success() {
        bail!(
            "`{shown}` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok((String::from_utf8(out.stdout)?, wall_ns))
}

/// Runs a program that prints one JSON document; the document, typed.
fn json<T: DeserializeOwned>(cmd: Command, shown: String) -> anyhow::Result<Run<T>> {
    let (text, wall_ns) = output(cmd, &shown)?;
    let output = serde_json::from_str(&text).with_context(|| {
        format!("`{shown}` printed no document of the kind expected")
    })?;
    Ok(Run {
        command: shown,
        wall_ns,
        output,
    })
}

#[cfg(test)]
mod tests {
    use crate::data::RTT_PLANS;

    #[test]
    fn every_distance_measures_the_chapter_default_and_the_nearest_is_direct() {
        assert_eq!(RTT_PLANS[0].one_way_us, 0);
        for p in RTT_PLANS {
            assert!(p.file.starts_with("06-rtt-"), "{}", p.file);
            let ks: Vec<u64> = p.polls.iter().map(|k| k.0).collect();
            assert!(ks.contains(&crate::data::DEFAULT_INTERVAL), "{}", p.file);
            assert!(ks.is_sorted(), "{}", p.file);
        }
    }
}
