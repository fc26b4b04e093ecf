//! What `06-redis-flag` promises, checked on the real binary against a real
//! `redis-server`: each test starts its own on a free loopback port (never
//! the user's 6379) and stops it afterwards. (`workers::testkit` only starts
//! programs and signals them; every assertion is here.)

mod common;

use common::{bin, coordinator, next_line};
use std::process::Stdio;
use std::time::{Duration, Instant};
use workers::ps;
use workers::redis_server::RedisServer;
use workers::search::{Case, candidates};
use workers::testkit::{self as kit, Load};

/// Runs `check` against a fresh server, then checks the run left no key.
fn with_redis(check: impl FnOnce(&RedisServer)) {
    let redis = RedisServer::start(&[]).unwrap();
    kit::with_env(&[("REDIS_URL", &redis.url())], || check(&redis));
    assert_eq!(redis.cli(&["DBSIZE"]), "0", "the run left keys behind");
}

/// A short run: the prime or a case with a factor, one timed search, a few
/// latency trials.
fn short(case: Case, workers: &str) -> kit::Value {
    let args = ["--case", case.name(), "--workers", workers];
    kit::json_run(
        bin(),
        &[&args[..], &["--repeats", "1", "--trials", "3"]].concat(),
    )
}

#[test]
fn every_case_finds_its_factor_and_leaves_no_key() {
    let _turn = kit::turn();
    with_redis(|_| {
        for case in Case::ALL {
            let v = short(case, "2");
            assert_eq!(
                v["factor"].as_u64(),
                case.number().1,
                "case {}",
                case.name()
            );
        }
    });
}

#[test]
fn the_flag_stops_the_worker_that_did_not_find_the_factor() {
    let _turn = kit::turn();
    with_redis(|_| {
        let v = short(Case::Early, "2");
        let half = candidates(Case::Early.number().0) / 2;
        kit::check_stopped_by_the_finder(&v, 174_020_123, half);
    });
}

#[test]
fn the_largest_worker_count_works_polled_and_pushed() {
    let _turn = kit::turn();
    // 256 processes, each with its own connection (two when pushed): most
    // wait for a core at every step, and the start barrier must still hold.
    with_redis(|_| {
        let v = short(Case::Early, "256");
        assert_eq!(v["factor"].as_u64(), Case::Early.number().1);
        let args = ["--push", "--check-every", "1000", "--case", "early"];
        let more = ["--workers", "256", "--repeats", "1", "--trials", "3"];
        let v = kit::json_run(bin(), &[&args[..], &more[..]].concat());
        assert_eq!(v["factor"].as_u64(), Case::Early.number().1);
    });
}

#[test]
fn every_core_busy_changes_timings_not_results() {
    let _turn = kit::turn();
    let _load = Load::every_core();
    with_redis(|_| {
        for workers in ["2", "32"] {
            let v = short(Case::Early, workers);
            assert_eq!(v["factor"].as_u64(), Case::Early.number().1);
        }
    });
}

