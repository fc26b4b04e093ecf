//! The book's tables: each claim of the text beside the figure measured here,
//! as markdown, from the typed measured data.
//!
//! Every table ends with the stamp of the data it was made from, so a reader
//! can tell which machine and revision a number comes from.

use crate::data::hpp::{Hpp, seconds, slower_pct};
use crate::data::{Data, Measured, PyRedisLook, QueueRuns, Stamp, Summary};
use crate::render::verdict;
use anyhow::{Context, ensure};
use poison_pill::{CompareReport, Compared, Shutdown};
use work_queue::{Design, Report, Row, SweepReport};
use workers::flag::{self, Counted};
use workers::report::{human_ns, ratio};
use workers::stats;

/// The line under a table that says where its figures come from.
fn stamp<T>(m: &Measured<T>) -> String {
    stamp_line(&m.stamp, &format!("`{}`", m.command))
}

/// "_Measured (where and when), by (what)._"
pub(super) fn stamp_line(s: &Stamp, by: &str) -> String {
    format!(
        "_Measured {} on {}, {} cores, Linux {}, {}, revision {}, by {by}._",
        s.date, s.cpu, s.cores, s.kernel, s.rustc, s.revision,
    )
}

/// One of chapter 1's documents, for [`queue_stamps`]: its stamp and its
/// command written with `D` for the design and `B` for the numbers per
/// message, and which design and number it had.
struct Ch1Doc<'a> {
    stamp: &'a Stamp,
    template: String,
    design: Design,
    batch: Option<u32>,
}

impl<'a> Ch1Doc<'a> {
    fn run(m: &'a Measured<Report>) -> Ch1Doc<'a> {
        let r = &m.output;
        let queue = format!("--queue {} ", r.queue.name());
        let batch = format!("--batch {} ", r.batch);
        Ch1Doc {
            stamp: &m.stamp,
            template: (m.command.replacen(&queue, "--queue D ", 1)).replacen(
                &batch,
                "--batch B ",
                1,
            ),
            design: r.queue,
            batch: Some(r.batch),
        }
    }

    fn sweep(m: &'a Measured<SweepReport>) -> Ch1Doc<'a> {
        let queue = format!("--queue {} ", m.output.queue.name());
        Ch1Doc {
            stamp: &m.stamp,
            template: m.command.replacen(&queue, "--queue D ", 1),
            design: m.output.queue,
            batch: None,
        }
    }
}

/// The lines under a table made from several of chapter 1's documents: one
/// per stamp, naming each command once, with `D` and `B` standing for the
/// designs and numbers per message it was run with.
fn queue_stamps(docs: &[Ch1Doc]) -> String {
    /// The index of the first item of `items` that `is`, pushed if none.
    fn find_or_push<T>(
        items: &mut Vec<T>,
        is: impl Fn(&T) -> bool,
        new: T,
    ) -> usize {
        items.iter().position(is).unwrap_or_else(|| {
            items.push(new);
            items.len() - 1
        })
    }
    // Each command of each stamp with the numbers per message each design
    // ran it with, in the order first seen...
    let mut runs: Vec<(&Stamp, &str, Design, Vec<u32>)> = Vec::new();
    for doc in docs {
        let at = find_or_push(
            &mut runs,
            |r| (r.0, r.1, r.2) == (doc.stamp, doc.template.as_str(), doc.design),
            (doc.stamp, &doc.template, doc.design, Vec::new()),
        );
        let batches = &mut runs[at].3;
        if let Some(b) = doc.batch.filter(|b| !batches.contains(b)) {
            batches.push(b);
        }
    }
    // ...then the designs that ran a command with the same numbers per
    // message joined, so that each (designs, batches) is what was run.
    type Commands = Vec<(String, Vec<Design>, Vec<u32>)>;
    let mut by_stamp: Vec<(&Stamp, Commands)> = Vec::new();
    for (stamp, template, design, batches) in runs {
        let at = find_or_push(&mut by_stamp, |s| s.0 == stamp, (stamp, Vec::new()));
        let commands = &mut by_stamp[at].1;
        let at = find_or_push(
            commands,
            |c| c.0 == template && c.2 == batches,
            (template.to_string(), Vec::new(), batches.clone()),
        );
        commands[at].1.push(design);
    }
    let lines: Vec<String> = by_stamp
        .into_iter()
        .map(|(stamp, commands)| {
            // Each command, concrete where it was run one way only, with what
            // its `D` and `B` stand for.
            let said: Vec<(String, Option<String>)> = (commands.into_iter())
                .map(|(template, designs, batches)| {
                    concrete(template, &designs, &batches)
                })
                .collect();
            let with = &said[0].1;
            let by = if said.iter().all(|(_, w)| w == with) {
                // One clause for all: "`A` and `B`, each for D = ...".
                let names: Vec<String> =
                    said.iter().map(|(t, _)| format!("`{t}`")).collect();
                let each = if said.len() > 1 { "each " } else { "" };
                match with {
                    Some(w) => format!("{}, {each}for {w}", names.join(" and ")),
                    None => names.join(" and "),
                }
            } else {
                let names: Vec<String> = (said.iter())
                    .map(|(t, w)| match w {
                        Some(w) => format!("`{t}` for {w}"),
                        None => format!("`{t}`"),
                    })
                    .collect();
                names.join("; and ")
            };
            stamp_line(stamp, &by)
        })
        .collect();
    lines.join("\n\n")
}

/// A command template with `D` (and `B`) written out where it stands for one
/// design (one number per message) only, and what the others stand for:
/// "D = broker, pipe, shm and B = 1, 64".
fn concrete(
    mut template: String,
    designs: &[Design],
    batches: &[u32],
) -> (String, Option<String>) {
    let mut with = Vec::new();
    match designs {
        [one] => {
            template = template.replacen(
                "--queue D ",
                &format!("--queue {} ", one.name()),
                1,
            )
        }
        many => {
            let names: Vec<&str> = many.iter().map(|d| d.name()).collect();
            with.push(format!("D = {}", names.join(", ")));
        }
    }
    match batches {
        [] => {}
        [one] => {
            template = template.replacen("--batch B ", &format!("--batch {one} "), 1)
        }
        many => {
            let numbers: Vec<String> = many.iter().map(u32::to_string).collect();
            with.push(format!("B = {}", numbers.join(", ")));
        }
    }
    (template, (!with.is_empty()).then(|| with.join(" and ")))
}

/// Which of chapter 1's documents a table read.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Ch1 {
    Sweeps,
    Tiny,
    Heavy,
}

/// The stamps of chapter 1's documents of the kinds `read`, every design's.
fn ch1_stamps(d: &Data, read: &[Ch1]) -> String {
    let mut docs = Vec::new();
    for kind in read {
        for q in &d.queues {
            match kind {
                Ch1::Sweeps => docs.push(Ch1Doc::sweep(&q.sweep)),
                Ch1::Tiny => docs.extend([&q.tiny_1, &q.tiny_64].map(Ch1Doc::run)),
                Ch1::Heavy => {
                    docs.extend([&q.heavy_1, &q.heavy_64].map(Ch1Doc::run))
                }
            }
        }
    }
    queue_stamps(&docs)
}

/// A flag run's parallel search against its serial one, with the verdict
/// of [`verdict::speedup`].
fn flag_speedup(v: &flag::Report) -> String {
    verdict::speedup(&v.serial_ns, &v.parallel_ns)
}

/// One of chapter 1's runs against serial, with the verdict.
fn run_speedup(m: &Measured<Report>) -> String {
    let r = &m.output;
    verdict::speedup(&r.serial_ns, &r.parallel_ns)
}

/// A flag's whole cost on the prime case, signed, with the verdict of
/// [`verdict::overhead`]: "+30.8%", "+0.4% (within noise)".
pub(super) fn overhead(m: &Measured<flag::Report>) -> anyhow::Result<String> {
    Ok(verdict::overhead(&m.output.parallel_ns, m.unchecked_ns()?))
}

/// A crossover of the sweep as a task cost, or "never".
fn crossover(ns: Option<f64>) -> String {
    ns.map_or("never".into(), human_ns)
}

/// How the tables and charts name each of chapter 1's designs.
pub fn design_name(design: Design) -> &'static str {
    match design {
        Design::Broker => "broker (ipc-channel)",
        Design::Pipe => "pipe (kernel)",
        Design::Shm => "shm ring",
    }
}

