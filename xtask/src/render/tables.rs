//! The book's tables: each claim of the text beside the figure measured here,
//! as markdown, from the typed measured data.
//!
//! Every table ends with the stamp of the data it was made from, so a reader
//! can tell which machine and revision a number comes from.

use crate::data::{Data, Measured, PyRedisLook};
use anyhow::Context;
use poison_pill::{CompareReport, Compared, Shutdown};
use work_queue::{Row, SweepReport};
use workers::flag::{self, Counted};
use workers::report::{human_ns, ratio};

/// The line under a table that says where its figures come from.
fn stamp<T>(m: &Measured<T>) -> String {
    let s = &m.stamp;
    format!(
        "_Measured {} on {}, {} cores, Linux {}, {}, revision {}, by `{}`._",
        s.date, s.cpu, s.cores, s.kernel, s.rustc, s.revision, m.command,
    )
}

/// "2.3x faster" or "410x slower": a ratio a reader need not invert.
fn versus_serial(speedup: f64) -> String {
    if speedup >= 1.0 {
        format!("{speedup:.2}x faster than serial")
    } else {
        format!("{:.1}x slower than serial", 1.0 / speedup)
    }
}

/// A flag's whole cost on the prime case, signed: "+3.1%".
fn overhead(m: &Measured<flag::Report>) -> anyhow::Result<String> {
    Ok(format!("{:+.1}%", m.overhead_pct()?))
}

/// The sweep's first row: the cheapest tasks.
fn tiny(sweep: &Measured<SweepReport>) -> anyhow::Result<&Row> {
    (sweep.output.rows.first())
        .with_context(|| format!("{} has no rows", sweep.file))
}

/// A crossover of the sweep as a task cost, or "never".
fn crossover(ns: Option<f64>) -> String {
    ns.map_or("never".into(), human_ns)
}

/// The queue-cost sweep of chapter 1 as a markdown table.
pub fn sweep(d: &Data) -> anyhow::Result<String> {
    let sweep = &d.sweep.output;
    let batch = tiny(&d.sweep)?.batched.batch;
    let mut t = format!(
        "| numbers from | task cost | 1 per message | overhead per task | {batch} per message | overhead per task |\n\
         |---|--:|--:|--:|--:|--:|\n"
    );
    for r in &sweep.rows {
        t += &format!(
            "| 10^{} | {} | {} | {} | {} | {} |\n",
            r.from.ilog10(),
            human_ns(r.task_ns),
            ratio(r.unbatched.speedup),
            human_ns(r.unbatched.overhead_per_task_ns),
            ratio(r.batched.speedup),
            human_ns(r.batched.overhead_per_task_ns),
        );
    }
    let cross = |ns: Option<f64>| match ns {
        Some(x) => format!("at tasks of {}", human_ns(x)),
        None => "nowhere in this sweep".to_string(),
    };
    t += &format!(
        "\nSpeedup is serial time over parallel time ({} workers); above 1x the queue \
         paid off. Parallel first beats serial {} with one number per message, and {} \
         with {batch} per message.\n\n{}\n",
        sweep.workers,
        cross(sweep.crossover_unbatched_ns),
        cross(sweep.crossover_batched_ns),
        stamp(&d.sweep),
    );
    Ok(t)
}

