//! The book's checks, and the tables rendered from measured data.
//!
//! mdBook fails quietly: a missing include file logs an error and exits 0, a
//! missing anchor includes nothing, a bad `book.toml` key drops a whole table.
//! So these checks resolve every include and anchor themselves, check every
//! internal link and every measured file, and treat any ERROR or WARN line of
//! `mdbook build` as a failure.

use crate::measure::{PYTHON, REDIS_FLOOR, all_files, measured_dir, renderers};
use crate::root;
use anyhow::{Context, bail};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use workers::report::{human_ns, ratio};

pub fn check() -> anyhow::Result<()> {
    let src = root().join("book/src");
    let mut problems = Vec::new();
    let markdown = markdown_files(&src)?;
    for md in &markdown {
        let text = std::fs::read_to_string(md)?;
        let dir = md.parent().expect("a file has a folder");
        let name = md.strip_prefix(root()).unwrap_or(md).display().to_string();
        for include in includes(&text) {
            if let Err(e) = check_include(dir, &include) {
                problems.push(format!("{name}: {{{{#include {include}}}}}: {e}"));
            }
        }
        for link in links(&text) {
            let path = link.split('#').next().unwrap_or_default();
            if !path.is_empty() && !dir.join(path).exists() {
                problems.push(format!("{name}: broken link to {link}"));
            }
        }
    }
    problems.extend(check_measured());
    problems.extend(crate::commands::check(&markdown)?);
    if !problems.is_empty() {
        bail!(
            "the book has {} problems:\n  {}",
            problems.len(),
            problems.join("\n  ")
        );
    }
    mdbook_build()?;
    println!(
        "book: includes, anchors, links, measured files and shown commands check out"
    );
    Ok(())
}

fn markdown_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            out.extend(markdown_files(&path)?);
        } else if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
    Ok(out)
}

/// The arguments of every `{{#include ...}}` (and `rustdoc_include`).
fn includes(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for marker in ["{{#include ", "{{#rustdoc_include "] {
        for (at, _) in text.match_indices(marker) {
            let rest = &text[at + marker.len()..];
            if let Some(end) = rest.find("}}") {
                out.push(rest[..end].trim().to_string());
            }
        }
    }
    out
}

/// `path` or `path:anchor`; line numbers are refused, they rot silently.
fn check_include(dir: &Path, include: &str) -> anyhow::Result<()> {
    let (path, anchor) = match include.split_once(':') {
        Some((p, a)) => (p, Some(a)),
        None => (include, None),
    };
    let file = dir.join(path);
    let text = std::fs::read_to_string(&file).context("file not found")?;
    let Some(anchor) = anchor else { return Ok(()) };
    if anchor
        .split(':')
        .all(|p| p.chars().all(|c| c.is_ascii_digit()))
    {
        bail!("includes by line number; use a named ANCHOR");
    }
    for mark in [format!("ANCHOR: {anchor}"), format!("ANCHOR_END: {anchor}")] {
        if !text.lines().any(|l| l.trim_end().ends_with(&mark)) {
            bail!("no `{mark}` line in {path}");
        }
    }
    Ok(())
}

/// Targets of inline markdown links that point inside the book.
fn links(text: &str) -> Vec<String> {
    text.match_indices("](")
        .filter_map(|(at, _)| {
            let rest = &text[at + 2..];
            let target = &rest[..rest.find(')')?];
            let external = target.contains("://") || target.starts_with(['#', '{']);
            (!external && !target.starts_with("mailto:")).then(|| target.to_string())
        })
        .collect()
}

/// Every measured and rendered file exists, is stamped and parses; nothing
/// else (a stale file from a measurement since removed) sits beside them.
fn check_measured() -> Vec<String> {
    let mut problems = Vec::new();
    let dir = measured_dir();
    let known = all_files();
    for file in &known {
        let path = dir.join(file);
        let Ok(text) = std::fs::read_to_string(&path) else {
            problems.push(format!("missing {file}: run `cargo xtask measure`"));
            continue;
        };
        let stamped = if file.ends_with(".json") {
            serde_json::from_str::<Value>(&text).is_ok_and(|v| {
                v["stamp"]["revision"].is_string() && v["output"].is_object()
            })
        } else if file.ends_with(".txt") {
            text.starts_with("# measured ")
        } else if file.ends_with(".svg") {
            text.starts_with("<svg")
        } else {
            text.contains("\n_Measured ")
        };
        if !stamped {
            problems.push(format!("{file} is not stamped or does not parse"));
        }
    }
    // Tables and charts must be what the current code makes of the data:
    // a change to a renderer without `cargo xtask measure` shows up here.
    for (file, render) in renderers() {
        let committed = std::fs::read_to_string(dir.join(file)).unwrap_or_default();
        match render() {
            Ok(text) if text == committed => {}
            Ok(_) => problems.push(format!(
                "{file} is not what the current code renders: run `cargo xtask measure`"
            )),
            Err(e) => problems.push(format!("{file} cannot be rendered: {e:#}")),
        }
    }
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !known.contains(&name.as_str()) {
                problems
                    .push(format!("{name} in measured/ is made by no measurement"));
            }
        }
    }
    problems
}