#[test]
fn a_normal_run_exits_0_and_leaves_no_process_and_no_key() {
    let _turn = kit::turn();
    with_redis(|_| {
        let child = kit::program(bin())
            .args(["--case", "early", "--trials", "5"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let kids =
            ps::wait_for_children(child.id(), 1, Duration::from_secs(10)).unwrap();
        let (code, stderr) = kit::ended(child);
        assert_eq!(code, Some(0), "{stderr}");
        assert!(ps::left_behind(&kids, Duration::from_secs(2)).is_empty());
    });
}

#[test]
fn ctrl_c_mid_run_exits_130_and_leaves_nothing() {
    let _turn = kit::turn();
    with_redis(|_| kit::check_ctrl_c_mid_run(bin(), PREFIX));
}

#[test]
fn a_killed_worker_is_named_in_one_line_and_nothing_is_left() {
    let _turn = kit::turn();
    with_redis(|_| kit::check_killed_worker(bin(), PREFIX));
}

#[test]
fn bad_input_is_refused_with_exit_2_before_anything_starts() {
    let cases: &[(&[&str], &str)] = &[
        (&["--check-every", "0"], "--check-every"),
        (&["--check-every", "-5"], "'-5'"),
        (&["--case", "nope"], "--case"),
        (&["--workload", "nope"], "--workload"),
        (
            &["--workload", "fraud", "--transactions", "999"],
            "--transactions",
        ),
        (
            &["--workload", "fraud", "--transactions", "12000001"],
            "--transactions",
        ),
        (&["--workers", "0"], "--workers"),
        (&["--workers", "257"], "--workers"),
        (&["--repeats", "0"], "--repeats"),
        (&["--trials", "0"], "--trials"),
        // No counter beside this flag: chapter 3 shows lost updates through a server.
        (&["--count", "10"], "--count"),
        (&["--redis-url", "http://localhost:6379"], "not a Redis URL"),
        (&["--redis-url", "localhost"], "not a Redis URL"),
        // Options of the plain run mean nothing to a coordinator.
        (&["--workers", "2", "coordinate"], "coordinate"),
        // The fraud scan's data lives in one machine's memory.
        (&["coordinate", "--workload", "fraud"], "--workload"),
    ];
    kit::refused_with_exit_2(bin(), cases);
}

#[test]
fn help_offers_exactly_the_options_each_way_of_running_honours() {
    let options = kit::help_options(bin(), &[]);
    let plain = [
        "--redis-url",
        "--workload",
        "--case",
        "--transactions",
        "--check-every",
        "--json",
        "--workers",
        "--repeats",
        "--trials",
        "--silence-ms",
        "--push",
        "--help",
    ];
    assert_eq!(options, plain);
    let help = kit::help_text(bin(), &[]);
    assert_eq!(help.matches("[default: 100000]").count(), 1, "{help}");
    assert!(
        help.contains("coordinate") && help.contains("join"),
        "{help}"
    );
    assert!(
        !help.contains("\n  worker "),
        "the hidden subcommand shows: {help}"
    );
    // `coordinate` shares the search options; `join` needs only the server.
    let coordinate = kit::help_options(bin(), &["coordinate"]);
    let shared = ["--redis-url", "--case", "--check-every", "--json"];
    assert_eq!(coordinate[..4], shared);
    let join = kit::help_options(bin(), &["join"]);
    assert_eq!(join, ["--redis-url", "--run-id", "--name", "--help"]);
}

#[test]
fn flags_left_by_earlier_runs_are_ignored() {
    let _turn = kit::turn();
    with_redis(|redis| {
        // Raised flags of runs that crashed: none of them is this run's key.
        for stale in ["stop-flag:1-1", "stop-flag:99999-123456789"] {
            redis.cli(&["SET", stale, "1"]);
        }
        let v = short(Case::Early, "2");
        assert_eq!(v["factor"], 174_020_123);
        redis.cli(&["DEL", "stop-flag:1-1", "stop-flag:99999-123456789"]);
    });
}

#[test]
fn no_server_is_one_clear_line_within_two_seconds() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://{}", free.local_addr().unwrap());
    drop(free);
    let start = Instant::now();
    let out = kit::program(bin())
        .args(["--redis-url", &url])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    let port = url.rsplit(':').next().unwrap();
    assert!(
        stderr.contains("cannot reach Redis at")
            && stderr.contains("(connection refused)")
            && stderr.contains(&format!(
                    "`redis-server --port {port} --save '' --appendonly no --daemonize yes`"
                )),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

/// Sends SIGCONT to a stopped server when dropped, even if a check failed.
struct Resume(u32);

impl Drop for Resume {
    fn drop(&mut self) {
        kit::send_signal(self.0, "CONT");
    }
}

#[test]
fn a_stalled_server_is_named_as_stalled_not_missing() {
    let redis = RedisServer::start(&[]).unwrap();
    kit::send_signal(redis.pid(), "STOP");
    let _resume = Resume(redis.pid());
    for extra in [
        &[][..],
        &["--push"],
        &["coordinate"],
        &["join", "--run-id", "r"],
    ] {
        let start = Instant::now();
        let out = kit::program(bin())
            .args(extra)
            .args(["--redis-url", &redis.url()])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{extra:?}: {stderr}");
        assert!(
            start.elapsed() < Duration::from_secs(4),
            "{:?}",
            start.elapsed()
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains("did not answer within 2 s (stalled or overloaded)")
                && !stderr.contains("redis-server"),
            "{extra:?}: {stderr}"
        );
    }
}

#[test]
fn a_stall_mid_run_ends_the_run_in_bounded_time_and_leaves_nothing() {
    let _turn = kit::turn();
    for extra in [&[][..], &["--push", "--check-every", "1000"]] {
        let redis = RedisServer::start(&[]).unwrap();
        kit::with_env(&[("REDIS_URL", &redis.url())], || {
            let (child, kids) = kit::start_long_with(bin(), extra);
            let pid = child.id();
            // Stopped for 10 s, as a paused or swapping server would be.
            kit::send_signal(redis.pid(), "STOP");
            let _resume = Resume(redis.pid());
            let start = Instant::now();
            let (code, stderr) = kit::ended(child);
            let took = start.elapsed();
            assert_eq!(code, Some(1), "{extra:?}: {stderr}");
            assert!(took < Duration::from_secs(8), "{extra:?}: {took:?}");
            let errors: Vec<&str> =
                stderr.lines().filter(|l| l.starts_with("error:")).collect();
            assert_eq!(errors.len(), 1, "{stderr}");
            assert!(
                errors[0].contains("stopped answering mid-run: no reply within 2 s"),
                "{stderr}"
            );
            assert!(ps::left_behind(&kids, Duration::from_secs(2)).is_empty());
            assert!(kit::leftovers(PREFIX, pid).is_empty());
        });
    }
}

#[test]
fn a_service_that_does_not_speak_redis_is_named() {
    // What an HTTP server says to a Redis command, then it hangs up.
    let http = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://{}", http.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in http.incoming().flatten() {
            let mut conn = conn;
            let _ = std::io::Write::write_all(
                &mut conn,
                b"HTTP/1.0 400 Bad Request\r\n\r\n",
            );
        }
    });
    let out = kit::program(bin())
        .args(["--redis-url", &url])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!("the service at {url} does not speak Redis")),
        "{stderr}"
    );
}