/// Chapter 1's claims, each beside the published Python figure and ours.
pub fn work_queue_claims(d: &Data) -> anyhow::Result<String> {
    let sweep = &d.sweep.output;
    let (one, many) = (&d.heavy_1.output, &d.heavy_64.output);
    let (tiny, mid) = (tiny(&d.sweep)?, &sweep.rows[sweep.rows.len() / 2]);
    let workers = sweep.workers;
    let lines = [
        (
            "Queues are not free: every task is serialized, copied and passed through a lock.",
            "—".to_string(),
            format!(
                "One number per message costs {} of wall time per task on top of the work \
                 itself, with tasks of {}.",
                human_ns(tiny.unbatched.overhead_per_task_ns),
                human_ns(tiny.task_ns)
            ),
        ),
        (
            "If tasks are tiny, queue overhead dominates and parallel is slower than serial.",
            "Primes in 10^8..10^8+10^6: 24 s with no queue, 97 to 111 s through Queues \
             with 1 to 8 processes (4.0x to 4.6x slower)."
                .to_string(),
            format!(
                "Numbers near 10^{} (tasks of {}), {workers} workers, one per message: {}.",
                mid.from.ilog10(),
                human_ns(mid.task_ns),
                versus_serial(mid.unbatched.speedup)
            ),
        ),
        (
            "Queue overhead must be small relative to task cost.",
            "—".to_string(),
            format!(
                "Parallel first beats serial at tasks of {} one per message, and of {} \
                 with {} per message.",
                crossover(sweep.crossover_unbatched_ns),
                crossover(sweep.crossover_batched_ns),
                tiny.batched.batch
            ),
        ),
        (
            "(Our remedy, not the text's) Send tasks in batches.",
            "—".to_string(),
            format!(
                "Overhead per task falls from {} to {} at 64 per message; heavy numbers \
                 near 10^12 with {} workers: {} one per message, {} at 64 per message.",
                human_ns(tiny.unbatched.overhead_per_task_ns),
                human_ns(tiny.batched.overhead_per_task_ns),
                one.workers,
                versus_serial(one.speedup),
                versus_serial(many.speedup)
            ),
        ),
    ];
    let mut t = String::from(
        "| The text says | Python, as published (High Performance Python, 2nd ed., ch. 9) | Rust, measured here |\n|---|---|---|\n",
    );
    for (claim, python, rust) in lines {
        t += &format!("| {claim} | {python} | {rust} |\n");
    }
    t += &format!("\n{}\n", stamp(&d.sweep));
    Ok(t)
}

/// A way of ending the workers as `--shutdown` and the JSON spell it.
fn way_name(how: Shutdown) -> &'static str {
    match how {
        Shutdown::Pill => "pill",
        Shutdown::Close => "close",
        Shutdown::Kill => "kill",
    }
}

/// One way of ending the workers from chapter 2's `--compare` output.
fn way(
    compare: &Measured<CompareReport>,
    how: Shutdown,
) -> anyhow::Result<&Compared> {
    (compare.output.ways.iter().find(|w| w.how == how))
        .with_context(|| format!("{} has no `{}`", compare.file, way_name(how)))
}

/// Chapter 2: the three ways to end the workers, and the text's claims.
pub fn pill_claims(d: &Data) -> anyhow::Result<String> {
    let v = &d.compare.output;
    let mut t = String::from(
        "| shutdown | queue dry to all reaped | last result to all reaped | numbers held | numbers lost | primes lost |\n|---|--:|--:|--:|--:|--:|\n",
    );
    for w in &v.ways {
        t += &format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            way_name(w.how),
            human_ns(w.shutdown_ns.median),
            human_ns(w.after_last_result_ns.median),
            w.held.median,
            w.lost_numbers,
            w.lost_primes,
        );
    }
    let (pill, kill) = (
        way(&d.compare, Shutdown::Pill)?,
        way(&d.compare, Shutdown::Kill)?,
    );
    t += &format!(
        "\n{} workers, numbers {}..{} in batches of {}, {} rounds each; times are \
         medians, held is per round, lost is summed over all rounds.\n\n",
        v.workers, v.from, v.to, v.batch, v.rounds
    );
    t += "| The text says | Rust, measured here |\n|---|---|\n";
    t += &format!(
        "| A sentinel lets workers exit cleanly. | With one pill per worker, every worker \
         was reaped {} after the queue ran dry ({} after the last result), and {} numbers \
         were lost over {} rounds. |\n",
        human_ns(pill.shutdown_ns.median),
        human_ns(pill.after_last_result_ns.median),
        pill.lost_numbers,
        v.rounds,
    );
    t += &format!(
        "| It is production-grade shutdown logic. | The alternative that needs no protocol, \
         killing, ends in {} but lost {} numbers ({} primes) over the same rounds: the work \
         the workers held. |\n",
        human_ns(kill.shutdown_ns.median),
        kill.lost_numbers,
        kill.lost_primes,
    );
    t += &format!("\n{}\n", stamp(&d.compare));
    Ok(t)
}