/// What Python's side is called beside the designs.
pub const PYTHON_QUEUE: &str = "Python multiprocessing.Queue";

/// "broker 16.7 µs, pipe 9.1 µs, shm 2.0 µs": one figure per design.
fn per_design(d: &Data, figure: impl Fn(&QueueRuns) -> String) -> String {
    let each: Vec<String> = (d.queues.iter())
        .map(|q| format!("{} {}", q.design.name(), figure(q)))
        .collect();
    each.join(", ")
}

/// A median with its spread: "6.66 µs (5.90 µs – 7.22 µs)".
pub(super) fn with_spread(s: &Summary, show: fn(f64) -> String) -> String {
    format!("{} ({} – {})", show(s.median), show(s.min), show(s.max))
}

/// A number checked, as the text writes it: 10^12 for a power of ten, else
/// as a [`count`].
fn number(n: u64) -> String {
    let k = n.checked_ilog10().unwrap_or(0);
    if n >= 100 && 10u64.pow(k) == n {
        return format!("10^{k}");
    }
    count(n)
}

/// How many, with thousands separated: 20,000.
pub(super) fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The one value every design's runs share (a range, a worker count), or
/// an error naming the files that disagree.
fn shared<T: PartialEq + std::fmt::Debug>(
    d: &Data,
    what: &str,
    pick: impl Fn(&QueueRuns) -> (T, &str),
) -> anyhow::Result<T> {
    let mut seen: Vec<(T, &str)> = d.queues.iter().map(pick).collect();
    let (first, file) = seen.remove(0);
    for (other, other_file) in seen {
        ensure!(
            other == first,
            "{file} and {other_file} differ in {what} ({first:?} against {other:?}): \
             rerun `cargo xtask measure`"
        );
    }
    Ok(first)
}

