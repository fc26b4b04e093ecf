//! `cargo xtask measure`: rerun every measurement the book shows.
//!
//! Each measurement is a command and the file its output goes to under
//! `book/src/measured/`. A `.txt` file holds what a student sees, under a
//! stamp line and the command itself; a `.json` file wraps the program's
//! `--json` document with the same stamp. Tables that set a claim beside a
//! figure are rendered from the JSON into `.md` files, so no number in the
//! book is typed by hand.

use crate::root;
use anyhow::{Context, bail};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;
use workers::ps;
use workers::redis_server::RedisServer;

/// One command whose output the book shows.
#[derive(Debug)]
pub struct Measurement {
    /// File name under `book/src/measured/`; `.json` runs with `--json`.
    pub file: &'static str,
    /// The binary, as `cargo run --bin` names it.
    pub bin: &'static str,
    /// Its arguments.
    pub args: &'static [&'static str],
    /// Worker to kill with SIGKILL once the run is under way, to show a fault.
    /// The file then holds what the program said on stderr, and its exit code.
    pub kill_worker: Option<usize>,
    /// The exit code the run is meant to end with: a demonstration of a
    /// fault exits non-zero, and the file then ends by saying so.
    pub exit: i32,
}

impl Measurement {
    const fn of(
        file: &'static str,
        bin: &'static str,
        args: &'static [&'static str],
    ) -> Self {
        Measurement {
            file,
            bin,
            args,
            kill_worker: None,
            exit: 0,
        }
    }

    const fn exiting(self, exit: i32) -> Self {
        Measurement { exit, ..self }
    }

    const fn killing(self, worker: usize) -> Self {
        Measurement {
            kill_worker: Some(worker),
            ..self
        }
    }
}

/// Heavy numbers: near 10^12 a prime takes half a million divisions.
const HEAVY: &[&str] = &["--from", "1000000000000", "--to", "1000000010000"];
const HEAVY_64: &[&str] = &[
    "--from",
    "1000000000000",
    "--to",
    "1000000010000",
    "--batch",
    "64",
];
/// The prime case, where the flag's cost is a few percent at most: medians of
/// 7 searches, because single searches on a shared machine vary by as much.
const PRIME: &[&str] = &["--case", "prime", "--repeats", "7"];
const COUNT_RAW: &[&str] = &[
    "--case",
    "early",
    "--repeats",
    "1",
    "--trials",
    "5",
    "--count",
    "1000000",
];
const HEAVY_4: &[&str] = &[
    "--from",
    "1000000000000",
    "--to",
    "1000000010000",
    "--batch",
    "4",
];

/// The text's order (join, then read) with more results than a channel holds.
const DEADLOCK: &[&str] = &["--join-first", "--from", "1000000", "--to", "1100000"];

/// Chapter 6's sweep of the check interval on the prime case, where every
/// look is overhead; the dearest settings are searched once.
const POLL_K1000: &[&str] = &[
    "--case",
    "prime",
    "--check-every",
    "1000",
    "--repeats",
    "1",
    "--trials",
    "20",
];
const POLL_K10000: &[&str] = &[
    "--case",
    "prime",
    "--check-every",
    "10000",
    "--repeats",
    "3",
    "--trials",
    "20",
];
const POLL_K100000: &[&str] = &[
    "--case",
    "prime",
    "--check-every",
    "100000",
    "--repeats",
    "5",
    "--trials",
    "20",
];
const POLL_K1000000: &[&str] = &[
    "--case",
    "prime",
    "--check-every",
    "1000000",
    "--repeats",
    "5",
    "--trials",
    "20",
];
const PUSH_K1000: &[&str] = &[
    "--case",
    "prime",
    "--push",
    "--check-every",
    "1000",
    "--repeats",
    "5",
    "--trials",
    "20",
];