fn mdbook_build() -> anyhow::Result<()> {
    let out = Command::new("mdbook")
        .args(["build", "book"])
        .current_dir(root())
        .output()
        .context("cannot run mdbook (`cargo xtask ci` installs it)")?;
    let log =
        String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    let bad: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("ERROR") || l.contains("WARN"))
        .collect();
    if !out.status.success() || !bad.is_empty() {
        bail!("mdbook build is not clean:\n{log}");
    }
    Ok(())
}

/// Reads a measured JSON file's `output` and its stamp line.
pub fn measured(file: &str) -> anyhow::Result<(Value, String)> {
    let path = measured_dir().join(file);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{file} is missing: run `cargo xtask measure`"))?;
    let v: Value = serde_json::from_str(&text)?;
    let s = &v["stamp"];
    let stamp = format!(
        "_Measured {} on {}, {} cores, Linux {}, {}, revision {}, by `{}`._",
        s["date"].as_str().unwrap_or("?"),
        s["cpu"].as_str().unwrap_or("?"),
        s["cores"],
        s["kernel"].as_str().unwrap_or("?"),
        s["rustc"].as_str().unwrap_or("?"),
        s["revision"].as_str().unwrap_or("?"),
        v["command"].as_str().unwrap_or("?"),
    );
    Ok((v["output"].clone(), stamp))
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

fn ns(v: &Value) -> String {
    human_ns(f(v))
}

/// "2.3x faster" or "410x slower": a ratio a reader need not invert.
fn versus_serial(speedup: f64) -> String {
    if speedup >= 1.0 {
        format!("{speedup:.2}x faster than serial")
    } else {
        format!("{:.1}x slower than serial", 1.0 / speedup)
    }
}

/// A flag's whole cost on the prime case: the parallel search looking at it,
/// against the same search never looking, in percent.
pub fn overhead_pct(v: &Value) -> f64 {
    let (with, without) = (
        f(&v["parallel_ns"]["median"]),
        f(&v["unchecked_ns"]["median"]),
    );
    (with - without) / without * 100.0
}

fn overhead(v: &Value) -> String {
    format!("{:+.1}%", overhead_pct(v))
}

/// The queue-cost sweep of chapter 1 as a markdown table.
pub fn render_sweep() -> anyhow::Result<String> {
    let (sweep, stamp) = measured("01-sweep.json")?;
    let rows = sweep["rows"].as_array().context("sweep has no rows")?;
    let batch = rows
        .first()
        .map_or(Value::Null, |r| r["batched"]["batch"].clone());
    let mut t = format!(
        "| numbers from | task cost | 1 per message | overhead per task | {batch} per message | overhead per task |\n\
         |---|--:|--:|--:|--:|--:|\n"
    );
    for r in rows {
        t += &format!(
            "| 10^{} | {} | {} | {} | {} | {} |\n",
            r["from"].as_u64().unwrap_or(1).ilog10(),
            ns(&r["task_ns"]),
            ratio(f(&r["unbatched"]["speedup"])),
            ns(&r["unbatched"]["overhead_per_task_ns"]),
            ratio(f(&r["batched"]["speedup"])),
            ns(&r["batched"]["overhead_per_task_ns"]),
        );
    }
    let cross = |k: &str| match sweep[k].as_f64() {
        Some(x) => format!("at tasks of {}", human_ns(x)),
        None => "nowhere in this sweep".to_string(),
    };
    t += &format!(
        "\nSpeedup is serial time over parallel time ({} workers); above 1x the queue \
         paid off. Parallel first beats serial {} with one number per message, and {} \
         with {batch} per message.\n\n{stamp}\n",
        sweep["workers"],
        cross("crossover_unbatched_ns"),
        cross("crossover_batched_ns"),
    );
    Ok(t)
}

/// Chapter 1's claims, each beside the published Python figure and ours.
pub fn render_work_queue_claims() -> anyhow::Result<String> {
    let (sweep, stamp) = measured("01-sweep.json")?;
    let (one, _) = measured("01-heavy-1.json")?;
    let (many, _) = measured("01-heavy-64.json")?;
    let rows = sweep["rows"].as_array().context("sweep has no rows")?;
    let (tiny, mid) = (&rows[0], &rows[rows.len() / 2]);
    let cross = |k: &str| sweep[k].as_f64().map_or("never".into(), human_ns);
    let workers = &sweep["workers"];
    let lines = [
        (
            "Queues are not free: every task is serialized, copied and passed through a lock.",
            "—".to_string(),
            format!(
                "One number per message costs {} of wall time per task on top of the work \
                 itself, with tasks of {}.",
                ns(&tiny["unbatched"]["overhead_per_task_ns"]),
                ns(&tiny["task_ns"])
            ),
        ),
        (
            "If tasks are tiny, queue overhead dominates and parallel is slower than serial.",
            "Primes in 10^8..10^8+10^6: 24 s with no queue, 97 to 111 s through Queues \
             with 1 to 8 processes (4.0x to 4.6x slower)."
                .to_string(),
            format!(
                "Numbers near 10^{} (tasks of {}), {workers} workers, one per message: {}.",
                mid["from"].as_u64().unwrap_or(1).ilog10(),
                ns(&mid["task_ns"]),
                versus_serial(f(&mid["unbatched"]["speedup"]))
            ),
        ),
        (
            "Queue overhead must be small relative to task cost.",
            "—".to_string(),
            format!(
                "Parallel first beats serial at tasks of {} one per message, and of {} \
                 with {} per message.",
                cross("crossover_unbatched_ns"),
                cross("crossover_batched_ns"),
                tiny["batched"]["batch"]
            ),
        ),
        (
            "(Our remedy, not the text's) Send tasks in batches.",
            "—".to_string(),
            format!(
                "Overhead per task falls from {} to {} at 64 per message; heavy numbers \
                 near 10^12 with {} workers: {} one per message, {} at 64 per message.",
                ns(&tiny["unbatched"]["overhead_per_task_ns"]),
                ns(&tiny["batched"]["overhead_per_task_ns"]),
                one["workers"],
                versus_serial(f(&one["speedup"])),
                versus_serial(f(&many["speedup"]))
            ),
        ),
    ];
    let mut t = String::from(
        "| The text says | Python, as published (High Performance Python, 2nd ed., ch. 9) | Rust, measured here |\n|---|---|---|\n",
    );
    for (claim, python, rust) in lines {
        t += &format!("| {claim} | {python} | {rust} |\n");
    }
    t += &format!("\n{stamp}\n");
    Ok(t)
}

/// One way of ending the workers (`pill`, `close`, `kill`) from chapter 2's
/// `--compare` output.
fn way(compare: &Value, name: &str) -> anyhow::Result<Value> {
    (compare["ways"].as_array())
        .and_then(|ways| ways.iter().find(|w| w["how"] == name).cloned())
        .with_context(|| format!("02-compare.json has no `{name}`"))
}

/// Chapter 2: the three ways to end the workers, and the text's claims.
pub fn render_pill_claims() -> anyhow::Result<String> {
    let (v, stamp) = measured("02-compare.json")?;
    let ways = v["ways"].as_array().context("no ways")?;
    let mut t = String::from(
        "| shutdown | queue dry to all reaped | last result to all reaped | numbers held | numbers lost | primes lost |\n|---|--:|--:|--:|--:|--:|\n",
    );
    for w in ways {
        t += &format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            w["how"].as_str().unwrap_or("?"),
            ns(&w["shutdown_ns"]["median"]),
            ns(&w["after_last_result_ns"]["median"]),
            f(&w["held"]["median"]),
            w["lost_numbers"],
            w["lost_primes"],
        );
    }
    let (pill, kill) = (way(&v, "pill")?, way(&v, "kill")?);
    t += &format!(
        "\n{} workers, numbers {}..{} in batches of {}, {} rounds each; times are \
         medians, held is per round, lost is summed over all rounds.\n\n",
        v["workers"], v["from"], v["to"], v["batch"], v["rounds"]
    );
    t += "| The text says | Rust, measured here |\n|---|---|\n";
    t += &format!(
        "| A sentinel lets workers exit cleanly. | With one pill per worker, every worker \
         was reaped {} after the queue ran dry ({} after the last result), and {} numbers \
         were lost over {} rounds. |\n",
        ns(&pill["shutdown_ns"]["median"]),
        ns(&pill["after_last_result_ns"]["median"]),
        pill["lost_numbers"],
        v["rounds"],
    );
    t += &format!(
        "| It is production-grade shutdown logic. | The alternative that needs no protocol, \
         killing, ends in {} but lost {} numbers ({} primes) over the same rounds: the work \
         the workers held. |\n",
        ns(&kill["shutdown_ns"]["median"]),
        kill["lost_numbers"],
        kill["lost_primes"],
    );
    t += &format!("\n{stamp}\n");
    Ok(t)
}