/// The side by side chapter 1 is built on: Python's `multiprocessing.Queue`
/// and the three designs, on the same numbers, each figure with its spread.
pub fn queues(d: &Data) -> anyhow::Result<String> {
    let py = &d.python.output.queue;
    let tiny = shared(d, "the tiny numbers", |q| {
        let r = &q.tiny_1.output;
        ((r.from, r.to), q.tiny_1.file.as_str())
    })?;
    let heavy = shared(d, "the heavy numbers", |q| {
        let r = &q.heavy_1.output;
        ((r.from, r.to), q.heavy_1.file.as_str())
    })?;
    let workers = shared(d, "workers", |q| {
        (q.tiny_1.output.workers, q.tiny_1.file.as_str())
    })?;
    for q in &d.queues {
        for (one, many) in [(&q.tiny_1, &q.tiny_64), (&q.heavy_1, &q.heavy_64)] {
            ensure!(
                (one.output.from, one.output.to, one.output.workers)
                    == (many.output.from, many.output.to, many.output.workers),
                "{} and {} checked different numbers: rerun `cargo xtask measure`",
                one.file,
                many.file
            );
        }
    }
    ensure!(
        (py.tiny.from, py.tiny.from + py.tiny.tasks) == tiny,
        "{}'s tiny numbers are not those of the Rust runs ({}..{}): rerun `cargo xtask measure`",
        d.python.file,
        tiny.0,
        tiny.1
    );
    ensure!(
        py.heavy.from == heavy.0,
        "{}'s heavy numbers do not start where the Rust runs' do ({})",
        d.python.file,
        heavy.0
    );
    ensure!(
        py.workers == workers,
        "{} ran {} workers, the Rust runs {workers}: rerun `cargo xtask measure`",
        d.python.file,
        py.workers
    );
    let batch = d.queues[0].tiny_64.output.batch;
    ensure!(
        py.tiny.batched.batch == batch,
        "{} batched {} numbers per message, the Rust runs {batch}",
        d.python.file,
        py.tiny.batched.batch
    );
    let (tiny_n, heavy_n) = (tiny.1 - tiny.0, heavy.1 - heavy.0);
    let mut t = format!(
        "| {workers} workers | {PYTHON_QUEUE} | {} | {} | {} |\n|---|--:|--:|--:|--:|\n",
        design_name(Design::Broker),
        design_name(Design::Pipe),
        design_name(Design::Shm),
    );
    let mut row =
        |what: String, python: String, rust: &dyn Fn(&QueueRuns) -> String| {
            let cells: Vec<String> = d.queues.iter().map(rust).collect();
            t += &format!("| {what} | {python} | {} |\n", cells.join(" | "));
        };
    let ns = |s: &Summary| with_spread(s, human_ns);
    let tiny_what = format!("{} numbers from {}", count(tiny_n), number(tiny.0));
    row(
        format!("queue overhead per number, 1 per message ({tiny_what})"),
        ns(&py.tiny.unbatched.overhead_per_task_ns),
        &|q| ns(&q.tiny_1.overhead_per_task_ns()),
    );
    row(
        format!("the same, {batch} per message"),
        ns(&py.tiny.batched.overhead_per_task_ns),
        &|q| ns(&q.tiny_64.overhead_per_task_ns()),
    );
    let heavy_what = format!("{} numbers from {}", count(heavy_n), number(heavy.0));
    // The verdict from the serial and parallel rounds, then the spread.
    let py_times = |leg: &crate::data::PyLeg| {
        let v = verdict::speedup(&py.heavy.serial_ns, &leg.wall_ns);
        let s = &leg.speedup;
        format!("{v}, {} – {}", ratio(s.min), ratio(s.max))
    };
    let rust_times = |m: &Measured<Report>| {
        let s = m.speedup();
        format!("{}, {} – {}", run_speedup(m), ratio(s.min), ratio(s.max))
    };
    row(
        format!(
            "speedup over serial, 1 per message ({heavy_what}; Python fewer, see below)"
        ),
        py_times(&py.heavy.unbatched),
        &|q| rust_times(&q.heavy_1),
    );
    row(
        format!("the same, {batch} per message"),
        py_times(&py.heavy.batched),
        &|q| rust_times(&q.heavy_64),
    );
    row(
        format!("start-up: starting the {workers} workers, once"),
        ns(&py.startup_ns),
        &|q| ns(&q.startup_ns()),
    );
    let repeats = shared(d, "rounds", |q| {
        (q.tiny_1.output.parallel_ns.n, q.tiny_1.file.as_str())
    })?;
    let startups = d.queues[0].runs().len();
    t += &format!(
        "\nEach cell is a median, with the smallest and largest figure after it. \
         Overhead per number is the wall time each number added beyond its share of \
         the serial work: (parallel time − serial time / {workers}) / numbers; speedup \
         is serial time over parallel time. The Rust programs time {repeats} rounds of \
         the same numbers through the same workers (`--repeats {repeats}`) and {repeats} \
         serial rounds; overhead and speedup set the median, the fastest and the \
         slowest parallel round against the serial median. Python times {} rounds of \
         each and figures them the same way. One of the tiny numbers takes {} to check \
         serially in Python, {} in Rust (the {} design's serial median). Python's \
         heavy rows check {} numbers from {}, not {}: a Python division is far slower, \
         so compare speedups, not wall times. Start-up runs from starting the first \
         worker until every worker is ready: for each design, one figure from each of \
         its {startups} runs above (tiny and heavy, 1 and {batch} per message); for \
         Python, from the {} pools its measurements started.\n\n{}\n\n{}\n",
        py.rounds,
        human_ns(py.tiny.task_ns.median),
        human_ns(d.queues[0].tiny_1.output.serial_ns.median / tiny_n as f64),
        d.queues[0].design.name(),
        count(py.heavy.tasks),
        number(py.heavy.from),
        count(heavy_n),
        py.startup_ns.n,
        ch1_stamps(d, &[Ch1::Tiny, Ch1::Heavy]),
        stamp(&d.python),
    );
    Ok(t)
}

/// Every design's sweep and Python's: the same sizes of number, or an
/// error naming the file that differs.
fn sweep_sizes(d: &Data) -> anyhow::Result<Vec<u64>> {
    let sizes = |rows: &mut dyn Iterator<Item = u64>| rows.collect::<Vec<_>>();
    let py = &d.python.output.queue.sweep;
    let want = sizes(&mut py.rows.iter().map(|r| r.from));
    for q in &d.queues {
        let have = sizes(&mut q.sweep.output.rows.iter().map(|r| r.from));
        ensure!(
            have == want,
            "{} sweeps the sizes {have:?}, {} the sizes {want:?}: rerun `cargo xtask measure`",
            q.sweep.file,
            d.python.file
        );
    }
    ensure!(!want.is_empty(), "{}'s sweep has no rows", d.python.file);
    Ok(want)
}

/// The queue-cost sweep of chapter 1, every design beside Python's: speedup
/// by the size of the numbers, one and many per message.
pub fn sweep(d: &Data) -> anyhow::Result<String> {
    let py = &d.python.output.queue.sweep;
    let sizes = sweep_sizes(d)?;
    let batch = py.rows[0].batched.batch;
    for q in &d.queues {
        let theirs = q.sweep.output.rows[0].batched.batch;
        ensure!(
            theirs == batch,
            "{} batches {theirs} per message, {} {batch}",
            q.sweep.file,
            d.python.file
        );
    }
    let names: Vec<&str> = std::iter::once("Python")
        .chain(Design::ALL.map(Design::name))
        .collect();
    // Two tables, one per way of sending, so that each fits a page.
    let mut t = String::new();
    for batched in [false, true] {
        let per = if batched { batch } else { 1 };
        t += &format!(
            "{}Speedup with {per} per message:\n\n| numbers from | a task, Rust | a task, Python |",
            if batched { "\n" } else { "" }
        );
        for name in &names {
            t += &format!(" {name} |");
        }
        t += &format!("\n|---|--:|--:|{}\n", "--:|".repeat(names.len()));
        for (i, from) in sizes.iter().enumerate() {
            let py_row = &py.rows[i];
            let rows: Vec<&Row> =
                d.queues.iter().map(|q| &q.sweep.output.rows[i]).collect();
            let mut costs: Vec<f64> = rows.iter().map(|r| r.task_ns).collect();
            costs.sort_by(f64::total_cmp);
            t += &format!(
                "| {} | {} | {} |",
                number(*from),
                human_ns(costs[costs.len() / 2]),
                human_ns(py_row.task_ns.median)
            );
            let py_leg = if batched {
                &py_row.batched
            } else {
                &py_row.unbatched
            };
            t += &format!(
                " {} |",
                verdict::speedup_short(&py_row.serial_ns, &py_leg.wall_ns)
            );
            for r in &rows {
                let leg = if batched { &r.batched } else { &r.unbatched };
                t += &format!(
                    " {} |",
                    verdict::speedup_short(&r.serial_ns, &leg.wall_ns)
                );
            }
            t += "\n";
        }
    }
    let cross = |unbatched: Option<f64>, batched: Option<f64>| {
        let at = |ns: Option<f64>| match ns {
            Some(x) => format!("at tasks of {}", human_ns(x)),
            None => "nowhere in this sweep".to_string(),
        };
        format!(
            "parallel first wins {} one per message, {} with {batch} per message",
            at(unbatched),
            at(batched)
        )
    };
    let workers = d.queues[0].sweep.output.workers;
    t += &format!(
        "\nSpeedup is serial time over parallel time ({workers} workers), medians of the \
         rounds; above 1x the queue paid off. A ~ marks a speedup within noise: the \
         serial and the parallel rounds could not be told apart (the book's rule, in \
         *How we measure*), so neither was faster. A task is one number checked serially \
         (the serial median over the numbers): Rust's is the middle of the three \
         designs' sweeps, Python's its own.\n\n- {PYTHON_QUEUE}: {}\n",
        cross(py.crossover_unbatched_ns, py.crossover_batched_ns)
    );
    for q in &d.queues {
        let s = &q.sweep.output;
        t += &format!(
            "- {}: {}\n",
            design_name(q.design),
            cross(s.crossover_unbatched_ns, s.crossover_batched_ns)
        );
    }
    t += &format!(
        "\n{}\n\n{}\n",
        ch1_stamps(d, &[Ch1::Sweeps]),
        stamp(&d.python)
    );
    Ok(t)
}