/// Every measurement, in the order they run.
pub const MEASUREMENTS: &[Measurement] = &[
    Measurement::of("01-default.txt", "01-work-queue", &[]),
    Measurement::of(
        "01-slow-worker.txt",
        "01-work-queue",
        &["--slow-worker", "1", "--repeats", "1"],
    ),
    Measurement::of("01-batched.txt", "01-work-queue", &["--batch", "64"]),
    Measurement::of("01-sweep.json", "01-work-queue", &["--sweep"]),
    Measurement::of("01-heavy-1.json", "01-work-queue", HEAVY),
    Measurement::of("01-heavy-64.json", "01-work-queue", HEAVY_64),
    Measurement::of("01-killed-worker.txt", "01-work-queue", HEAVY_4).killing(1),
    Measurement::of("02-default.txt", "02-poison-pill", &[]),
    Measurement::of("02-pills.txt", "02-poison-pill", &["--pills", "1"]).exiting(1),
    Measurement::of("02-crash.txt", "02-poison-pill", &["--crash-worker", "1"])
        .exiting(1),
    Measurement::of("02-join-first.txt", "02-poison-pill", &["--join-first"]),
    Measurement::of("02-deadlock.txt", "02-poison-pill", DEADLOCK).exiting(1),
    Measurement::of("02-pipeline.txt", "02-poison-pill", &["--pipeline"]),
    Measurement::of("02-compare.json", "02-poison-pill", &["--compare"]),
    Measurement::of("03-default.txt", "03-manager-flag", &[]),
    Measurement::of(
        "03-prime.json",
        "03-manager-flag",
        &["--case", "prime", "--count", "2000"],
    ),
    Measurement::of(
        "03-prime-k1000.json",
        "03-manager-flag",
        &[
            "--case",
            "prime",
            "--check-every",
            "1000",
            "--repeats",
            "1",
            "--trials",
            "10",
        ],
    ),
    Measurement::of("04-default.txt", "04-rawvalue-flag", &[]),
    Measurement::of("04-count.txt", "04-rawvalue-flag", COUNT_RAW),
    Measurement::of("04-count.json", "04-rawvalue-flag", COUNT_RAW),
    Measurement::of("04-prime.json", "04-rawvalue-flag", PRIME),
    Measurement::of("05-default.txt", "05-mmap-flag", &[]),
    Measurement::of("05-prime.txt", "05-mmap-flag", PRIME),
    Measurement::of("05-prime.json", "05-mmap-flag", PRIME),
    Measurement::of("05-early.json", "05-mmap-flag", &["--case", "early"]),
    Measurement::of("06-default.txt", "06-redis-flag", &[]),
    Measurement::of("06-poll-k1000.json", "06-redis-flag", POLL_K1000),
    Measurement::of("06-poll-k10000.json", "06-redis-flag", POLL_K10000),
    Measurement::of("06-poll-k100000.json", "06-redis-flag", POLL_K100000),
    Measurement::of("06-poll-k1000000.json", "06-redis-flag", POLL_K1000000),
    Measurement::of("06-push-k1000.json", "06-redis-flag", PUSH_K1000),
    Measurement::of(
        "06-distributed.txt",
        "06-redis-flag",
        &["coordinate", "--local-workers", "2", "--run-id", "demo"],
    ),
];

/// The program whose flag lives in Redis: `measure` starts a server of its
/// own for it and hands over the URL in `REDIS_URL`, so the commands shown
/// are the ones a student types against their own server.
const REDIS_BIN: &str = "06-redis-flag";

/// The same measurements in Python, for the side-by-side tables.
pub const PYTHON: &str = "py-side-by-side.json";
const PYTHON_CMD: &[&str] = &["python/side_by_side.py", "--json"];

/// The floor for chapter 6: Redis's own benchmark, one client, GET only.
pub const REDIS_FLOOR: &str = "06-redis-benchmark.json";
const REDIS_FLOOR_ARGS: &[&str] = &["-c", "1", "-n", "20000", "-t", "get", "--csv"];

/// Makes a markdown file's text from measured JSON.
type Render = fn() -> anyhow::Result<String>;

/// Files rendered from the measured JSON, with what renders them.
pub const RENDERED: &[(&str, Render)] = &[
    ("01-sweep.md", crate::book::render_sweep),
    ("01-claims.md", crate::book::render_work_queue_claims),
    ("02-claims.md", crate::book::render_pill_claims),
    ("03-claims.md", crate::book::render_manager_claims),
    ("04-05-claims.md", crate::book::render_local_flag_claims),
    ("06-claims.md", crate::book::render_redis_claims),
    ("tradeoffs.md", crate::book::render_tradeoffs),
    ("rules.md", crate::book::render_rules),
    ("python.md", crate::book::render_python),
];

/// The tables and the charts: every file made from measured data.
pub fn renderers() -> impl Iterator<Item = &'static (&'static str, Render)> {
    RENDERED.iter().chain(crate::charts::CHARTS)
}

/// Every file `measure` writes under `book/src/measured/`.
pub fn all_files() -> Vec<&'static str> {
    MEASUREMENTS
        .iter()
        .map(|m| m.file)
        .chain([REDIS_FLOOR, PYTHON])
        .chain(renderers().map(|(f, _)| *f))
        .collect()
}