/// Chapters 4 and 5: the raw and the mmap flag beside the floor, and the
/// text's claims beside the published Python figures and ours.
pub fn render_local_flag_claims() -> anyhow::Result<String> {
    let (raw, stamp) = measured("04-prime.json")?;
    let (mmap, _) = measured("05-prime.json")?;
    let speedup = |v: &Value| {
        ratio(f(&v["serial_ns"]["median"]) / f(&v["parallel_ns"]["median"]))
    };
    let mut t = String::from(
        "| | one look at the flag | stop latency p50 / p99 | flag overhead, prime case | parallel vs serial, prime case |\n|---|--:|--:|--:|--:|\n",
    );
    for (name, v) in [
        ("04: atomic byte in shared memory (`Relaxed`)", &raw),
        ("05: byte of an mmap'd file (`Acquire`)", &mmap),
    ] {
        t += &format!(
            "| {name} | {} | {} / {} | {} | {} |\n",
            ns(&v["check_ns"]["median"]),
            ns(&v["stop_latency_ns"]["median"]),
            ns(&v["stop_latency_ns"]["p99"]),
            overhead(v),
            speedup(v),
        );
    }
    t += &format!(
        "| floor: atomic load in the worker's own memory | {} | | | |\n| scale: one ipc-channel round trip | {} | | | |\n",
        ns(&mmap["local_check_ns"]["median"]),
        ns(&mmap["round_trip_ns"]["median"]),
    );
    t += &format!(
        "\n{} workers, a look every {} candidates, prime case (no early exit, so every look \
         is overhead). Flag overhead compares the same parallel search with and without \
         looking, timed alternately.\n\n",
        mmap["workers"], mmap["check_every"]
    );
    t += "| The text says | Python, as published (High Performance Python, 2nd ed., ch. 9; prime 1, 4 processes) | Rust, measured here |\n|---|---|---|\n";
    t += &format!(
        "| RawValue is fast: no locks. | 5.46 s with a RawValue flag against 4.09 s with no flag at all: the flag costs 33%. | {} overhead with the raw flag. |\n",
        overhead(&raw)
    );
    t += &format!(
        "| mmap is the fastest, \"almost zero overhead\". | 5.43 s with an mmap flag, also 33% over no flag; 4.15 s (1.5%) once checked less often. | {} overhead with the mmap flag; one look costs {}, the floor {}. |\n",
        overhead(&mmap),
        ns(&mmap["check_ns"]["median"]),
        ns(&mmap["local_check_ns"]["median"])
    );
    t += &format!(
        "| RawValue is unsafe: races are possible. | Python documents RawValue reads and writes as potentially non-atomic. | A one-way flag read through an atomic cannot tear or be undefined behaviour; 04 and 05 differ only in the ordering named, which costs the same on x86-64 ({} against {}). |\n",
        ns(&raw["check_ns"]["median"]),
        ns(&mmap["check_ns"]["median"])
    );
    t += &format!("\n{stamp}\n");
    Ok(t)
}