/// Chapter 1's claims, each beside the published Python figure and what
/// each design measured.
pub fn work_queue_claims(d: &Data) -> anyhow::Result<String> {
    let sizes = sweep_sizes(d)?;
    let mid = sizes.len() / 2;
    let first = &d.queues[0];
    let (tiny, heavy) = (&first.tiny_1.output, &first.heavy_1.output);
    // The sweep's size of the heavy numbers, or its largest.
    let heavy_at =
        (sizes.iter().position(|&s| s == heavy.from)).unwrap_or(sizes.len() - 1);
    let workers = tiny.workers;
    let batch = first.tiny_64.output.batch;
    let lines = [
        (
            "Queues are not free: every task is serialized, copied and passed through a lock.",
            "—".to_string(),
            format!(
                "One number per message costs {} of wall time per number on top of the \
                 work itself, checking {} numbers from {} (a number takes {} serially).",
                per_design(d, |q| human_ns(q.tiny_1.output.overhead_per_task_ns)),
                count(tiny.to - tiny.from),
                number(tiny.from),
                human_ns(tiny.serial_ns.median / (tiny.to - tiny.from) as f64),
            ),
        ),
        (
            "If tasks are tiny, queue overhead dominates and parallel is slower than serial.",
            hpp_queue(&d.hpp)?,
            format!(
                "Numbers near {}, {workers} workers, one per message, against serial: {}.",
                number(sizes[mid]),
                per_design(d, |q| {
                    let r = &q.sweep.output.rows[mid];
                    format!(
                        "{} (tasks of {})",
                        verdict::speedup(&r.serial_ns, &r.unbatched.wall_ns),
                        human_ns(r.task_ns)
                    )
                })
            ),
        ),
        (
            "Queue overhead must be small relative to task cost.",
            "—".to_string(),
            format!(
                "Parallel first beats serial at tasks of: {} one per message; {} with \
                 {batch} per message.",
                per_design(d, |q| crossover(q.sweep.output.crossover_unbatched_ns)),
                per_design(d, |q| crossover(q.sweep.output.crossover_batched_ns)),
            ),
        ),
        (
            "(Our remedy, not the text's) Send tasks in batches.",
            "—".to_string(),
            // The sweep's row for the heavy numbers, the one figure the
            // sweep's table shows for them too.
            format!(
                "Overhead per number at {batch} per message: {}. Numbers near {} with \
                 {workers} workers, against serial, one per message: {}; at {batch} per \
                 message: {}.",
                per_design(d, |q| human_ns(q.tiny_64.output.overhead_per_task_ns)),
                number(sizes[heavy_at]),
                per_design(d, |q| {
                    let r = &q.sweep.output.rows[heavy_at];
                    verdict::speedup(&r.serial_ns, &r.unbatched.wall_ns)
                }),
                per_design(d, |q| {
                    let r = &q.sweep.output.rows[heavy_at];
                    verdict::speedup(&r.serial_ns, &r.batched.wall_ns)
                }),
            ),
        ),
    ];
    let mut t = String::from(
        "| The text says | Python, as published (High Performance Python, 2nd ed., ch. 9) | Rust, measured here |\n|---|---|---|\n",
    );
    for (claim, python, rust) in lines {
        t += &format!("| {claim} | {python} | {rust} |\n");
    }
    t += &format!("\n{}\n", ch1_stamps(d, &[Ch1::Sweeps, Ch1::Tiny]));
    Ok(t)
}

/// HPP's setup for its flag figures, for a column head: "High Performance
/// Python, 2nd ed., ch. 9; prime 1, 4 processes, minimum of 20 runs".
fn hpp_setup(h: &Hpp) -> String {
    let v = &h.prime_validation;
    format!(
        "High Performance Python, 2nd ed., ch. 9; prime 1, a Pool of {} processes, \
         a look every {}; each figure the minimum of 20 runs",
        v.processes, v.check_every
    )
}

/// HPP's queue figure in words, from the data file.
fn hpp_queue(h: &Hpp) -> anyhow::Result<String> {
    let q = &h.queue;
    let queued = &q.queued.seconds;
    let fold = |f: fn(f64, f64) -> f64, init| queued.iter().copied().fold(init, f);
    let (lo, hi) = (fold(f64::min, f64::MAX), fold(f64::max, f64::MIN));
    let procs = &q.queued.processes;
    ensure!(!procs.is_empty(), "HPP's queue figure has no runs");
    Ok(format!(
        "Primes in {}..{}: {} with no queue, {} to {} through a \
         `Manager().Queue()` (a round trip to a manager process per put and get) \
         with {} to {} processes ({} to {} slower); one run each.",
        count(q.from),
        count(q.to),
        seconds(q.serial.seconds),
        seconds(lo),
        seconds(hi),
        procs[0],
        procs[procs.len() - 1],
        ratio(lo / q.serial.seconds),
        ratio(hi / q.serial.seconds),
    ))
}

