//! `coordinate` and `join` when things go wrong: workers killed mid-range,
//! the coordinator killed or interrupted, stops from outside, leftovers.
//! Each test starts its own `redis-server` on a free loopback port.

mod common;

use common::{bin, coordinator};
use serde_json::Value;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};
use workers::ps;
use workers::redis_server::RedisServer;
use workers::search::Case;
use workers::testkit as kit;

/// Runs `check` against a fresh server.
fn with_redis(check: impl FnOnce(&RedisServer)) {
    let redis = RedisServer::start(&[]).unwrap();
    kit::with_env(&[("REDIS_URL", &redis.url())], || check(&redis));
}

/// `join --run-id run --name name`, slowed to `slow_ms` per look.
fn join(run: &str, name: &str, slow_ms: u64) -> Child {
    kit::program(bin())
        .args(["join", "--run-id", run, "--name", name])
        .args(["--slow-ms", &slow_ms.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Exit code and standard error of a finished child.
fn ended(child: Child) -> (Option<i32>, String) {
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Waits up to `limit` for `child` to exit; how long that took.
fn exits_within(child: &mut Child, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    ps::wait_for(limit, || child.try_wait().unwrap()).map(|_| start.elapsed())
}

/// Every key of run `run` now, with its TTL in seconds (-1: none).
fn ttls(redis: &RedisServer, run: &str) -> Vec<(String, i64)> {
    let pattern = format!("run:{run}:*");
    let keys = redis.cli(&["--scan", "--pattern", &pattern]);
    keys.lines()
        .filter(|k| !k.is_empty())
        .map(|k| (k.to_string(), redis.cli(&["TTL", k]).parse().unwrap()))
        .filter(|(_, ttl)| *ttl != -2) // gone between the scan and the look
        .collect()
}

fn assert_every_key_expires(redis: &RedisServer, run: &str, when: &str) {
    let forever: Vec<_> = (ttls(redis, run).into_iter())
        .filter(|(_, t)| *t < 0)
        .collect();
    assert!(
        forever.is_empty(),
        "{when}: keys without a TTL: {forever:?}"
    );
}

#[test]
fn killing_workers_again_and_again_loses_no_range() {
    let _turn = kit::turn();
    with_redis(|redis| {
        let lease_ms = 1_000;
        let lease = lease_ms.to_string();
        let mut coord = coordinator(&[
            "--run-id",
            "chaos",
            "--case",
            "prime",
            "--chunks",
            "200",
            "--lease-ms",
            &lease,
            "--max-deliveries",
            "5",
        ]);
        // About 80 ms a range (8 looks of 10 ms), 200 ranges, 3 workers.
        let mut live: Vec<(String, Child)> = (0..3)
            .map(|i| (format!("w{i}"), join("chaos", &format!("w{i}"), 10)))
            .collect();
        let mut killed = Vec::new();
        let mut next = 3;
        let start = Instant::now();
        while killed.len() < 10 && coord.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(350));
            // Kill the oldest worker outright, and start another.
            let (name, mut victim) = live.remove(0);
            kit::send_signal(victim.id(), "KILL");
            victim.wait().unwrap();
            killed.push(name);
            let name = format!("w{next}");
            next += 1;
            live.push((name.clone(), join("chaos", &name, 10)));
            // Every TTL holds while it all happens.
            assert_every_key_expires(redis, "chaos", "mid-chaos");
        }
        let took = start.elapsed();
        let status = exits_within(&mut coord, Duration::from_secs(60));
        assert!(status.is_some(), "the coordinator never finished");
        let out = coord.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        // The right answer, every range reported once, none lost.
        assert_eq!(v["factor"], Value::Null, "{v}");
        assert_eq!(v["ranges_reported"], 200, "{v}");
        assert_eq!(v["dead_letters"].as_array().unwrap().len(), 0, "{v}");
        let done: u64 = (v["workers"].as_object().unwrap().values())
            .map(|w| w["ranges"].as_u64().unwrap())
            .sum();
        assert_eq!(done, 200, "each range counted once in the tally: {v}");
        // Every range taken over was a killed worker's, picked up within
        // twice the lease.
        let reclaims = v["reclaims"].as_array().unwrap();
        assert!(!reclaims.is_empty(), "no range was ever taken over: {v}");
        for r in reclaims {
            let from = r["from"].as_str().unwrap();
            let holder = from.split('#').next().unwrap();
            assert!(killed.iter().any(|k| k == holder), "{r} was not killed");
            assert!(r["silent_ms"].as_u64().unwrap() < 2 * lease_ms, "{r}");
        }
        // The workers still alive answered the end and exited 0.
        for (name, child) in live {
            let (code, stderr) = ended(child);
            assert_eq!(code, Some(0), "{name}: {stderr}");
            assert_eq!(v["workers"][&name]["answered_pill"], true, "{name}: {v}");
        }
        let silent: Vec<u64> = reclaims
            .iter()
            .map(|r| r["silent_ms"].as_u64().unwrap())
            .collect();
        eprintln!(
            "chaos: {} kills in {took:?}; 200 ranges, {} reported, {} duplicates, \
             {} taken over (silent ms: {silent:?}), {} dead",
            killed.len(),
            v["ranges_reported"],
            v["duplicates"],
            reclaims.len(),
            v["dead_letters"].as_array().unwrap().len()
        );
        assert_eq!(redis.cli(&["DBSIZE"]), "0", "the run left keys behind");
    });
}

#[test]
fn a_range_delivered_too_often_goes_to_the_dead_letters_and_is_named() {
    let _turn = kit::turn();
    with_redis(|redis| {
        let coord = coordinator(&[
            "--run-id",
            "dead",
            "--case",
            "prime",
            "--chunks",
            "2",
            "--lease-ms",
            "300",
            "--max-deliveries",
            "1",
        ]);
        // A slow worker takes range 0 and dies with it.
        let mut first = join("dead", "doomed", 1_000);
        std::thread::sleep(Duration::from_millis(500));
        kit::send_signal(first.id(), "KILL");
        first.wait().unwrap();
        // The next worker finds it delivered once already: a dead letter.
        let second = join("dead", "next", 0);
        let (code, stderr) = ended(coord);
        assert_eq!(code, Some(1), "{stderr}");
        assert!(
            stderr.contains("range(s) 0 went to the dead letters")
                && stderr.contains("run:dead:dead"),
            "{stderr}"
        );
        assert_eq!(ended(second).0, Some(0));
        assert_eq!(redis.cli(&["DBSIZE"]), "0");
    });
}

#[test]
fn joiners_of_a_killed_coordinator_leave_within_seconds_and_say_why() {
    let _turn = kit::turn();
    with_redis(|redis| {
        let coord = coordinator(&["--run-id", "orphans", "--case", "prime"]);
        let mut joins: Vec<Child> = (0..2)
            .map(|i| join("orphans", &format!("o{i}"), 20))
            .collect();
        std::thread::sleep(Duration::from_millis(700));
        kit::send_signal(coord.id(), "KILL");
        let killed = Instant::now();
        let _ = ended(coord);
        for j in &mut joins {
            let left =
                ps::wait_for(Duration::from_secs(6), || j.try_wait().unwrap());
            assert!(left.is_some(), "a joiner outlived its coordinator by 6 s");
            let took = killed.elapsed();
            eprintln!("joiner left {took:?} after the coordinator's SIGKILL");
        }
        for j in joins {
            let (code, stderr) = ended(j);
            assert_eq!(code, Some(1), "{stderr}");
            assert!(
                stderr.contains("the coordinator of run orphans is gone"),
                "{stderr}"
            );
        }
        // What it left behind expires by itself.
        assert!(!ttls(redis, "orphans").is_empty());
        assert_every_key_expires(
            redis,
            "orphans",
            "after the coordinator's SIGKILL",
        );
    });
}

#[test]
fn a_stop_from_outside_ends_the_run_whenever_it_lands() {
    let _turn = kit::turn();
    with_redis(|redis| {
        // Before any worker joined, while they search, and as a deleted key.
        for (after_ms, how) in
            [(0, "SET"), (400, "SET"), (1_500, "SET"), (400, "DEL")]
        {
            let mut coord = coordinator(&["--run-id", "halt", "--case", "prime"]);
            let joins: Vec<Child> = match after_ms {
                0 => Vec::new(),
                _ => (0..2).map(|i| join("halt", &format!("h{i}"), 10)).collect(),
            };
            std::thread::sleep(Duration::from_millis(after_ms));
            // Once: nothing the program does may reset it.
            match how {
                "SET" => redis.cli(&["SET", "run:halt:stop", "1"]),
                _ => redis.cli(&["DEL", "run:halt:stop"]),
            };
            let took = exits_within(&mut coord, Duration::from_secs(5));
            assert!(took.is_some(), "{how} after {after_ms} ms: no stop");
            let (code, stderr) = ended(coord);
            let when = format!("{how} after {after_ms} ms");
            assert_eq!(code, Some(1), "{when}: {stderr}");
            assert!(stderr.contains("stopped from outside"), "{when}: {stderr}");
            for j in joins {
                let (code, stderr) = ended(j);
                assert!(code.is_some(), "{when}: {stderr}");
            }
            assert_eq!(redis.cli(&["DBSIZE"]), "0", "{when}");
        }
        // A joiner mid-range hears it too, and says so.
        let coord = coordinator(&["--run-id", "halt", "--case", "prime"]);
        let mut j = join("halt", "listener", 10);
        std::thread::sleep(Duration::from_millis(500));
        redis.cli(&["SET", "run:halt:stop", "1"]);
        assert!(exits_within(&mut j, Duration::from_secs(3)).is_some());
        let (code, stderr) = ended(j);
        assert_eq!(code, Some(0), "{stderr}");
        assert!(stderr.contains("stopped from outside"), "{stderr}");
        assert_eq!(ended(coord).0, Some(1));
    });
}

#[test]
fn every_key_has_a_ttl_during_a_run_and_after_ctrl_c_with_a_joiner_mid_range() {
    let _turn = kit::turn();
    with_redis(|redis| {
        let coord = coordinator(&["--run-id", "ttl", "--case", "prime"]);
        let mut j = join("ttl", "slowpoke", 30);
        let start = Instant::now();
        let mut seen = std::collections::BTreeSet::new();
        while start.elapsed() < Duration::from_millis(1_500) {
            for (key, _) in ttls(redis, "ttl") {
                seen.insert(key);
            }
            assert_every_key_expires(redis, "ttl", "during the run");
        }
        for what in ["stop", "alive", "meta", "tasks", "workers", "progress"] {
            assert!(seen.contains(&format!("run:ttl:{what}")), "{seen:?}");
        }
        // Ctrl-C: the coordinator deletes the keys; the joiner, mid-range,
        // must not make any again.
        kit::send_signal(coord.id(), "INT");
        let (code, stderr) = ended(coord);
        assert_eq!(code, Some(130), "{stderr}");
        assert!(exits_within(&mut j, Duration::from_secs(3)).is_some());
        let (code, stderr) = ended(j);
        assert_eq!(code, Some(1), "{stderr}");
        assert!(
            stderr.contains("the coordinator of run ttl is gone"),
            "{stderr}"
        );
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(redis.cli(&["DBSIZE"]), "0", "{:?}", ttls(redis, "ttl"));
    });
}

#[test]
fn a_reused_run_id_never_takes_an_earlier_runs_leftovers() {
    with_redis(|redis| {
        // A dead run's leftover, without its stop key.
        redis.cli(&["SET", "run:again:results", "old", "EX", "60"]);
        let out = kit::program(bin())
            .args(["coordinate", "--run-id", "again"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("a run named again exists")
                && stderr.contains("run:again:results"),
            "{stderr}"
        );
        assert_eq!(redis.cli(&["DBSIZE"]), "1");
    });
}

#[test]
fn sixty_four_local_workers_end_cleanly_twenty_times_in_a_row() {
    let _turn = kit::turn();
    with_redis(|redis| {
        for i in 0..20 {
            let v = kit::json_run(
                bin(),
                &["coordinate", "--case", "early", "--local-workers", "64"],
            );
            assert_eq!(v["factor"].as_u64(), Case::Early.number().1, "run {i}");
            assert_eq!(redis.cli(&["DBSIZE"]), "0", "run {i}");
        }
    });
}

#[test]
fn a_coordinator_with_the_answer_prints_it_even_when_the_ending_fails() {
    let _turn = kit::turn();
    with_redis(|redis| {
        let coord = coordinator(&[
            "--run-id",
            "answer",
            "--case",
            "early",
            "--lease-ms",
            "60000",
        ]);
        // A worker that joins, takes a range and freezes: alive as far as
        // its lease can tell, so the coordinator waits for it in vain.
        let mut frozen = join("answer", "frozen", 10);
        let joined = ps::wait_for(Duration::from_secs(5), || {
            (redis.cli(&["HLEN", "run:answer:workers"]) == "1").then_some(())
        });
        assert!(joined.is_some(), "the worker never joined");
        kit::send_signal(frozen.id(), "STOP");
        let worker = join("answer", "worker", 0);
        let out = coord.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["factor"].as_u64(), Case::Early.number().1, "{v}");
        assert!(
            stderr.contains("warning: after the answer")
                && stderr.contains("never said they were leaving"),
            "{stderr}"
        );
        assert_eq!(ended(worker).0, Some(0));
        // Thawed, it finds its run gone, says so and writes nothing.
        kit::send_signal(frozen.id(), "CONT");
        assert!(exits_within(&mut frozen, Duration::from_secs(3)).is_some());
        let (code, stderr) = ended(frozen);
        assert_eq!(code, Some(1), "{stderr}");
        assert!(stderr.contains("is gone"), "{stderr}");
        assert_eq!(redis.cli(&["DBSIZE"]), "0");
    });
}