/// A flag read in several ways (check intervals, poll or push): what a look
/// costs, what the looks add to the search, how fast a raised flag stops
/// everyone. `rows` pairs a label with a flag program's `--json` output.
fn by_interval(rows: &[(String, &Value)]) -> String {
    let mut t = String::from(
        "| the flag | one look | flag overhead, prime case | parallel vs serial | stop latency p50 / p99 |\n|---|--:|--:|--:|--:|\n",
    );
    for (label, v) in rows {
        t += &format!(
            "| {label} | {} | {} | {} | {} / {} |\n",
            ns(&v["check_ns"]["median"]),
            overhead(v),
            versus_serial(
                f(&v["serial_ns"]["median"]) / f(&v["parallel_ns"]["median"])
            ),
            ns(&v["stop_latency_ns"]["median"]),
            ns(&v["stop_latency_ns"]["p99"]),
        );
    }
    t
}

/// "polled every 1000 candidates".
fn every(how: &str, v: &Value) -> String {
    format!("{how} every {} candidates", v["check_every"])
}

/// Chapter 6: the Redis flag polled at several intervals and pushed, beside
/// Redis's own benchmark and the other flags, and the text's claims.
pub fn render_redis_claims() -> anyhow::Result<String> {
    let mut polls = Vec::new();
    for k in ["1000", "10000", "100000", "1000000"] {
        polls.push(measured(&format!("06-poll-k{k}.json"))?);
    }
    let (push, _) = measured("06-push-k1000.json")?;
    let (floor, floor_stamp) = measured(REDIS_FLOOR)?;
    let (manager, _) = measured("03-prime.json")?;
    let (mmap, _) = measured("05-prime.json")?;
    let (poll_1000, poll_default) = (&polls[0].0, &polls[2].0);
    let stamp = &polls[2].1;
    let look = f(&poll_default["check_ns"]["median"]);
    let p50 = f(&floor["p50_ns"]);
    let mut rows: Vec<(String, &Value)> =
        polls.iter().map(|(v, _)| (every("polled", v), v)).collect();
    rows.push((every("pushed, read", &push), &push));
    let mut t = by_interval(&rows);
    t += &format!(
        "\n{} workers, prime case. Redis's own benchmark on the same server, one \
         client, GET: p50 {}, p99 {}, {:.0} requests per second.\n\n",
        poll_default["workers"],
        human_ns(p50),
        ns(&floor["p99_ns"]),
        f(&floor["rps"]),
    );
    t += "| The text says | Rust, measured here |\n|---|---|\n";
    t += &format!(
        "| Redis pays network overhead. | One look costs {}, {} of `redis-benchmark`'s own \
         p50 for a GET on the same server: a look is one loopback round trip. |\n",
        human_ns(look),
        ratio(look / p50),
    );
    t += &format!(
        "| Redis is slower than local memory. | {:.0} times slower than a look at the \
         mmap flag ({}). |\n",
        look / f(&mmap["check_ns"]["median"]),
        ns(&mmap["check_ns"]["median"]),
    );
    t += &format!(
        "| Redis is the slowest of the four. | A look at the manager's flag of chapter 3 \
         costs {}, against Redis's {}: {}. |\n",
        ns(&manager["check_ns"]["median"]),
        human_ns(look),
        if look > f(&manager["check_ns"]["median"]) {
            "Redis is the slower, as claimed"
        } else {
            "on one machine the manager is no faster than Redis: both are a round trip \
             through the kernel to another process"
        },
    );
    t += &format!(
        "| (Ours, not the text's) Let Redis push the flag instead. | A look falls from {} \
         to {}, and the overhead at a look every {} candidates from {} to {}; the stop \
         latency goes from {} to {} (p50), the time a listener thread takes to be heard \
         and scheduled. |\n",
        ns(&poll_1000["check_ns"]["median"]),
        ns(&push["check_ns"]["median"]),
        push["check_every"],
        overhead(poll_1000),
        overhead(&push),
        ns(&poll_1000["stop_latency_ns"]["median"]),
        ns(&push["stop_latency_ns"]["median"]),
    );
    t += &format!("\n{stamp}\n\n{floor_stamp}\n");
    Ok(t)
}