/// HPP's four flags from the slowest to the fastest on prime 1, and where
/// Redis stands: its order, not the text's.
fn hpp_flag_order(h: &Hpp) -> anyhow::Result<String> {
    let mut flags = Vec::new();
    for key in ["manager", "redis", "rawvalue", "mmap"] {
        flags.push((h.variant(key)?.name.as_str(), h.prime_1(key)?));
    }
    flags.sort_by(|a, b| b.1.total_cmp(&a.1));
    let order: Vec<String> = (flags.iter())
        .map(|(name, s)| format!("{name} {}", seconds(*s)))
        .collect();
    let redis = h.variant("redis")?.name.as_str();
    let said = if flags[0].0 == redis {
        "Redis the slowest, as the text says"
    } else {
        "Redis not the slowest: the text's order is not what its source measured"
    };
    Ok(format!(
        "Slowest to fastest: {}. {said} (minima, no spread published).",
        order.join(", ")
    ))
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
            flag_speedup(v),
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
    let (h_pool, h_raw, h_mmap, h_mmap3) = (
        d.hpp.prime_1("pool")?,
        d.hpp.prime_1("rawvalue")?,
        d.hpp.prime_1("mmap")?,
        d.hpp.prime_1("mmap3")?,
    );
    t += &format!(
        "| The text says | Python, as published ({}) | Rust, measured here |\n|---|---|---|\n",
        hpp_setup(&d.hpp)
    );
    t += &format!(
        "| RawValue is fast: no locks. | {} with a RawValue flag against {} with no flag at all ({}). | {} overhead with the raw flag. |\n",
        seconds(h_raw),
        seconds(h_pool),
        slower_pct(h_raw, h_pool),
        overhead(raw)?
    );
    t += &format!(
        "| mmap is the fastest, \"almost zero overhead\". | {} with an mmap flag ({} over no flag); {} ({}) in `mmap3.py`, which looks more often (once per block of {} candidates, against once per {}) but keeps no counter per candidate: the gain is CPython's bookkeeping, not fewer looks. | {} overhead with the mmap flag; one look costs {}, the floor {}. |\n",
        seconds(h_mmap),
        slower_pct(h_mmap, h_pool),
        seconds(h_mmap3),
        slower_pct(h_mmap3, h_pool),
        // Odd candidates only: a block of CHECK_EVERY numbers holds half as
        // many candidates.
        d.hpp.prime_validation.check_every / 2,
        d.hpp.prime_validation.check_every,
        overhead(mmap)?,
        human_ns(mmap.output.check_ns.median),
        human_ns(mmap.output.local_check_ns.median)
    );
    t += &format!(
        "| RawValue is unsafe: races are possible. | Python documents RawValue reads and writes as potentially non-atomic. | A one-way flag read through an atomic cannot tear or be undefined behaviour; 04 and 05 differ only in the ordering named, measured {} against {}: {}. |\n",
        with_spread(&raw.output.check_ns, human_ns),
        with_spread(&mmap.output.check_ns, human_ns),
        verdict::smaller(
            "RawValue's",
            &raw.output.check_ns,
            "mmap's",
            &mmap.output.check_ns
        ),
    );
    t += &format!("\n{}\n", credits(&[flag_run(raw), flag_run(mmap)]));
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
            flag_speedup(v),
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
    let h = &d.hpp;
    let (h_pool, h_redis, h_mmap) =
        (h.prime_1("pool")?, h.prime_1("redis")?, h.prime_1("mmap")?);
    t += &format!(
        "| The text says | Python, as published ({}) | Rust, measured here |\n|---|---|---|\n",
        hpp_setup(h)
    );
    t += &format!(
        "| Redis pays network overhead. | {} with a Redis flag against {} with no flag ({}). \
         | One look costs {}, {} of `redis-benchmark`'s own p50 for a GET on the same \
         server: a look is one loopback round trip. |\n",
        seconds(h_redis),
        seconds(h_pool),
        slower_pct(h_redis, h_pool),
        human_ns(look),
        ratio(look / p50),
    );
    t += &format!(
        "| Redis is slower than local memory. | {} with a Redis flag against {} with an mmap \
         flag. | {:.0} times slower than a look at the mmap flag ({}). |\n",
        seconds(h_redis),
        seconds(h_mmap),
        look / mmap.check_ns.median,
        human_ns(mmap.check_ns.median),
    );
    t += &format!(
        "| Redis is the slowest of the four. | {} | A look at the manager's flag of \
         chapter 3 costs {}, against Redis's {}: {}. |\n",
        hpp_flag_order(h)?,
        with_spread(&manager.check_ns, human_ns),
        with_spread(&poll_default.output.check_ns, human_ns),
        verdict::smaller(
            "the manager",
            &manager.check_ns,
            "Redis",
            &poll_default.output.check_ns
        ),
    );
    t += &format!(
        "| (Ours, not the text's) Let Redis push the flag instead. | — | A look falls from {} \
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
    let mut runs: Vec<(&Stamp, &str)> = d.polls.iter().map(flag_run).collect();
    runs.extend([flag_run(push), flag_run(&d.manager), flag_run(&d.mmap)]);
    runs.push((&d.redis_floor.stamp, d.redis_floor.command.as_str()));
    t += &format!("\n{}\n", credits(&runs));
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
    let (h_pool, h_manager) = (d.hpp.prime_1("pool")?, d.hpp.prime_1("manager")?);
    t += &format!(
        "| The text says | Python, as published ({}) | Rust, measured here |\n|---|---|---|\n",
        hpp_setup(&d.hpp)
    );
    t += &format!(
        "| A Manager is safe but slow: every access crosses a process boundary. | {} with a Manager.Value flag against {} with no flag ({}). | A look costs {} ({} of one ipc-channel round trip). Looking every 1000 candidates: {} overhead; every 100,000: {}. |\n",
        seconds(h_manager),
        seconds(h_pool),
        slower_pct(h_manager, h_pool),
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
        count(c.expected),
        lost_updates(c.atomic, c),
    );
    t += &format!("\n{}\n", credits(&[flag_run(k_small), flag_run(k_big)]));
    Ok(t)
}

/// Updates lost by a counter that should have reached `c.expected` and
/// ended at `got`.
fn lost_updates(got: u64, c: &Counted) -> String {
    count(c.expected.saturating_sub(got))
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
    // Two tables, so that each reads at the width of a page: the text's
    // words beside what can go wrong, then the figures.
    let mut t = String::from(
        "| the flag | the text's rating | scope | what can go wrong |\n|---|---|---|---|\n",
    );
    let mut figures = String::from(
        "| the flag | one look | a look every | flag overhead | parallel search | stop latency p50 / p99 |\n|---|--:|--:|--:|--:|--:|\n",
    );
    figures += &format!(
        "| none: never looking | | | | {} | never stops early |\n",
        human_ns(mmap.unchecked_ns()?.median),
    );
    figures += &format!(
        "| floor: an atomic in the worker's own memory | {} | | | | |\n",
        human_ns(mmap.output.local_check_ns.median),
    );
    let rows: [(&str, &Measured<flag::Report>, String, &str, &str); 6] = [
        (
            "Manager (ch. 3)",
            manager,
            format!(
                "get-then-set through a proxy lost {} of {} updates",
                lost_updates(m.racy, m),
                count(m.expected)
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
                count(raw_counted.expected)
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
            "(not in the text)",
        ),
        // Chapter 7: no flag at all, the stop sent as a message.
        (
            "no flag: a message to each worker's inbox (ch. 7, ours)",
            &d.message,
            "nothing is shared; a stop for a worker that stopped reading is dropped, never waited for"
                .into(),
            "one machine (pipes)",
            "(not in the text)",
        ),
    ];
    for (name, v, wrong, scope, rating) in &rows {
        t += &format!("| {name} | {rating} | {scope} | {wrong} |\n");
        figures += &format!(
            "| {name} | {} | {} | {} | {} | {} |\n",
            human_ns(look(v)),
            count(v.output.check_every),
            overhead(v)?,
            human_ns(v.output.parallel_ns.median),
            stop(v),
        );
    }
    t += &format!(
        "\nMeasured:\n\n{figures}\n{} workers, the prime case ({}), every flag at its chapter's default \
         interval. Times are medians; an overhead says \"within noise\" where the searches \
         with and without looking cannot be told apart (the book's rule, in *How we \
         measure*).\n\n",
        mmap.output.workers, mmap.output.n
    );
    // Where the measurement and the text part ways, said from the numbers.
    t += "Against the text's ratings:\n\n";
    fn spread(m: &Measured<flag::Report>) -> &Summary {
        &m.output.check_ns
    }
    t += &format!(
        "- *mmap fastest, RawValue fast*: one look at mmap {}, at RawValue {}: {}.\n",
        with_spread(spread(mmap), human_ns),
        with_spread(spread(raw), human_ns),
        verdict::smaller("mmap", spread(mmap), "RawValue", spread(raw)),
    );
    t += &format!(
        "- *Redis slowest*: one look at Redis {}, at the manager {}: {}. {}\n",
        with_spread(spread(redis), human_ns),
        with_spread(spread(manager), human_ns),
        verdict::smaller("Redis", spread(redis), "the manager", spread(manager)),
        hpp_flag_order(&d.hpp)?,
    );
    t += &format!(
        "- *RawValue and mmap unsafe*: only for read-modify-write. A one-way flag read \
         through an atomic is safe; a counter bumped by load-then-store lost {} of {} \
         updates.\n",
        lost_updates(raw_counted.racy, raw_counted),
        count(raw_counted.expected)
    );
    t += &format!(
        "- *Manager safe*: each request is atomic, a sequence of requests is not: \
         get-then-set lost {} of {} updates.\n",
        lost_updates(m.racy, m),
        count(m.expected)
    );
    let docs = [manager, raw, &d.raw_count, mmap, redis, push, &d.message];
    t += &format!(
        "\n{}\n",
        credits(&docs.map(|m| (&m.stamp, m.command.as_str())))
    );
    Ok(t)
}

/// The closing chapter's rules, each with the measurement behind it.
pub fn rules(d: &Data) -> anyhow::Result<String> {
    let (mmap, redis, push) = (&d.mmap, d.redis(), &d.push);
    let (k_small, k_big) = (&d.polls[0], &d.polls[3]);
    let batch = d.queues[0].tiny_64.output.batch;
    let (pill, kill) = (
        way(&d.compare, Shutdown::Pill)?,
        way(&d.compare, Shutdown::Kill)?,
    );
    let never = mmap.unchecked_ns()?.median;
    let rows = [
        (
            "Send work in batches.",
            format!(
                "One number per message cost {} per number on top of the work; {batch} \
                 per message, {}. Parallel first paid off at tasks of {} one by one; \
                 of {} batched.",
                per_design(d, |q| human_ns(q.tiny_1.output.overhead_per_task_ns)),
                per_design(d, |q| human_ns(q.tiny_64.output.overhead_per_task_ns)),
                per_design(d, |q| crossover(q.sweep.output.crossover_unbatched_ns)),
                per_design(d, |q| crossover(q.sweep.output.crossover_batched_ns)),
            ),
        ),
        (
            "Let independent workers work.",
            format!(
                "{} workers that never looked at anything searched the prime in {}: {}.",
                mmap.output.workers,
                human_ns(never),
                verdict::speedup(&mmap.output.serial_ns, mmap.unchecked_ns()?)
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
    let mut runs: Vec<(&Stamp, &str)> = [mmap, redis, push, k_small, k_big]
        .into_iter()
        .map(flag_run)
        .collect();
    runs.push((&d.compare.stamp, d.compare.command.as_str()));
    t += &format!(
        "\n{}\n\n{}\n",
        ch1_stamps(d, &[Ch1::Sweeps, Ch1::Tiny]),
        credits(&runs)
    );
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
    // Python's figure and the ratio of the medians with its verdict, or
    // why there is none.
    let mut row = |what: &str, rust: &Summary, python: Result<&Summary, &str>| {
        let cell = match python {
            Ok(p) => {
                let said = match p.compare(rust) {
                    stats::Compared::Higher => "Python slower",
                    stats::Compared::Lower => "Python faster",
                    stats::Compared::WithinNoise => "within noise",
                    stats::Compared::TooFew => "too few repeats",
                };
                format!(
                    "{} | {} ({said})",
                    with_spread(p, human_ns),
                    ratio(p.median / rust.median)
                )
            }
            Err(why) => format!("not run: {why} | "),
        };
        t += &format!("| {what} | {} | {cell} |\n", with_spread(rust, human_ns));
    };
    fn look(m: &Measured<flag::Report>) -> &Summary {
        &m.output.check_ns
    }
    row(
        "one look: a local variable (Python) / an atomic in own memory (Rust)",
        &mmap.output.local_check_ns,
        Ok(&looks.floor),
    );
    row("one look: RawValue", look(raw), Ok(&looks.rawvalue));
    row("one look: mmap", look(mmap), Ok(&looks.mmap));
    row(
        "one look: Manager.Value (a round trip)",
        look(manager),
        Ok(&looks.manager),
    );
    row(
        "one look: Redis GET (a round trip)",
        look(redis),
        match &looks.redis {
            PyRedisLook::Ran { summary } => Ok(summary),
            PyRedisLook::NotRun { not_run } => Err(not_run.as_str()),
        },
    );
    // Python's queue is a pipe that every worker reads: beside it, the
    // Rust queue of the same design.
    let q = &py.queue.tiny;
    let pipe = d.queue(Design::Pipe);
    for (rust, python) in [(&pipe.tiny_1, &q.unbatched), (&pipe.tiny_64, &q.batched)]
    {
        let r = &rust.output;
        ensure!(
            (r.from, r.to - r.from, r.batch) == (q.from, q.tasks, python.batch),
            "{} did not check the numbers of {}'s queue.tiny: rerun `cargo xtask measure`",
            rust.file,
            d.python.file
        );
        row(
            &format!("a queue, {} per message: overhead per task", python.batch),
            &rust.overhead_per_task_ns(),
            Ok(&python.overhead_per_task_ns),
        );
    }
    t += &format!(
        "\nThe queue rows check {} numbers from {} with {} workers in both languages, \
         through a pipe that every worker reads (Rust: `--queue pipe`). A Python look \
         is timed as the text writes it (`flag.value == FLAG_SET`, `seek` and `read` on \
         the mmap), in a worker started with *spawn*.\n\n{}\n\n{}\n\n{}\n",
        count(q.tasks),
        number(q.from),
        py.queue.workers,
        credits(
            &[manager, raw, mmap, redis].map(|m| (&m.stamp, m.command.as_str()))
        ),
        queue_stamps(&[Ch1Doc::run(&pipe.tiny_1), Ch1Doc::run(&pipe.tiny_64)]),
        stamp(&d.python),
    );
    Ok(t)
}

/// A flag run's stamp and command, for [`credits`].
fn flag_run(m: &Measured<flag::Report>) -> (&Stamp, &str) {
    (&m.stamp, m.command.as_str())
}

/// Nanoseconds of work per candidate on the prime case: the mmap flag's
/// serial search (median) over the candidates it tries. The scale that
/// turns a check interval into time.
pub fn ns_per_candidate(d: &Data) -> f64 {
    let v = &d.mmap.output;
    v.serial_ns.median / workers::search::candidates(v.n) as f64
}

/// What sets stop latency: the mmap flag raised 100 times at each check
/// interval, then with more workers than cores; beside each, an interval of
/// work, the longest wait the interval alone can explain.
pub fn stop_latency(d: &Data) -> anyhow::Result<String> {
    let per = ns_per_candidate(d);
    let mut t = String::from(
        "| a look every | workers per core | an interval of work | stop latency p50 | p99 | fastest | interval's share of p50 |\n|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    let mut docs = Vec::new();
    let mut seen = Vec::new();
    for m in d.latency_by_interval.iter().chain(d.latency_workers()) {
        // A setting of both sweeps is shown once.
        if seen.contains(&m.file) {
            continue;
        }
        seen.push(m.file.clone());
        let v = &m.output;
        let l = &v.stop_latency_ns;
        let interval = v.check_every as f64 * per;
        t += &format!(
            "| {} | {} | {} | {} | {} | {} | {:.1}% |\n",
            count(v.check_every),
            per_core(v.workers, m.stamp.cores),
            human_ns(interval),
            human_ns(l.median),
            human_ns(l.p99),
            human_ns(l.min),
            interval / l.median * 100.0,
        );
        docs.push(m);
    }
    let trials = d.latency_by_interval[0].output.stop_latency_ns.n;
    t += &format!(
        "\nThe mmap flag of chapter 5. Each row raises the flag {trials} times in a search \
         that would otherwise run for seconds, and times how long every worker takes to \
         stop. The first rows change the check interval with one worker per core; \
         the rest change the workers at the default interval (with one per core, \
         that is a row above). An interval of work is the interval times {} per \
         candidate (the serial prime search of `05-prime.json` over its \
         candidates): the longest a worker searches between two looks. A raised flag \
         waits for every worker's next look, so the interval alone explains a wait \
         of up to one interval: about half of one for a single worker caught at a \
         random point of its batch, nearer a whole one for the last of several. The \
         trials raise the flag 1 ms after the search starts, so where an interval \
         of work is longer than that, every worker is still in its first batch and \
         the wait is that interval less the millisecond. The rest of the latency is \
         the time the kernel takes to run a worker that was waiting for a core.\n\n{}\n",
        human_ns(per),
        credits(
            &docs
                .iter()
                .map(|m| (&m.stamp, m.command.as_str()))
                .chain([(&d.mmap.stamp, d.mmap.command.as_str())])
                .collect::<Vec<_>>()
        ),
    );
    Ok(t)
}

/// "0.5", "1", "4": workers over cores.
fn per_core(workers: usize, cores: usize) -> String {
    let x = workers as f64 / cores as f64;
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x}")
    }
}

/// The lines that credit the runs a table was made from: one per stamp,
/// each naming every command run under it, in the order given.
pub fn credits(runs: &[(&Stamp, &str)]) -> String {
    let mut by_stamp: Vec<(&Stamp, Vec<&str>)> = Vec::new();
    for (stamp, command) in runs {
        match by_stamp.iter_mut().find(|(s, _)| s == stamp) {
            Some((_, commands)) if commands.contains(command) => {}
            Some((_, commands)) => commands.push(command),
            None => by_stamp.push((stamp, vec![command])),
        }
    }
    let lines: Vec<String> = (by_stamp.into_iter())
        .map(|(stamp, commands)| {
            let named: Vec<String> = (families(&commands).into_iter())
                .map(|(words, at, values)| match at {
                    None => format!("`{}`", words.join(" ")),
                    Some(i) => {
                        let mut words = words;
                        words[i] = "X".into();
                        format!(
                            "`{}` for X = {}",
                            words.join(" "),
                            values.join(", ")
                        )
                    }
                })
                .collect();
            stamp_line(stamp, &named.join("; "))
        })
        .collect();
    lines.join("\n\n")
}

/// A group of commands that differ in one word: the first's words, the
/// place of the word that varies (none while the group has one command)
/// and the values it takes.
type Family = (Vec<String>, Option<usize>, Vec<String>);

/// Commands grouped where they differ in one word only, in the order first
/// seen.
fn families(commands: &[&str]) -> Vec<Family> {
    let mut groups: Vec<Family> = Vec::new();
    for command in commands {
        let words: Vec<String> = command.split(' ').map(str::to_string).collect();
        let fits = |(first, at, _): &Family| -> Option<usize> {
            if first.len() != words.len() {
                return None;
            }
            let differ: Vec<usize> =
                (0..words.len()).filter(|&i| first[i] != words[i]).collect();
            match (at, differ.as_slice()) {
                (None, [i]) => Some(*i),
                (Some(a), [i]) if a == i => Some(*i),
                _ => None,
            }
        };
        match groups.iter_mut().find_map(|g| fits(g).map(|i| (g, i))) {
            Some((g, i)) => {
                if g.1.is_none() {
                    g.2.push(g.0[i].clone());
                    g.1 = Some(i);
                }
                g.2.push(words[i].clone());
            }
            None => groups.push((words, None, Vec::new())),
        }
    }
    groups
}

/// HPP's published figures, whole, each row naming the list it was copied
/// from and the script that timed it: for the chapters to include rather
/// than quote.
pub fn hpp(d: &Data) -> anyhow::Result<String> {
    let h = &d.hpp;
    let v = &h.prime_validation;
    let mut t = String::from("| variant |");
    for n in &v.numbers {
        t += &format!(" {} |", n.label);
    }
    t += "\n|---|";
    t += &"--:|".repeat(v.numbers.len());
    t += "\n";
    // The sources in a table of their own: file names do not wrap.
    let mut sources = String::from("| variant | timed by |\n|---|---|\n");
    for variant in &v.variants {
        t += &format!("| {} |", variant.name);
        for s in &variant.seconds {
            t += &format!(" {} |", seconds(*s));
        }
        t += "\n";
        sources +=
            &format!("| {} | {} |\n", variant.name, h.link(&variant.timed_by));
    }
    t += &format!("\n{sources}");
    let numbers: Vec<String> = (v.numbers.iter())
        .map(|n| format!("{} {}", n.label, n.n))
        .collect();
    t += &format!(
        "\nSeconds to check one number with a Pool of {} processes, a look at the \
         flag every {} candidates; each figure is {}. Each row's seconds are copied \
         from the list named after the script that timed it (`times_` and the \
         script's name) in the plotting script named below. The numbers: {}.\n\n",
        v.processes,
        v.check_every,
        v.statistic,
        numbers.join("; "),
    );
    let q = &h.queue;
    t += "| processes | seconds | timed by |\n|--:|--:|---|\n";
    t += &format!(
        "| 1, no queue | {} | {} |\n",
        seconds(q.serial.seconds),
        h.link(&q.serial.timed_by)
    );
    for (p, s) in q.queued.processes.iter().zip(&q.queued.seconds) {
        t += &format!(
            "| {p}, through the queue | {} | {} |\n",
            seconds(*s),
            h.link(&q.queued.timed_by)
        );
    }
    t += &format!(
        "\nPrimes among the numbers {}..{}, through {}; each figure is {}.\n\n",
        count(q.from),
        count(q.to),
        q.queue,
        q.statistic,
    );
    t += &format!(
        "_Measured by the authors of High Performance Python (2nd ed., O'Reilly 2020) \
         on their machine, and published in the lists of {} and {}; read at commit \
         {} of {} into `book/data/hpp.json`, from which this table is made._\n",
        h.link(&v.source),
        h.link(&q.source),
        &h.commit[..7],
        h.repository,
    );
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credits_name_each_command_once_and_fold_a_sweep() {
        let stamp = Stamp {
            date: "d".into(),
            cpu: "c".into(),
            cores: 2,
            kernel: "k".into(),
            rustc: "r".into(),
            revision: "v".into(),
        };
        let said = credits(&[
            (&stamp, "run --every 10 --json"),
            (&stamp, "run --every 1000 --json"),
            (&stamp, "run --every 10 --json"),
            (&stamp, "run --workers 4 --json"),
            (&stamp, "other"),
        ]);
        assert!(
            said.ends_with(
                "by `run --every X --json` for X = 10, 1000; `run --workers 4 --json`; `other`._"
            ),
            "{said}"
        );
    }

    #[test]
    fn numbers_are_written_as_the_text_writes_them() {
        assert_eq!(number(1_000_000_000_000), "10^12");
        assert_eq!(number(10_000), "10^4");
        assert_eq!(number(20_000), "20,000");
        assert_eq!(count(10_000), "10,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(7), "7");
    }

    #[test]
    fn a_command_run_one_way_only_is_written_out() {
        let t = "run -- --queue D --batch B --json".to_string();
        let (said, with) = concrete(t.clone(), &[Design::Pipe], &[1, 64]);
        assert_eq!(said, "run -- --queue pipe --batch B --json");
        assert_eq!(with.as_deref(), Some("B = 1, 64"));
        let (said, with) = concrete(t, &Design::ALL, &[64]);
        assert_eq!(said, "run -- --queue D --batch 64 --json");
        assert_eq!(with.as_deref(), Some("D = broker, pipe, shm"));
        let (said, with) =
            concrete("x --queue D --sweep".into(), &[Design::Shm], &[]);
        assert_eq!((said.as_str(), with), ("x --queue shm --sweep", None));
    }

    #[test]
    fn stamps_say_exactly_which_runs_each_machine_made() {
        let stamp = |revision: &str| Stamp {
            date: "d".into(),
            cpu: "c".into(),
            cores: 2,
            kernel: "k".into(),
            rustc: "r".into(),
            revision: revision.into(),
        };
        let (old, new) = (stamp("old"), stamp("new"));
        let doc = |stamp, design, batch| Ch1Doc {
            stamp,
            template: "run --queue D --batch B --json".into(),
            design,
            batch: Some(batch),
        };
        let said = queue_stamps(&[
            doc(&old, Design::Broker, 1),
            doc(&old, Design::Pipe, 1),
            doc(&old, Design::Pipe, 64),
            doc(&new, Design::Shm, 1),
            doc(&new, Design::Shm, 64),
            doc(&old, Design::Broker, 64),
            doc(&old, Design::Shm, 64),
        ]);
        let lines: Vec<&str> = said.split("\n\n").collect();
        assert_eq!(lines.len(), 2, "{said}");
        assert!(
            lines[0].contains("revision old, by `run --queue D --batch B --json` for D = broker, pipe and B = 1, 64; and `run --queue shm --batch 64 --json`._"),
            "{said}"
        );
        assert!(
            lines[1].contains("revision new, by `run --queue shm --batch B --json`, for B = 1, 64._"),
            "{said}"
        );
    }

    #[test]
    fn the_chapter_1_tables_render_from_the_committed_data() {
        let data = Data::load().unwrap();
        for render in [queues, sweep, work_queue_claims] {
            let table = render(&data).unwrap();
            assert!(table.contains("\n_Measured "), "{table}");
        }
    }
}
