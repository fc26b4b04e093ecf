//! `--compare`: the same run ended by the pill, by a hang-up and by a kill,
//! each several times, timed, with what each loses counted.
//!
//! Run it: `cargo run --bin 02-poison-pill -- --compare`
//!
//! One round is a plain run (fresh workers, every batch fed) ended one way;
//! the three ways are the arms of `Broker::shut_down` in main.rs, the same
//! ones `--shutdown pill|close|kill` picks for a single run. The pill and the
//! hang-up let the workers finish what they hold; the kill does not, and the
//! counts of lost numbers and primes show what that costs.

use crate::Shutdown;
use crate::broker::{self, Broker};
use crate::cli::RunArgs;
use std::process::ExitCode;
use std::time::Duration;
use workers::prime::is_prime;
use workers::report::{Machine, Table, human_ns, print_json};
use workers::stats::Summary;

// What `--compare --json` prints, defined where `cargo xtask` reads it too.
use poison_pill::{CompareReport, Compared};

/// The same run ended each way, `repeats` times, fresh workers each time.
pub fn run(args: &RunArgs, workers: usize) -> anyhow::Result<ExitCode> {
    let expected = (args.from..args.to).filter(|&n| is_prime(n)).count();
    let deadline = Duration::from_millis(args.deadline_ms);
    let mut ways = Vec::new();
    for how in [Shutdown::Pill, Shutdown::Close, Shutdown::Kill] {
        let (mut total, mut tail, mut held) = (Vec::new(), Vec::new(), Vec::new());
        let (mut lost_numbers, mut lost_primes) = (0, 0);
        for _ in 0..args.repeats {
            let mut broker = Broker::start(workers, None, args.liveness)?;
            broker.feed(&mut broker::batches(args))?;
            let e = broker.shut_down(how, workers, deadline)?;
            total.push(e.shutdown_ns as f64);
            tail.push(e.after_last_result_ns as f64);
            held.push(e.per_worker.iter().map(|w| w.held).sum::<usize>() as f64);
            lost_numbers += e.lost_numbers;
            lost_primes += expected - broker.primes.len();
        }
        let s = |v: &[f64]| Summary::of(v).expect("at least one round");
        ways.push(Compared {
            how,
            shutdown_ns: s(&total),
            after_last_result_ns: s(&tail),
            held: s(&held),
            lost_numbers,
            lost_primes,
        });
    }
    let report = CompareReport {
        machine: Machine::here(),
        workers,
        batch: args.batch,
        from: args.from,
        to: args.to,
        rounds: args.repeats,
        ways,
    };
    if args.json {
        print_json(&report)?;
    } else {
        print_compare(&report);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_compare(r: &CompareReport) {
    println!(
        "Three ways to end {} workers once the queue runs dry, {} rounds each.\n",
        r.workers, r.rounds
    );
    let mut t = Table::new([
        "shutdown",
        "queue dry to all reaped",
        "last result to all reaped",
        "held",
        "lost numbers",
        "lost primes",
    ]);
    for c in &r.ways {
        t.row([
            format!("{:?}", c.how).to_lowercase(),
            human_ns(c.shutdown_ns.median),
            human_ns(c.after_last_result_ns.median),
            format!("{:.0}", c.held.median),
            c.lost_numbers.to_string(),
            c.lost_primes.to_string(),
        ]);
    }
    print!("{t}");
    println!("Times are medians; held and lost are per round and over all rounds.");
}