/// Chapter 3: the manager's flag, at two check intervals, and its counter.
pub fn render_manager_claims() -> anyhow::Result<String> {
    let (k_big, stamp) = measured("03-prime.json")?;
    let (k_small, _) = measured("03-prime-k1000.json")?;
    let c = &k_big["counted"];
    let look = f(&k_big["check_ns"]["median"]);
    let trip = f(&k_big["round_trip_ns"]["median"]);
    let mut t = by_interval(&[
        (every("a look", &k_small), &k_small),
        (every("a look", &k_big), &k_big),
    ]);
    t += &format!(
        "\n{} workers, prime case. For scale: an atomic load in a worker's own memory takes {}, \
         and one ipc-channel round trip between the parent and a worker {}.\n\n",
        k_big["workers"],
        ns(&k_big["local_check_ns"]["median"]),
        ns(&k_big["round_trip_ns"]["median"]),
    );
    t += "| The text says | Python, as published | Rust, measured here |\n|---|---|---|\n";
    t += &format!(
        "| A Manager is safe but slow: every access crosses a process boundary. | Prime 1, 4 processes, a look every 1000: 10.06 s with a Manager.Value flag against 4.09 s with no flag (+146%). | A look costs {} ({} of one ipc-channel round trip). Looking every 1000 candidates: {} overhead; every 100,000: {}. |\n",
        human_ns(look),
        ratio(look / trip),
        overhead(&k_small),
        overhead(&k_big),
    );
    t += &format!(
        "| Shared values through a Manager are synchronized. | Python's docs: `+=` on a proxied value is a get then a set, never atomic. | {} workers adding one {} times each by get-then-set: {} of {} updates lost. Through the manager's own add: {} lost. |\n",
        k_big["workers"],
        c["per_worker"],
        c["expected"]
            .as_u64()
            .unwrap_or(0)
            .saturating_sub(c["racy"].as_u64().unwrap_or(0)),
        c["expected"],
        c["expected"]
            .as_u64()
            .unwrap_or(0)
            .saturating_sub(c["atomic"].as_u64().unwrap_or(0)),
    );
    t += &format!("\n{stamp}\n");
    Ok(t)
}