/// Chapters 4 and 5: the raw and the mmap flag beside the floor, and the
/// text's claims beside the published Python figures and ours.
pub fn local_flag_claims(d: &Data) -> anyhow::Result<String> {
    let (raw, mmap) = (&d.raw, &d.mmap);
    let speedup =
        |v: &flag::Report| ratio(v.serial_ns.median / v.parallel_ns.median);
    let mut t = String::from(
        "| | one look at the flag | stop latency p50 / p99 | flag overhead, prime case | parallel vs serial, prime case |\n|---|--:|--:|--:|--:|\n",
    );
    for (name, m) in [
        ("04: atomic byte in shared memory (`Relaxed`)", raw),
        ("05: byte of an mmap'd file (`Acquire`)", mmap),
    ] {
        let v = &m.output;
        t += &format!(
            "| {name} | {} | {} / {} | {} | {} |\n",
            human_ns(v.check_ns.median),
            human_ns(v.stop_latency_ns.median),
            human_ns(v.stop_latency_ns.p99),
            overhead(m)?,
            speedup(v),
        );
    }
    t += &format!(
        "| floor: atomic load in the worker's own memory | {} | | | |\n| scale: one ipc-channel round trip | {} | | | |\n",
        human_ns(mmap.output.local_check_ns.median),
        human_ns(mmap.output.round_trip_ns.median),
    );
    t += &format!(
        "\n{} workers, a look every {} candidates, prime case (no early exit, so every look \
         is overhead). Flag overhead compares the same parallel search with and without \
         looking, timed alternately.\n\n",
        mmap.output.workers, mmap.output.check_every
    );
    t += "| The text says | Python, as published (High Performance Python, 2nd ed., ch. 9; prime 1, 4 processes) | Rust, measured here |\n|---|---|---|\n";
    t += &format!(
        "| RawValue is fast: no locks. | 5.46 s with a RawValue flag against 4.09 s with no flag at all: the flag costs 33%. | {} overhead with the raw flag. |\n",
        overhead(raw)?
    );
    t += &format!(
        "| mmap is the fastest, \"almost zero overhead\". | 5.43 s with an mmap flag, also 33% over no flag; 4.15 s (1.5%) once checked less often. | {} overhead with the mmap flag; one look costs {}, the floor {}. |\n",
        overhead(mmap)?,
        human_ns(mmap.output.check_ns.median),
        human_ns(mmap.output.local_check_ns.median)
    );
    t += &format!(
        "| RawValue is unsafe: races are possible. | Python documents RawValue reads and writes as potentially non-atomic. | A one-way flag read through an atomic cannot tear or be undefined behaviour; 04 and 05 differ only in the ordering named, which costs the same on x86-64 ({} against {}). |\n",
        human_ns(raw.output.check_ns.median),
        human_ns(mmap.output.check_ns.median)
    );
    t += &format!("\n{}\n", stamp(raw));
    Ok(t)
}

/// A flag read in several ways (check intervals, poll or push): what a look
/// costs, what the looks add to the search, how fast a raised flag stops
/// everyone. `rows` pairs a label with a flag program's `--json` output.
fn by_interval(
    rows: &[(String, &Measured<flag::Report>)],
) -> anyhow::Result<String> {
    let mut t = String::from(
        "| the flag | one look | flag overhead, prime case | parallel vs serial | stop latency p50 / p99 |\n|---|--:|--:|--:|--:|\n",
    );
    for (label, m) in rows {
        let v = &m.output;
        t += &format!(
            "| {label} | {} | {} | {} | {} / {} |\n",
            human_ns(v.check_ns.median),
            overhead(m)?,
            versus_serial(v.serial_ns.median / v.parallel_ns.median),
            human_ns(v.stop_latency_ns.median),
            human_ns(v.stop_latency_ns.p99),
        );
    }
    Ok(t)
}

/// "polled every 1000 candidates".
fn every(how: &str, m: &Measured<flag::Report>) -> String {
    format!("{how} every {} candidates", m.output.check_every)
}

