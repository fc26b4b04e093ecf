//! `--sweep`: how large must a task be before the queue pays for itself?
//!
//! The cost of a task is set by the size of the numbers it checks: near 10^2 a
//! check is a few nanoseconds, near 10^14 a prime takes five million
//! divisions. For each size the same numbers go through the same workers one
//! per message and then `--batch` per message (64 unless given), beside a
//! serial run in this process.

use crate::{Queue, RunArgs, serial, start};
use std::process::ExitCode;
use workers::report::{Machine, Table, human_ns, print_json, ratio};
use workers::stats::Summary;

// What `--sweep --json` prints, defined where `cargo xtask` reads it too.
use std::ops::Range;
use work_queue::{Leg, Row, SweepReport};

/// Serial time each size aims for: long enough to time, short enough to sweep.
const TARGET_NS: u64 = 50_000_000;
/// Bounds on numbers per size: enough to spread, few enough for one per message.
const MIN_TASKS: u64 = 256;
const MAX_TASKS: u64 = 20_000;

pub fn run(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let workers = workers::worker_count(args.workers);
    let batch = if args.batch > 1 { args.batch } else { 64 };
    let (mut queue, _) = start(args.queue, workers, None, args.liveness)?;
    let mut rows = Vec::new();
    for exp in (2..=14).step_by(2) {
        let from = 10u64.pow(exp);
        let per_task = (serial(from..from + MIN_TASKS).2 / MIN_TASKS).max(1);
        let tasks = (TARGET_NS / per_task).clamp(MIN_TASKS, MAX_TASKS);
        let numbers = from..from + tasks;
        let serial_ns = repeat(args.repeats, || Ok(serial(numbers.clone()).2))?;
        let mut leg = |batch| {
            leg(
                queue.as_mut(),
                numbers.clone(),
                batch,
                &serial_ns,
                workers,
                args.repeats,
            )
        };
        let unbatched = leg(1)?;
        let batched = leg(batch)?;
        rows.push(Row {
            from,
            tasks,
            task_ns: serial_ns.median / tasks as f64,
            serial_ns,
            unbatched,
            batched,
        });
    }
    queue.shut_down()?;
    let crossover = |pick: fn(&Row) -> &Leg| {
        rows.iter()
            .find(|r| pick(r).speedup > 1.0)
            .map(|r| r.task_ns)
    };
    let report = SweepReport {
        machine: Machine::here(),
        queue: args.queue,
        workers,
        crossover_unbatched_ns: crossover(|r| &r.unbatched),
        crossover_batched_ns: crossover(|r| &r.batched),
        rows,
    };
    if args.json {
        print_json(&report)?;
    } else {
        print_sweep(&report, batch, args.repeats);
    }
    Ok(ExitCode::SUCCESS)
}

/// Times `repeats` rounds of `numbers` through the queue, `batch` per message.
fn leg(
    queue: &mut dyn Queue,
    numbers: Range<u64>,
    batch: u32,
    serial_ns: &Summary,
    workers: usize,
    repeats: u32,
) -> anyhow::Result<Leg> {
    let wall_ns =
        repeat(repeats, || Ok(queue.round(numbers.clone(), batch)?.wall_ns))?;
    let tasks = (numbers.end - numbers.start) as f64;
    Ok(Leg {
        batch,
        overhead_per_task_ns: (wall_ns.median - serial_ns.median / workers as f64)
            / tasks,
        speedup: serial_ns.median / wall_ns.median,
        wall_ns,
    })
}

fn repeat(
    n: u32,
    mut f: impl FnMut() -> anyhow::Result<u64>,
) -> anyhow::Result<Summary> {
    let samples = (0..n)
        .map(|_| f().map(|ns| ns as f64))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Summary::of(&samples).expect("at least one repeat"))
}

fn print_sweep(r: &SweepReport, batch: u32, repeats: u32) {
    println!(
        "Queue cost against task cost: {} workers, through {}, median of {repeats} rounds.\n",
        r.workers,
        crate::described(r.queue)
    );
    let mut t = Table::new([
        "numbers from".to_string(),
        "task".into(),
        "1/msg speedup".into(),
        "overhead".into(),
        format!("{batch}/msg speedup"),
        "overhead".into(),
    ]);
    for row in &r.rows {
        t.row([
            format!("10^{}", row.from.ilog10()),
            human_ns(row.task_ns),
            ratio(row.unbatched.speedup),
            human_ns(row.unbatched.overhead_per_task_ns),
            ratio(row.batched.speedup),
            human_ns(row.batched.overhead_per_task_ns),
        ]);
    }
    print!("{t}");
    let say = |label: &str, c: Option<f64>| match c {
        Some(ns) => {
            println!("{label}: parallel first wins at tasks of {}", human_ns(ns))
        }
        None => println!("{label}: parallel never won in this sweep"),
    };
    say("1 per message", r.crossover_unbatched_ns);
    say(&format!("{batch} per message"), r.crossover_batched_ns);
}