/// Updates lost by `expected` adds that ended at `got`.
fn lost_updates(counted: &Value, how: &str) -> u64 {
    let expected = counted["expected"].as_u64().unwrap_or(0);
    expected.saturating_sub(counted[how].as_u64().unwrap_or(0))
}

/// The summary: every flag on the same search, measured in one run of
/// `cargo xtask measure`, beside the text's own ratings.
pub fn render_tradeoffs() -> anyhow::Result<String> {
    let (manager, stamp) = measured("03-prime.json")?;
    let (raw, _) = measured("04-prime.json")?;
    let (count, _) = measured("04-count.json")?;
    let (mmap, _) = measured("05-prime.json")?;
    let (redis, _) = measured("06-poll-k100000.json")?;
    let (push, _) = measured("06-push-k1000.json")?;
    let look = |v: &Value| f(&v["check_ns"]["median"]);
    let stop = |v: &Value| {
        format!(
            "{} / {}",
            ns(&v["stop_latency_ns"]["median"]),
            ns(&v["stop_latency_ns"]["p99"])
        )
    };
    let (m, raw_counted) = (&manager["counted"], &count["counted"]);
    let mut t = String::from(
        "| the flag | one look | a look every | flag overhead | parallel search | stop latency p50 / p99 | what can go wrong | scope | the text's rating |\n|---|--:|--:|--:|--:|--:|---|---|---|\n",
    );
    t += &format!(
        "| none: never looking | | | | {} | never stops early | nothing: it cannot stop early either | | |\n",
        ns(&mmap["unchecked_ns"]["median"]),
    );
    t += &format!(
        "| floor: an atomic in the worker's own memory | {} | | | | | | one process | |\n",
        ns(&mmap["local_check_ns"]["median"]),
    );
    let rows: [(&str, &Value, String, &str, &str); 5] = [
        (
            "Manager (ch. 3)",
            &manager,
            format!(
                "get-then-set through a proxy lost {} of {} updates",
                lost_updates(m, "racy"),
                m["expected"]
            ),
            "one machine",
            "slow, safe, local",
        ),
        (
            "RawValue (ch. 4)",
            &raw,
            format!(
                "load-then-store lost {} of {} updates; the one-way flag itself cannot go wrong",
                lost_updates(raw_counted, "racy"),
                raw_counted["expected"]
            ),
            "one machine",
            "fast, unsafe, local",
        ),
        (
            "mmap (ch. 5)",
            &mmap,
            "as RawValue: the same atomics on a shared page".into(),
            "one machine",
            "fastest, unsafe, local",
        ),
        (
            "Redis, polled (ch. 6)",
            &redis,
            "the server can die or stall: deadlines turn either into one error line"
                .into(),
            "any machine that reaches the server",
            "slowest, safe, distributed",
        ),
        (
            "Redis, pushed (ch. 6, ours)",
            &push,
            "as polled; stop latency at the scheduler's mercy".into(),
            "any machine that reaches the server",
            "",
        ),
    ];
    for (name, v, wrong, scope, rating) in &rows {
        t += &format!(
            "| {name} | {} | {} | {} | {} | {} | {wrong} | {scope} | {rating} |\n",
            human_ns(look(v)),
            v["check_every"],
            overhead(v),
            ns(&v["parallel_ns"]["median"]),
            stop(v),
        );
    }
    t += &format!(
        "\n{} workers, the prime case ({}), every flag at its chapter's default interval. \
         Times are medians.\n\n",
        mmap["workers"], mmap["n"]
    );
    // Where the measurement and the text part ways, said from the numbers.
    t += "Against the text's ratings:\n\n";
    let (raw_look, mmap_look) = (look(&raw), look(&mmap));
    let same = (raw_look / mmap_look - 1.0).abs() < 0.25;
    t += &if same {
        format!(
            "- *mmap fastest, RawValue fast*: in Rust they are the same: one load from a \
             shared page, {} against {}. Python's difference was the interpreter's.\n",
            human_ns(mmap_look),
            human_ns(raw_look)
        )
    } else {
        format!(
            "- *mmap fastest, RawValue fast*: measured {} against {}.\n",
            human_ns(mmap_look),
            human_ns(raw_look)
        )
    };
    let (redis_look, manager_look) = (look(&redis), look(&manager));
    t += &if redis_look > manager_look {
        format!(
            "- *Redis slowest*: agrees, {} a look against the manager's {}; both are round \
             trips, many orders of magnitude above shared memory.\n",
            human_ns(redis_look),
            human_ns(manager_look)
        )
    } else {
        format!(
            "- *Redis slowest*: not on one machine: a look at Redis took {}, at the \
             manager {}. Both are round trips through the kernel; which is faster changes \
             from run to run.\n",
            human_ns(redis_look),
            human_ns(manager_look)
        )
    };
    t += &format!(
        "- *RawValue and mmap unsafe*: only for read-modify-write. A one-way flag read \
         through an atomic is safe; a counter bumped by load-then-store lost {} of {} \
         updates.\n",
        lost_updates(raw_counted, "racy"),
        raw_counted["expected"]
    );
    t += &format!(
        "- *Manager safe*: each request is atomic, a sequence of requests is not: \
         get-then-set lost {} of {} updates.\n",
        lost_updates(m, "racy"),
        m["expected"]
    );
    t += &format!("\n{stamp}\n");
    Ok(t)
}