/// Runs `bin args...` with `env`; returns its exit code and all it printed.
fn printed(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let out = kit::program(bin())
        .args(args)
        .envs(env.iter().copied())
        .output();
    let out = out.unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn passwords_work_and_are_never_printed() {
    let _turn = kit::turn();
    let pw = "s3cret-pw";
    let sock = std::env::temp_dir()
        .join(format!("redis-flag-test-{}.sock", std::process::id()));
    let sock = sock.to_str().unwrap().to_string();
    let redis =
        RedisServer::start(&["--requirepass", pw, "--unixsocket", &sock]).unwrap();
    let good = format!("redis://:{pw}@127.0.0.1:{}", redis.port);
    let unix = format!("unix://{sock}?db=2&pass={pw}");
    let early = ["--case", "early", "--repeats", "1", "--trials", "3"];
    let never =
        |all: &str| assert!(!all.contains(pw), "the password was printed: {all}");

    // Normal runs, text and --json, over TCP and a unix socket.
    for url in [&good, &unix] {
        for json in [&[][..], &["--json"]] {
            let args = [&["--redis-url", url.as_str()][..], &early, json].concat();
            let (code, out, err) = printed(&args, &[]);
            assert_eq!(code, Some(0), "{out}{err}");
            never(&(out + &err));
            // The hints: the password masked, and commands that work.
            assert!(err.contains("--askpass MGET stop-flag:"), "{err}");
            if url == &unix {
                let cli = format!("redis-cli -s {sock} -n 2 --askpass");
                assert!(err.contains(&cli), "{err}");
            }
        }
    }
    // The watch command it prints, typed with the password when it asks.
    let (_, _, err) =
        printed(&[&["--redis-url", unix.as_str()][..], &early].concat(), &[]);
    let watch = err
        .lines()
        .find_map(|l| l.trim().strip_prefix("watch it: "))
        .unwrap();
    let typed = std::process::Command::new("sh")
        .args(["-c", &format!("echo {pw} | {watch}")])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&typed.stdout)
        + String::from_utf8_lossy(&typed.stderr);
    assert!(
        typed.status.success() && !said.contains("AUTH"),
        "{watch}: {said}"
    );

    // A coordinator's hints, with its local workers given the URL.
    let args = [
        "coordinate",
        "--redis-url",
        &good,
        "--case",
        "early",
        "--local-workers",
        "1",
    ];
    let (code, out, err) = printed(&args, &[]);
    assert_eq!(code, Some(0), "{err}");
    never(&(out + &err));
    assert!(
        err.contains("REDIS_URL set to redis://:<password>@127.0.0.1"),
        "{err}"
    );

    // A wrong password: exit 1, one line.
    let bad = format!("redis://:wrong-pw@127.0.0.1:{}", redis.port);
    let (code, _, err) = printed(&["--redis-url", &bad], &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("refused our credentials"), "{err}");
    assert!(
        !err.contains("wrong-pw") && err.lines().count() == 1,
        "{err}"
    );

    // URLs that do not parse: exit 2, one line, on the option or in REDIS_URL.
    for url in [
        format!("redis://:{pw}@127.0.0.1:1/x"),
        format!("redis://:{pw}@127.0.0.1:99999"),
        format!("redis://:{pw}@[::1"),
        format!("unix://{sock}?db=x&pass={pw}"),
    ] {
        for (args, env) in [
            (vec!["--redis-url", url.as_str()], vec![]),
            (vec![], vec![("REDIS_URL", url.as_str())]),
            (
                vec!["join", "--run-id", "r"],
                vec![("REDIS_URL", url.as_str())],
            ),
        ] {
            let (code, out, err) = printed(&args, &env);
            assert_eq!(code, Some(2), "{url}: {err}");
            assert!(out.is_empty() && err.lines().count() == 1, "{err}");
            assert!(err.contains("is not a Redis URL"), "{err}");
            never(&err);
        }
    }
    drop(redis);
    let _ = std::fs::remove_file(&sock);
}

