//! `--join-first`: the text's order. The parent waits for every worker to
//! exit, and only then reads the results; once the results outgrow the
//! channel, that deadlocks.
//!
//! Run it: `cargo run --bin 02-poison-pill -- --join-first`, and with more
//! primes than a channel holds:
//! `cargo run --bin 02-poison-pill -- --join-first --from 1000000 --to 1100000`
//!
//! A Linux socket keeps unread messages in its send buffer, whose limit is
//! counted in bytes (each small message costing far more than its own bytes
//! in kernel bookkeeping), not in messages. Once it is full, the worker's
//! `send` blocks until someone reads. The parent reads only
//! after the worker has exited, and the worker cannot exit until its send
//! completes. Only the deadline breaks the wait. The cure is the order of
//! `Broker::shut_down` in main.rs: read everything first, and reap last.

use crate::broker::Broker;
use crate::cli::RunArgs;
use crate::{Job, Reply};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use workers::pool::{Exit, Heard};
use workers::prime::is_prime;
use workers::report::human_ns;

// ANCHOR: join_first
/// `--join-first`: the text's order. Each worker gets its whole share and its
/// pill at once; the parent waits for them all to exit, and only then reads.
pub fn run(args: &RunArgs, workers: usize) -> anyhow::Result<ExitCode> {
    let mut broker = Broker::start(workers, None, args.liveness)?;
    let numbers: Vec<u64> = (args.from..args.to).collect();
    for w in 0..workers {
        let share = numbers
            [numbers.len() * w / workers..numbers.len() * (w + 1) / workers]
            .to_vec();
        broker.held[w].push_back(share.clone());
        broker.pool.send(w, Job::Check(share))?;
        broker.pool.send(w, Job::Stop)?;
    }
    // Join first, reading nothing. A worker whose results do not fit in its
    // channel blocks in `send` until someone reads, so it never exits.
    let deadline = Duration::from_millis(args.deadline_ms);
    let give_up = Instant::now() + deadline;
    let mut blocked = Vec::new();
    for w in 0..workers {
        let left = give_up.saturating_duration_since(Instant::now());
        if broker.pool.reap(w, left)? == Exit::Overstayed {
            blocked.push(w);
        }
    }
    // ANCHOR_END: join_first
    // Read what the channels still hold: a dead process's messages stay
    // readable until its channel reports closed.
    let mut read = 0;
    while (0..workers).any(|w| !broker.gone[w]) {
        for heard in broker.pool.wait(Duration::from_millis(100))? {
            read += usize::from(matches!(heard, Heard::Message(_, Reply::Prime(_))));
            broker.hear(heard, None)?;
        }
    }
    let expected = numbers.iter().filter(|&&n| is_prime(n)).count();
    println!(
        "Checked {}..{} with {workers} workers, each sent its whole share and its pill \
         at once.\nThe parent then waited for every worker to exit, reading nothing.\n",
        args.from, args.to
    );
    if blocked.is_empty() {
        println!(
            "Every worker exited: its {} or so results fit in the channel unread.\n\
             Read afterwards: {read} of {expected} primes.\n\n\
             Verdict: no deadlock, this time. Try a range with more primes, such as\n\
             --from 1000000 --to 1100000.",
            expected / workers,
        );
        Ok(ExitCode::SUCCESS)
    } else {
        let names: Vec<String> = blocked.iter().map(usize::to_string).collect();
        let who = if blocked.len() > 1 {
            "workers"
        } else {
            "worker"
        };
        println!(
            "After {} {who} {} had not exited: each was blocked sending results\n\
             that nobody read, while the parent waited for it to exit. That is a\n\
             deadlock; only the deadline broke it (and killed the worker, so its\n\
             unread results are all that is left). Read afterwards: {} of {expected} primes.\n\n\
             Verdict: DEADLOCK. Drain the results before you join.",
            human_ns(deadline.as_nanos() as f64),
            names.join(", "),
            read
        );
        Ok(ExitCode::FAILURE)
    }
}