/// The closing chapter's rules, each with the measurement behind it.
pub fn render_rules() -> anyhow::Result<String> {
    let (sweep, stamp) = measured("01-sweep.json")?;
    let (pills, _) = measured("02-compare.json")?;
    let (mmap, _) = measured("05-prime.json")?;
    let (k_small, _) = measured("06-poll-k1000.json")?;
    let (k_big, _) = measured("06-poll-k1000000.json")?;
    let (push, _) = measured("06-push-k1000.json")?;
    let (redis, _) = measured("06-poll-k100000.json")?;
    let tiny = &sweep["rows"][0];
    let (pill, kill) = (way(&pills, "pill")?, way(&pills, "kill")?);
    let never = f(&mmap["unchecked_ns"]["median"]);
    let rows = [
        (
            "Send work in batches.",
            format!(
                "One number per message cost {} per task on top of the work; {} per \
                 message, {}. Parallel first paid off at tasks of {} one by one, of {} \
                 batched.",
                ns(&tiny["unbatched"]["overhead_per_task_ns"]),
                tiny["batched"]["batch"],
                ns(&tiny["batched"]["overhead_per_task_ns"]),
                sweep["crossover_unbatched_ns"]
                    .as_f64()
                    .map_or("never".into(), human_ns),
                sweep["crossover_batched_ns"]
                    .as_f64()
                    .map_or("never".into(), human_ns),
            ),
        ),
        (
            "Let independent workers work.",
            format!(
                "{} workers that never looked at anything searched the prime in {}: {}.",
                mmap["workers"],
                human_ns(never),
                versus_serial(f(&mmap["serial_ns"]["median"]) / never)
            ),
        ),
        (
            "Look at shared state rarely, and cheaply.",
            format!(
                "Polling Redis every 1,000 candidates: {} overhead, stops seen in {}; \
                 every 1,000,000: {}, stops seen in {}.",
                overhead(&k_small),
                ns(&k_small["stop_latency_ns"]["median"]),
                overhead(&k_big),
                ns(&k_big["stop_latency_ns"]["median"]),
            ),
        ),
        (
            "On one machine, a hot flag belongs in shared memory.",
            format!(
                "A look at an mmap'd byte: {}; at Redis: {}.",
                ns(&mmap["check_ns"]["median"]),
                ns(&redis["check_ns"]["median"]),
            ),
        ),
        (
            "Across machines, let the news come to you.",
            format!(
                "Pushed by Redis, a look costs {} instead of {}; a stop is seen in {} at \
                 the median, {} at the 99th percentile.",
                ns(&push["check_ns"]["median"]),
                ns(&k_small["check_ns"]["median"]),
                ns(&push["stop_latency_ns"]["median"]),
                ns(&push["stop_latency_ns"]["p99"]),
            ),
        ),
        (
            "End workers with a message, not a signal.",
            format!(
                "Pills lost {} numbers over {} rounds; killing lost {}.",
                pill["lost_numbers"], pills["rounds"], kill["lost_numbers"],
            ),
        ),
    ];
    let mut t = String::from("| rule | measured here |\n|---|---|\n");
    for (rule, evidence) in rows {
        t += &format!("| {rule} | {evidence} |\n");
    }
    t += &format!("\n{stamp}\n");
    Ok(t)
}