/// Starts a long run and reads the flag's key from what it prints first.
fn long_run(
    redis: &RedisServer,
    extra: &[&str],
) -> (std::process::Child, String, Vec<u32>) {
    let mut child = kit::program(bin())
        .args(["--redis-url", &redis.url()])
        .args(["--case", "prime", "--repeats", "100"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let first = next_line(&mut child);
    let key = first
        .split_whitespace()
        .find(|w| w.starts_with("stop-flag:"))
        .expect("the run names its key")
        .trim_end_matches('.')
        .to_string();
    let kids =
        ps::wait_for_children(child.id(), 2, Duration::from_secs(10)).unwrap();
    (child, key, kids)
}

/// When a stop from outside lands in a run of `--trials 3000`: as soon as
/// the key is named (start-up), amid the timed searches (0.5 s), and amid the
/// latency trials (2.5 s), whose resets of the run's own flag once wiped it.
const MOMENTS: [Duration; 3] = [
    Duration::ZERO,
    Duration::from_millis(500),
    Duration::from_millis(2500),
];

#[test]
fn redis_cli_in_another_terminal_stops_the_run() {
    for after in MOMENTS {
        let error = stopped_once(&[], after, Stop::AsPrinted);
        assert!(error.contains("was set to 1"), "after {after:?}: {error}");
    }
}

#[test]
fn redis_cli_publish_stops_a_pushed_run() {
    for after in MOMENTS {
        let error = stopped_once(&["--push"], after, Stop::AsPrinted);
        assert!(
            error.contains("1 was published to"),
            "after {after:?}: {error}"
        );
    }
}

#[test]
fn setting_the_stop_key_stops_a_pushed_run_too() {
    for after in MOMENTS {
        let error = stopped_once(&["--push"], after, Stop::Set);
        assert!(error.contains("was set to 1"), "after {after:?}: {error}");
    }
}

#[test]
fn deleting_the_runs_keys_stops_the_run() {
    for extra in [&[][..], &["--push"]] {
        for after in MOMENTS {
            let error = stopped_once(extra, after, Stop::Delete);
            assert!(
                error.contains("stopped from outside: key")
                    && error.contains("was deleted"),
                "{extra:?} after {after:?}: {error}"
            );
        }
    }
}

#[test]
fn push_finds_every_factor_and_leaves_no_key() {
    let _turn = kit::turn();
    with_redis(|_| {
        for case in Case::ALL {
            let v = kit::json_run(
                bin(),
                &[
                    "--push",
                    "--check-every",
                    "1000",
                    "--case",
                    case.name(),
                    "--repeats",
                    "1",
                    "--trials",
                    "5",
                ],
            );
            assert_eq!(v["factor"].as_u64(), case.number().1, "{}", case.name());
            // A pushed flag is heard, never read with GET or MGET.
            let flag = v["flag"].as_str().unwrap();
            assert!(!flag.contains("GET") && flag.contains("pub/sub"), "{flag}");
        }
    });
}

/// How a test stops a run from outside.
#[derive(Debug, Clone, Copy)]
enum Stop {
    /// The "stop the run" command the program printed, typed into a shell.
    AsPrinted,
    /// `redis-cli SET <key> 1`.
    Set,
    /// `redis-cli DEL <key>`.
    Delete,
}

/// Starts a run of `--trials 3000` with `extra`, stops it once from outside
/// `after` it named its key, and checks how it ended: exit 1, one error line
/// saying "stopped from outside" (returned), and nothing left behind: no
/// process, no socket folder, no key.
fn stopped_once(extra: &[&str], after: Duration, stop: Stop) -> String {
    let _turn = kit::turn();
    let mut error = String::new();
    with_redis(|redis| {
        let mut child = kit::program(bin())
            .args(["--redis-url", &redis.url(), "--trials", "3000"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        let hints: Vec<String> = (0..3).map(|_| next_line(&mut child)).collect();
        let key = hints[0]
            .split_whitespace()
            .find(|w| w.starts_with("stop-flag:"))
            .expect("the run names its key")
            .to_string();
        // Every worker the run ever had, to check that none outlives it.
        let mut kids = std::collections::BTreeSet::new();
        let start = Instant::now();
        while start.elapsed() < after {
            kids.extend(ps::children_of(pid));
            std::thread::sleep(Duration::from_millis(10));
        }
        match stop {
            Stop::AsPrinted => {
                let command = (hints.iter())
                    .find_map(|l| l.trim().strip_prefix("stop the run: "))
                    .expect("the run prints how to stop it");
                let typed = std::process::Command::new("sh")
                    .args(["-c", command])
                    .output()
                    .unwrap();
                assert!(typed.status.success(), "{command}: {typed:?}");
            }
            Stop::Set => _ = redis.cli(&["SET", &key, "1"]),
            Stop::Delete => _ = redis.cli(&["DEL", &key]),
        }
        // Once: no retries, as a person at a terminal would not retry.
        let status = ps::wait_for(Duration::from_secs(20), || {
            kids.extend(ps::children_of(pid));
            std::thread::sleep(Duration::from_millis(10));
            child.try_wait().unwrap()
        })
        .unwrap_or_else(|| {
            panic!("{extra:?}, {stop:?} after {after:?}: still running")
        });
        let mut stderr = String::new();
        std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr)
            .unwrap();
        let context = format!("{extra:?}, {stop:?} after {after:?}: {stderr}");
        assert_eq!(status.code(), Some(1), "{context}");
        let errors: Vec<&str> =
            stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "{context}");
        assert!(errors[0].contains("stopped from outside"), "{context}");
        // Nothing after the hints but the error: no report.
        assert_eq!(stderr.lines().count(), 1, "{context}");
        let kids: Vec<u32> = kids.into_iter().collect();
        assert!(!kids.is_empty() || after.is_zero(), "{context}");
        assert!(ps::left_behind(&kids, Duration::from_secs(2)).is_empty());
        assert!(kit::leftovers(PREFIX, pid).is_empty(), "{context}");
        error = errors[0].to_string();
    });
    error
}

#[test]
fn redis_dying_mid_run_ends_the_run_with_one_line() {
    let _turn = kit::turn();
    let redis = RedisServer::start(&[]).unwrap();
    let (mut child, _, kids) = long_run(&redis, &[]);
    std::thread::sleep(Duration::from_millis(300));
    kit::send_signal(redis.pid(), "KILL");
    let status = ps::wait_for(Duration::from_secs(10), || child.try_wait().unwrap())
        .expect("the run ended within 10 s of Redis dying");
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    // Besides the opening lines that name the key: one error, no cascade.
    let errors: Vec<&str> =
        stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains("stopped answering mid-run"), "{stderr}");
    let mut others = stderr.lines().filter(|l| !l.starts_with("error:"));
    assert!(others.all(|l| l.contains("redis-cli")), "{stderr}");
    assert!(ps::left_behind(&kids, Duration::from_secs(2)).is_empty());
}

#[test]
fn workers_that_share_only_the_url_and_run_id_finish_the_search() {
    let _turn = kit::turn();
    with_redis(|_| {
        let coord = coordinator(&["--run-id", "test-run", "--case", "late"]);
        // Three workers that know nothing of each other or of the coordinator.
        let joins: Vec<_> = (0..3)
            .map(|i| {
                kit::program(bin())
                    .args([
                        "join",
                        "--run-id",
                        "test-run",
                        "--name",
                        &format!("w{i}"),
                    ])
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let out = coord.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["factor"].as_u64(), Case::Late.number().1);
        for i in 0..3 {
            assert_eq!(v["workers"][format!("w{i}")]["answered_pill"], true, "{v}");
        }
        for mut j in joins {
            assert!(
                j.wait().unwrap().success(),
                "every worker took its pill and exited 0"
            );
        }
    });
}

#[test]
fn local_workers_search_a_prime_to_the_end_and_leave_nothing() {
    let _turn = kit::turn();
    with_redis(|_| {
        let coord = coordinator(&["--case", "prime", "--local-workers", "2"]);
        let pid = coord.id();
        let kids = ps::wait_for_children(pid, 2, Duration::from_secs(10)).unwrap();
        let out = coord.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            (v["factor"].clone(), v["ranges_reported"].clone()),
            (serde_json::Value::Null, 64.into())
        );
        assert!(ps::left_behind(&kids, Duration::from_secs(2)).is_empty());
    });
}

#[test]
fn joining_a_run_that_does_not_exist_is_one_clear_line() {
    with_redis(|_| {
        let out = kit::program(bin())
            .args(["join", "--run-id", "nobody-started-this"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("there is no run nobody-started-this"),
            "{stderr}"
        );
    });
}

#[test]
fn a_run_name_in_use_is_never_taken_over() {
    with_redis(|redis| {
        redis.cli(&["SET", "run:taken:stop", "0"]);
        let out = kit::program(bin())
            .args(["coordinate", "--run-id", "taken"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("a run named taken exists"), "{stderr}");
        assert_eq!(redis.cli(&["GET", "run:taken:stop"]), "0");
        redis.cli(&["DEL", "run:taken:stop"]);
    });
}

#[test]
fn distributed_bad_input_is_refused_with_exit_2() {
    let cases: &[(&[&str], &str)] = &[
        (&["join"], "--run-id"),
        (&["join", "--run-id", "has space"], "letters, digits"),
        (&["coordinate", "--chunks", "0"], "--chunks"),
        (&["coordinate", "--check-every", "0"], "--check-every"),
        (&["coordinate", "--case", "nope"], "--case"),
        (
            &["coordinate", "--redis-url", "http://x"],
            "not a Redis URL",
        ),
    ];
    kit::refused_with_exit_2(bin(), cases);
}

#[test]
fn the_stop_command_a_coordinator_prints_stops_the_whole_run() {
    let _turn = kit::turn();
    with_redis(|redis| {
        let mut coord = coordinator(&[
            "--run-id",
            "stop-me",
            "--case",
            "prime",
            "--local-workers",
            "1",
        ]);
        // What the coordinator prints under "Stop:", typed in another terminal.
        let stopped = ps::wait_for(Duration::from_secs(20), || {
            redis.cli(&["SET", "run:stop-me:stop", "1"]);
            std::thread::sleep(Duration::from_millis(50));
            coord.try_wait().unwrap()
        });
        assert!(stopped.is_some(), "the coordinator did not stop");
        let out = coord.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("stopped from outside"), "{stderr}");
    });
}

/// What a run must never leave: its directory of worker sockets.
const PREFIX: &str = "06-redis-flag";

#[test]
fn a_stopped_worker_is_named_killed_and_nothing_is_left() {
    let _turn = kit::turn();
    // Alive but silent: SIGSTOP closes nothing, so only the heartbeat's
    // absence gives it away, after --silence-ms.
    with_redis(|_| kit::check_stopped_worker(bin(), PREFIX));
}

#[test]
fn ctrl_c_while_workers_start_exits_130_and_leaves_nothing() {
    let _turn = kit::turn();
    with_redis(|_| kit::check_ctrl_c_during_start_up(bin(), PREFIX));
}

#[test]
fn the_fraud_scan_finds_the_planted_pair_in_every_case() {
    let _turn = kit::turn();
    with_redis(|_| {
        for case in Case::ALL {
            kit::check_fraud_scan(bin(), case);
        }
    });
}