/// A program's JSON document wrapped with the stamp and the command that
/// made it: the form of every measured `.json` file.
fn stamped(stamp: &Stamp, command: &str, output: Value) -> anyhow::Result<String> {
    let wrapped = json!({ "stamp": stamp, "command": command, "output": output });
    Ok(serde_json::to_string_pretty(&wrapped)? + "\n")
}

pub fn measured_dir() -> PathBuf {
    root().join("book/src/measured")
}

pub fn run(only: Option<&str>) -> anyhow::Result<()> {
    let status = Command::new("cargo")
        .args(["build", "--workspace", "--bins"])
        .current_dir(root())
        .status()?;
    if !status.success() {
        bail!("cargo build failed");
    }
    let stamp = Stamp::here()?;
    std::fs::create_dir_all(measured_dir())?;
    let wanted = |file: &str| only.is_none_or(|o| file.contains(o));
    let needs_redis = MEASUREMENTS
        .iter()
        .any(|m| m.bin == REDIS_BIN && wanted(m.file))
        || wanted(REDIS_FLOOR)
        || wanted(PYTHON);
    let redis = if needs_redis {
        Some(RedisServer::start(&[])?)
    } else {
        None
    };
    if let Some(redis) = redis.as_ref().filter(|_| wanted(REDIS_FLOOR)) {
        println!("measure: {REDIS_FLOOR} (redis-benchmark)");
        let doc = redis_benchmark(redis.port)?;
        let command = format!("redis-benchmark {}", REDIS_FLOOR_ARGS.join(" "));
        std::fs::write(
            measured_dir().join(REDIS_FLOOR),
            stamped(&stamp, &command, doc)?,
        )?;
    }
    if wanted(PYTHON) {
        println!("measure: {PYTHON} (python3 {})", PYTHON_CMD.join(" "));
        let mut py = Command::new("python3");
        py.args(PYTHON_CMD).current_dir(root());
        if let Some(redis) = &redis {
            py.env("REDIS_URL", redis.url());
        }
        let out = py.output().context("cannot run python3")?;
        if !out.status.success() {
            bail!("python3 failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let doc: Value = serde_json::from_slice(&out.stdout)?;
        let command = format!("python3 {}", PYTHON_CMD.join(" "));
        std::fs::write(
            measured_dir().join(PYTHON),
            stamped(&stamp, &command, doc)?,
        )?;
    }
    for m in MEASUREMENTS {
        if !wanted(m.file) {
            continue;
        }
        println!("measure: {} ({})", m.file, m.command());
        let json = m.file.ends_with(".json");
        let url = redis
            .as_ref()
            .filter(|_| m.bin == REDIS_BIN)
            .map(RedisServer::url);
        let out = m.execute(json, url)?;
        let text = if json {
            let doc: Value = serde_json::from_str(&out)
                .with_context(|| format!("{} printed no JSON", m.bin))?;
            stamped(&stamp, &m.command(), doc)?
        } else {
            let note = m.kill_worker.map_or(String::new(), |w| {
                format!("\n# ...and 0.3 s in, from another terminal: kill -KILL <pid of worker {w}>")
            });
            format!(
                "{}\n$ {}{note}\n{}",
                stamp.line(),
                m.command(),
                normalize(&out)
            )
        };
        std::fs::write(measured_dir().join(m.file), text)?;
    }
    for (file, render) in renderers() {
        std::fs::write(measured_dir().join(file), render()?)?;
    }
    println!("measure: wrote {}", measured_dir().display());
    Ok(())
}

impl Measurement {
    /// The command as a student types it.
    pub fn command(&self) -> String {
        let mut c = format!("cargo run --bin {}", self.bin);

        if !self.args.is_empty() || self.file.ends_with(".json") {
            c.push_str(" --");
        }
        for a in self.args {
            c.push(' ');
            c.push_str(a);
        }
        if self.file.ends_with(".json") {
            c.push_str(" --json");
        }
        c
    }

    /// Runs the already-built binary, as `cargo run` would, and returns what
    /// the book shows: stdout, or for a fault, stderr and the exit code.
    fn execute(
        &self,
        json: bool,
        redis_url: Option<String>,
    ) -> anyhow::Result<String> {
        let exe = root().join("target/debug").join(self.bin);
        let mut cmd = Command::new(&exe);
        cmd.args(self.args).current_dir(root());
        if let Some(url) = redis_url {
            cmd.env("REDIS_URL", url);
        }
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        if json {
            cmd.arg("--json");
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot run {}", exe.display()))?;
        if let Some(w) = self.kill_worker {
            let kids =
                ps::wait_for_children(child.id(), w + 1, Duration::from_secs(10))
                    .context("the workers did not start")?;
            std::thread::sleep(Duration::from_millis(300));
            sh("kill", &["-KILL", &kids[w].to_string()])?;
        }
        let out = child.wait_with_output()?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        match self.kill_worker {
            Some(_) if !out.status.success() => Ok(format!(
                "{stderr}(exit status {})\n",
                out.status.code().unwrap_or(-1)
            )),
            Some(_) => {
                bail!("`{}` survived a killed worker with exit 0", self.command())
            }
            None if out.status.code() == Some(self.exit) => {
                let stdout = String::from_utf8(out.stdout)?;
                Ok(match self.exit {
                    0 => stdout,
                    code => format!("{stdout}(exit status {code})\n"),
                })
            }
            None => bail!(
                "`{}` ended with {}, not exit code {}: {stderr}",
                self.command(),
                out.status,
                self.exit
            ),
        }
    }
}

/// Runs `redis-benchmark` against the server on `port`: requests per second
/// and latencies (converted to nanoseconds), from its CSV line for GET.
fn redis_benchmark(port: u16) -> anyhow::Result<Value> {
    let port = port.to_string();
    let mut args = vec!["-p", &port];
    args.extend(REDIS_FLOOR_ARGS);
    let csv = sh("redis-benchmark", &args)?;
    let mut lines = csv.lines().filter(|l| !l.trim().is_empty());
    let (head, get) = (
        lines.next().context("redis-benchmark printed nothing")?,
        lines
            .next()
            .context("redis-benchmark printed no GET line")?,
    );
    let cells = |l: &str| -> Vec<String> {
        l.split(',')
            .map(|c| c.trim_matches('"').to_string())
            .collect()
    };
    let mut doc = serde_json::Map::new();
    for (name, value) in cells(head).into_iter().zip(cells(get)) {
        let Ok(x) = value.parse::<f64>() else {
            continue;
        };
        // Latencies come in milliseconds; the book works in nanoseconds.
        match name.strip_suffix("_latency_ms") {
            Some(stat) => doc.insert(format!("{stat}_ns"), json!(x * 1e6)),
            None => doc.insert(name, json!(x)),
        };
    }
    anyhow::ensure!(
        doc.contains_key("p50_ns"),
        "no p50 in redis-benchmark's CSV: {csv}"
    );
    Ok(Value::Object(doc))
}

/// Where, when and from what a figure was measured.
#[derive(Debug, serde::Serialize)]
pub struct Stamp {
    pub date: String,
    pub cpu: String,
    pub cores: usize,
    pub kernel: String,
    pub rustc: String,
    pub revision: String,
}

impl Stamp {
    fn here() -> anyhow::Result<Stamp> {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .unwrap_or_default()
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name")
                    .map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())
            })
            .unwrap_or_else(|| "unknown CPU".into());
        let dirty = !sh("git", &["status", "--porcelain", "--untracked-files=no"])?
            .is_empty();
        let rev = sh("git", &["rev-parse", "--short", "HEAD"])
            .unwrap_or_else(|_| "none".into());
        Ok(Stamp {
            date: sh("date", &["-u", "+%Y-%m-%d"])?,
            cpu,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            kernel: sh("uname", &["-r"])?,
            rustc: sh("rustc", &["--version"])?,
            revision: if dirty { format!("{rev}+changes") } else { rev },
        })
    }

    /// The stamp as the first line of a `.txt` file.
    fn line(&self) -> String {
        format!(
            "# measured {} on {}, {} cores, Linux {}, {}, revision {}",
            self.date, self.cpu, self.cores, self.kernel, self.rustc, self.revision
        )
    }
}

/// Runs a command in the workspace root and returns its trimmed stdout.
fn sh(program: &str, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new(program)
        .args(args)
        .current_dir(root())
        .output()?;
    if !out.status.success() {
        bail!("{program} {} failed", args.join(" "));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Replaces what changes on every run but carries no lesson (process ids) with
/// a placeholder, so a rerun only changes the figures that matter.
fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("pid ") {
        let (head, tail) = rest.split_at(at + 4);
        out.push_str(head);
        let digits =
            tail.len() - tail.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits > 0 {
            out.push_str("<pid>");
        }
        rest = &tail[digits..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_ids_are_normalized() {
        assert_eq!(
            normalize("worker 1 (pid 11702) died; pid 7 too; rapid growth"),
            "worker 1 (pid <pid>) died; pid <pid> too; rapid growth"
        );
    }

    #[test]
    fn every_measurement_has_a_unique_file() {
        let mut files = all_files();
        let n = files.len();
        files.sort_unstable();
        files.dedup();
        assert_eq!(files.len(), n);
    }
}