/// Chapter 6: the Redis flag polled at several intervals and pushed, beside
/// Redis's own benchmark and the other flags, and the text's claims.
pub fn redis_claims(d: &Data) -> anyhow::Result<String> {
    let (push, floor) = (&d.push, &d.redis_floor.output);
    let (manager, mmap) = (&d.manager.output, &d.mmap.output);
    let (poll_1000, poll_default) = (&d.polls[0], d.redis());
    let look = poll_default.output.check_ns.median;
    let p50 = floor.p50_ns;
    let mut rows: Vec<(String, &Measured<flag::Report>)> =
        d.polls.iter().map(|m| (every("polled", m), m)).collect();
    rows.push((every("pushed, read", push), push));
    let mut t = by_interval(&rows)?;
    t += &format!(
        "\n{} workers, prime case. Redis's own benchmark on the same server, one \
         client, GET: p50 {}, p99 {}, {:.0} requests per second.\n\n",
        poll_default.output.workers,
        human_ns(p50),
        human_ns(floor.p99_ns),
        floor.rps,
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
        look / mmap.check_ns.median,
        human_ns(mmap.check_ns.median),
    );
    t += &format!(
        "| Redis is the slowest of the four. | A look at the manager's flag of chapter 3 \
         costs {}, against Redis's {}: {}. |\n",
        human_ns(manager.check_ns.median),
        human_ns(look),
        if look > manager.check_ns.median {
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
        human_ns(poll_1000.output.check_ns.median),
        human_ns(push.output.check_ns.median),
        push.output.check_every,
        overhead(poll_1000)?,
        overhead(push)?,
        human_ns(poll_1000.output.stop_latency_ns.median),
        human_ns(push.output.stop_latency_ns.median),
    );
    t += &format!("\n{}\n\n{}\n", stamp(poll_default), stamp(&d.redis_floor));
    Ok(t)
}

/// Chapter 3: the manager's flag, at two check intervals, and its counter.
pub fn manager_claims(d: &Data) -> anyhow::Result<String> {
    let (k_big, k_small) = (&d.manager, &d.manager_k1000);
    let c = k_big.counted()?;
    let look = k_big.output.check_ns.median;
    let trip = k_big.output.round_trip_ns.median;
    let mut t = by_interval(&[
        (every("a look", k_small), k_small),
        (every("a look", k_big), k_big),
    ])?;
    t += &format!(
        "\n{} workers, prime case. For scale: an atomic load in a worker's own memory takes {}, \
         and one ipc-channel round trip between the parent and a worker {}.\n\n",
        k_big.output.workers,
        human_ns(k_big.output.local_check_ns.median),
        human_ns(trip),
    );
    t += "| The text says | Python, as published | Rust, measured here |\n|---|---|---|\n";
    t += &format!(
        "| A Manager is safe but slow: every access crosses a process boundary. | Prime 1, 4 processes, a look every 1000: 10.06 s with a Manager.Value flag against 4.09 s with no flag (+146%). | A look costs {} ({} of one ipc-channel round trip). Looking every 1000 candidates: {} overhead; every 100,000: {}. |\n",
        human_ns(look),
        ratio(look / trip),
        overhead(k_small)?,
        overhead(k_big)?,
    );
    t += &format!(
        "| Shared values through a Manager are synchronized. | Python's docs: `+=` on a proxied value is a get then a set, never atomic. | {} workers adding one {} times each by get-then-set: {} of {} updates lost. Through the manager's own add: {} lost. |\n",
        k_big.output.workers,
        c.per_worker,
        lost_updates(c.racy, c),
        c.expected,
        lost_updates(c.atomic, c),
    );
    t += &format!("\n{}\n", stamp(k_big));
    Ok(t)
}

/// Updates lost by a counter that should have reached `c.expected` and
/// ended at `got`.
fn lost_updates(got: u64, c: &Counted) -> u64 {
    c.expected.saturating_sub(got)
}

/// The summary: every flag on the same search, measured in one run of
/// `cargo xtask measure`, beside the text's own ratings.
pub fn tradeoffs(d: &Data) -> anyhow::Result<String> {
    let (manager, raw, mmap, redis, push) =
        (&d.manager, &d.raw, &d.mmap, d.redis(), &d.push);
    let look = |m: &Measured<flag::Report>| m.output.check_ns.median;
    let stop = |m: &Measured<flag::Report>| {
        let l = &m.output.stop_latency_ns;
        format!("{} / {}", human_ns(l.median), human_ns(l.p99))
    };
    let (m, raw_counted) = (manager.counted()?, d.raw_count.counted()?);
    let mut t = String::from(
        "| the flag | one look | a look every | flag overhead | parallel search | stop latency p50 / p99 | what can go wrong | scope | the text's rating |\n|---|--:|--:|--:|--:|--:|---|---|---|\n",
    );
    t += &format!(
        "| none: never looking | | | | {} | never stops early | nothing: it cannot stop early either | | |\n",
        human_ns(mmap.unchecked_ns()?.median),
    );
    t += &format!(
        "| floor: an atomic in the worker's own memory | {} | | | | | | one process | |\n",
        human_ns(mmap.output.local_check_ns.median),
    );
    let rows: [(&str, &Measured<flag::Report>, String, &str, &str); 5] = [
        (
            "Manager (ch. 3)",
            manager,
            format!(
                "get-then-set through a proxy lost {} of {} updates",
                lost_updates(m.racy, m),
                m.expected
            ),
            "one machine",
            "slow, safe, local",
        ),
        (
            "RawValue (ch. 4)",
            raw,
            format!(
                "load-then-store lost {} of {} updates; the one-way flag itself cannot go wrong",
                lost_updates(raw_counted.racy, raw_counted),
                raw_counted.expected
            ),
            "one machine",
            "fast, unsafe, local",
        ),
        (
            "mmap (ch. 5)",
            mmap,
            "as RawValue: the same atomics on a shared page".into(),
            "one machine",
            "fastest, unsafe, local",
        ),
        (
            "Redis, polled (ch. 6)",
            redis,
            "the server can die or stall: deadlines turn either into one error line"
                .into(),
            "any machine that reaches the server",
            "slowest, safe, distributed",
        ),
        (
            "Redis, pushed (ch. 6, ours)",
            push,
            "as polled; stop latency at the scheduler's mercy".into(),
            "any machine that reaches the server",
            "",
        ),
    ];
    for (name, v, wrong, scope, rating) in &rows {
        t += &format!(
            "| {name} | {} | {} | {} | {} | {} | {wrong} | {scope} | {rating} |\n",
            human_ns(look(v)),
            v.output.check_every,
            overhead(v)?,
            human_ns(v.output.parallel_ns.median),
            stop(v),
        );
    }
    t += &format!(
        "\n{} workers, the prime case ({}), every flag at its chapter's default interval. \
         Times are medians.\n\n",
        mmap.output.workers, mmap.output.n
    );
    // Where the measurement and the text part ways, said from the numbers.
    t += "Against the text's ratings:\n\n";
    let (raw_look, mmap_look) = (look(raw), look(mmap));
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
    let (redis_look, manager_look) = (look(redis), look(manager));
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
        lost_updates(raw_counted.racy, raw_counted),
        raw_counted.expected
    );
    t += &format!(
        "- *Manager safe*: each request is atomic, a sequence of requests is not: \
         get-then-set lost {} of {} updates.\n",
        lost_updates(m.racy, m),
        m.expected
    );
    t += &format!("\n{}\n", stamp(manager));
    Ok(t)
}

