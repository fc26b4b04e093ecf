//! `cargo xtask measure`: rerun every measurement the book shows.
//!
//! Each measurement is a command and the file its output goes to under
//! `book/src/measured/` (the list is [`crate::data::MEASUREMENTS`]). A `.txt`
//! file holds what a student sees, under a stamp line and the command itself;
//! a `.json` file wraps the program's `--json` document with the same stamp.
//! Tables that set a claim beside a figure, and the charts, are then rendered
//! from the JSON into `.md` and `.svg` files, so no number in the book is
//! typed by hand.

use crate::data::{
    Data, MEASUREMENTS, Measured, Measurement, PYTHON, PYTHON_CMD, REDIS_BIN,
    REDIS_FLOOR, REDIS_FLOOR_ARGS, RTT_PLANS, RedisBenchmark, SideBySide, Stamp,
    measured_dir,
};
use crate::render::RENDERED;
use crate::workspace::{bin_dir, root, sh};
use anyhow::{Context, bail};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::Duration;
use workers::ps;
use workers::redis_server::RedisServer;

/// Reruns the measurements whose file name contains one of `only`, or all of
/// them if `only` is empty; then renders every table and chart.
pub fn run(only: &[String]) -> anyhow::Result<()> {
    let status = Command::new("cargo")
        .args(["build", "--workspace", "--bins"])
        .current_dir(root())
        .status()?;
    if !status.success() {
        bail!("cargo build failed");
    }
    let stamp = stamp_here()?;
    std::fs::create_dir_all(measured_dir())?;
    let wanted = |file: &str| {
        only.is_empty() || only.iter().any(|o| file.contains(o.as_str()))
    };
    let needs_redis = MEASUREMENTS
        .iter()
        .any(|m| m.bin == REDIS_BIN && wanted(m.file))
        || wanted(REDIS_FLOOR)
        || wanted(PYTHON)
        || RTT_PLANS.iter().any(|p| wanted(p.file));
    let redis = if needs_redis {
        Some(RedisServer::start(&[])?)
    } else {
        None
    };
    if let Some(redis) = &redis {
        let plans = RTT_PLANS.iter().filter(|p| wanted(p.file));
        crate::distance::measure_all(&plans.collect::<Vec<_>>(), &stamp, redis)?;
    }
    if let Some(redis) = redis.as_ref().filter(|_| wanted(REDIS_FLOOR)) {
        println!("measure: {REDIS_FLOOR} (redis-benchmark)");
        let doc = redis_benchmark(redis.port)?;
        let command = format!("redis-benchmark {}", REDIS_FLOOR_ARGS.join(" "));
        std::fs::write(
            measured_dir().join(REDIS_FLOOR),
            stamped(&stamp, &command, &doc)?,
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
        // Written as Python printed it (an integer stays an integer), once it
        // is known to be the document the tables read.
        let doc: Value = serde_json::from_slice(&out.stdout)?;
        serde_json::from_value::<SideBySide>(doc.clone())
            .context("python3 printed no side-by-side document")?;
        let command = format!("python3 {}", PYTHON_CMD.join(" "));
        std::fs::write(
            measured_dir().join(PYTHON),
            stamped(&stamp, &command, &doc)?,
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
        let out = execute(m, json, url)?;
        let text = if json {
            // Any JSON is written here; whether it is the document the book
            // reads, field by field, is checked as the tables are made below.
            let doc: Value = serde_json::from_str(&out)
                .with_context(|| format!("{} printed no JSON", m.bin))?;
            stamped(&stamp, &m.command(), &doc)?
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
    let data = Data::load()?;
    for (file, render) in RENDERED {
        std::fs::write(measured_dir().join(file), render(&data)?)?;
    }
    println!("measure: wrote {}", measured_dir().display());
    Ok(())
}

/// A document wrapped with the stamp and the command that made it: the text
/// of a measured `.json` file. Through a `Value`, whose keys are sorted, so
/// that a rerun changes only the figures, and a diff shows just those.
pub fn stamped<T: Serialize>(
    stamp: &Stamp,
    command: &str,
    output: &T,
) -> anyhow::Result<String> {
    let wrapped = Measured {
        stamp: stamp.clone(),
        command: command.to_string(),
        output,
        file: String::new(),
    };
    Ok(serde_json::to_string_pretty(&serde_json::to_value(wrapped)?)? + "\n")
}

/// Runs the already-built binary, as `cargo run` would, and returns what
/// the book shows: stdout; for a fault (a killed worker, a non-zero exit),
/// stdout and stderr in the order a terminal shows them, and the exit code.
fn execute(
    m: &Measurement,
    json: bool,
    redis_url: Option<String>,
) -> anyhow::Result<String> {
    let exe = bin_dir().join(m.bin);
    let mut cmd = Command::new(&exe);
    cmd.args(m.args).current_dir(root());
    // A student's shell does not ask for backtraces; ours may.
    cmd.env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE");
    if let Some(url) = redis_url {
        cmd.env("REDIS_URL", url);
    }
    // A fault's story is told on both streams (a report, then the panic or
    // the error line): one pipe for both keeps their order.
    let fault = !json && (m.kill_worker.is_some() || m.exit != 0);
    let merged = if fault {
        let (reader, writer) = std::io::pipe()?;
        cmd.stdout(writer.try_clone()?).stderr(writer);
        Some(reader)
    } else {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        None
    };
    if json {
        cmd.arg("--json");
    }
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot run {}", exe.display()))?;
    // Our copies of the pipe's write end go, so reading ends with the run.
    drop(cmd);
    let reading = merged.map(|mut r| {
        std::thread::spawn(move || {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut r, &mut text).map(|_| text)
        })
    });
    if let Some(w) = m.kill_worker {
        let kids = ps::wait_for_children(child.id(), w + 1, Duration::from_secs(10))
            .context("the workers did not start")?;
        std::thread::sleep(Duration::from_millis(300));
        sh("kill", &["-KILL", &kids[w].to_string()])?;
    }
    if let Some(reading) = reading {
        let status = child.wait()?;
        let text = (reading.join())
            .map_err(|_| anyhow::anyhow!("reading {}'s output failed", m.bin))??;
        let code = status.code().unwrap_or(-1);
        return match m.kill_worker {
            Some(_) if status.success() => {
                bail!("`{}` survived a killed worker with exit 0", m.command())
            }
            None if code != m.exit => bail!(
                "`{}` ended with {status}, not exit code {}: {text}",
                m.command(),
                m.exit
            ),
            _ => Ok(format!("{text}(exit status {code})\n")),
        };
    }
    let out = child.wait_with_output()?;
    if out.status.code() != Some(0) {
        bail!(
            "`{}` ended with {}, not exit code 0: {}",
            m.command(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8(out.stdout)?)
}

/// Runs `redis-benchmark` against the server on `port`: requests per second
/// and latencies (converted to nanoseconds), from its CSV line for GET.
fn redis_benchmark(port: u16) -> anyhow::Result<RedisBenchmark> {
    let port = port.to_string();
    let mut args = vec!["-p", &port];
    args.extend(REDIS_FLOOR_ARGS);
    parse_benchmark(&sh("redis-benchmark", &args)?)
}

/// Reads `redis-benchmark --csv`'s GET line: requests per second and
/// latencies, converted to nanoseconds.
pub fn parse_benchmark(csv: &str) -> anyhow::Result<RedisBenchmark> {
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
    let row: HashMap<String, String> =
        cells(head).into_iter().zip(cells(get)).collect();
    let column = |name: &str| -> anyhow::Result<f64> {
        let cell = row
            .get(name)
            .with_context(|| format!("no {name} in redis-benchmark's CSV: {csv}"))?;
        cell.parse()
            .with_context(|| format!("{name} in redis-benchmark's CSV is {cell:?}"))
    };
    // Latencies come in milliseconds; the book works in nanoseconds.
    let latency = |stat: &str| -> anyhow::Result<f64> {
        Ok(column(&format!("{stat}_latency_ms"))? * 1e6)
    };
    Ok(RedisBenchmark {
        rps: column("rps")?,
        avg_ns: latency("avg")?,
        min_ns: latency("min")?,
        p50_ns: latency("p50")?,
        p95_ns: latency("p95")?,
        p99_ns: latency("p99")?,
        max_ns: latency("max")?,
    })
}

/// Where, when and from what this run measures.
fn stamp_here() -> anyhow::Result<Stamp> {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let dirty =
        !sh("git", &["status", "--porcelain", "--untracked-files=no"])?.is_empty();
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

/// Replaces what changes on every run but carries no lesson (process ids) with
/// a placeholder, so a rerun only changes the figures that matter.
fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    // A panic names its thread's id, which on Linux is the process's id for a
    // main thread: `thread 'main' (347) panicked`.
    let next = |rest: &str| {
        [
            rest.find("pid ").map(|a| a + 4),
            rest.find("' (").map(|a| a + 3),
        ]
        .into_iter()
        .flatten()
        .min()
    };
    while let Some(at) = next(rest) {
        let (head, tail) = rest.split_at(at);
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
        assert_eq!(
            normalize("thread 'main' (347) panicked at src/crash.rs:57:13:"),
            "thread 'main' (<pid>) panicked at src/crash.rs:57:13:"
        );
    }
}