/// Rust beside Python: one look at each flag, and a message through a queue,
/// measured by the same `cargo xtask measure` run.
pub fn render_python() -> anyhow::Result<String> {
    let (py, py_stamp) = measured(PYTHON)?;
    let (manager, stamp) = measured("03-prime.json")?;
    let (raw, _) = measured("04-prime.json")?;
    let (mmap, _) = measured("05-prime.json")?;
    let (redis, _) = measured("06-poll-k100000.json")?;
    let (sweep, _) = measured("01-sweep.json")?;
    let looks = &py["looks_ns"];
    let mut t = format!(
        "| | Rust, measured here | {} {}, measured here | Python over Rust |\n|---|--:|--:|--:|\n",
        py["implementation"].as_str().unwrap_or("Python"),
        py["python"].as_str().unwrap_or("?"),
    );
    let mut row = |what: &str, rust: f64, python: &Value| {
        let cell = match python["median"].as_f64() {
            Some(p) => format!("{} | {}", human_ns(p), ratio(p / rust)),
            None => format!(
                "not run: {} | ",
                python["not_run"].as_str().unwrap_or("no figure")
            ),
        };
        t += &format!("| {what} | {} | {cell} |\n", human_ns(rust));
    };
    row(
        "one look: a local variable (Python) / an atomic in own memory (Rust)",
        f(&mmap["local_check_ns"]["median"]),
        &looks["floor"],
    );
    row(
        "one look: RawValue",
        f(&raw["check_ns"]["median"]),
        &looks["rawvalue"],
    );
    row(
        "one look: mmap",
        f(&mmap["check_ns"]["median"]),
        &looks["mmap"],
    );
    row(
        "one look: Manager.Value (a round trip)",
        f(&manager["check_ns"]["median"]),
        &looks["manager"],
    );
    let redis_py = looks["redis"]["summary"].clone();
    let redis_py = if redis_py.is_null() {
        looks["redis"].clone()
    } else {
        redis_py
    };
    row(
        "one look: Redis GET (a round trip)",
        f(&redis["check_ns"]["median"]),
        &redis_py,
    );
    let q = &py["queue"];
    let rust_row = sweep["rows"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["from"] == q["from"]).cloned())
        .context("the sweep has no row for the Python queue's numbers")?;
    for leg in ["unbatched", "batched"] {
        row(
            &format!(
                "a queue, {} per message: overhead per task",
                q[leg]["batch"]
            ),
            f(&rust_row[leg]["overhead_per_task_ns"]),
            &serde_json::json!({ "median": q[leg]["overhead_per_task_ns"] }),
        );
    }
    t += &format!(
        "\nThe queue rows check {} numbers from {} with {} workers in both languages. \
         A Python look is timed as the text writes it (`flag.value == FLAG_SET`, \
         `seek` and `read` on the mmap), in a worker started with *spawn*.\n\n{stamp}\n\n{py_stamp}\n",
        q["tasks"], q["from"], q["workers"],
    );
    Ok(t)
}