/// The closing chapter's rules, each with the measurement behind it.
pub fn rules(d: &Data) -> anyhow::Result<String> {
    let sweep = &d.sweep.output;
    let (mmap, redis, push) = (&d.mmap, d.redis(), &d.push);
    let (k_small, k_big) = (&d.polls[0], &d.polls[3]);
    let tiny = tiny(&d.sweep)?;
    let (pill, kill) = (
        way(&d.compare, Shutdown::Pill)?,
        way(&d.compare, Shutdown::Kill)?,
    );
    let never = mmap.unchecked_ns()?.median;
    let rows = [
        (
            "Send work in batches.",
            format!(
                "One number per message cost {} per task on top of the work; {} per \
                 message, {}. Parallel first paid off at tasks of {} one by one, of {} \
                 batched.",
                human_ns(tiny.unbatched.overhead_per_task_ns),
                tiny.batched.batch,
                human_ns(tiny.batched.overhead_per_task_ns),
                crossover(sweep.crossover_unbatched_ns),
                crossover(sweep.crossover_batched_ns),
            ),
        ),
        (
            "Let independent workers work.",
            format!(
                "{} workers that never looked at anything searched the prime in {}: {}.",
                mmap.output.workers,
                human_ns(never),
                versus_serial(mmap.output.serial_ns.median / never)
            ),
        ),
        (
            "Look at shared state rarely, and cheaply.",
            format!(
                "Polling Redis every 1,000 candidates: {} overhead, stops seen in {}; \
                 every 1,000,000: {}, stops seen in {}.",
                overhead(k_small)?,
                human_ns(k_small.output.stop_latency_ns.median),
                overhead(k_big)?,
                human_ns(k_big.output.stop_latency_ns.median),
            ),
        ),
        (
            "On one machine, a hot flag belongs in shared memory.",
            format!(
                "A look at an mmap'd byte: {}; at Redis: {}.",
                human_ns(mmap.output.check_ns.median),
                human_ns(redis.output.check_ns.median),
            ),
        ),
        (
            "Across machines, let the news come to you.",
            format!(
                "Pushed by Redis, a look costs {} instead of {}; a stop is seen in {} at \
                 the median, {} at the 99th percentile.",
                human_ns(push.output.check_ns.median),
                human_ns(k_small.output.check_ns.median),
                human_ns(push.output.stop_latency_ns.median),
                human_ns(push.output.stop_latency_ns.p99),
            ),
        ),
        (
            "End workers with a message, not a signal.",
            format!(
                "Pills lost {} numbers over {} rounds; killing lost {}.",
                pill.lost_numbers, d.compare.output.rounds, kill.lost_numbers,
            ),
        ),
    ];
    let mut t = String::from("| rule | measured here |\n|---|---|\n");
    for (rule, evidence) in rows {
        t += &format!("| {rule} | {evidence} |\n");
    }
    t += &format!("\n{}\n", stamp(&d.sweep));
    Ok(t)
}

/// Rust beside Python: one look at each flag, and a message through a queue,
/// measured by the same `cargo xtask measure` run.
pub fn python(d: &Data) -> anyhow::Result<String> {
    let py = &d.python.output;
    let (manager, raw, mmap, redis) = (&d.manager, &d.raw, &d.mmap, d.redis());
    let looks = &py.looks_ns;
    let mut t = format!(
        "| | Rust, measured here | {} {}, measured here | Python over Rust |\n|---|--:|--:|--:|\n",
        py.implementation, py.python,
    );
    // Python's figure, or why there is none.
    let mut row = |what: &str, rust: f64, python: Result<f64, &str>| {
        let cell = match python {
            Ok(p) => format!("{} | {}", human_ns(p), ratio(p / rust)),
            Err(why) => format!("not run: {why} | "),
        };
        t += &format!("| {what} | {} | {cell} |\n", human_ns(rust));
    };
    row(
        "one look: a local variable (Python) / an atomic in own memory (Rust)",
        mmap.output.local_check_ns.median,
        Ok(looks.floor.median),
    );
    row(
        "one look: RawValue",
        raw.output.check_ns.median,
        Ok(looks.rawvalue.median),
    );
    row(
        "one look: mmap",
        mmap.output.check_ns.median,
        Ok(looks.mmap.median),
    );
    row(
        "one look: Manager.Value (a round trip)",
        manager.output.check_ns.median,
        Ok(looks.manager.median),
    );
    row(
        "one look: Redis GET (a round trip)",
        redis.output.check_ns.median,
        match &looks.redis {
            PyRedisLook::Ran { summary } => Ok(summary.median),
            PyRedisLook::NotRun { not_run } => Err(not_run.as_str()),
        },
    );
    let q = &py.queue;
    let rust_row = (d.sweep.output.rows.iter())
        .find(|r| r.from == q.from)
        .context("the sweep has no row for the Python queue's numbers")?;
    for (rust, python) in [
        (&rust_row.unbatched, &q.unbatched),
        (&rust_row.batched, &q.batched),
    ] {
        row(
            &format!("a queue, {} per message: overhead per task", python.batch),
            rust.overhead_per_task_ns,
            Ok(python.overhead_per_task_ns),
        );
    }
    t += &format!(
        "\nThe queue rows check {} numbers from {} with {} workers in both languages. \
         A Python look is timed as the text writes it (`flag.value == FLAG_SET`, \
         `seek` and `read` on the mmap), in a worker started with *spawn*.\n\n{}\n\n{}\n",
        q.tasks,
        q.from,
        q.workers,
        stamp(manager),
        stamp(&d.python),
    );
    Ok(t)
}
