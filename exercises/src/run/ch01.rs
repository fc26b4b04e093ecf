//! Exercise 1.B's run: the parent hands out numbers one at a time through
//! the student's [`Books`]; one worker dies after a few numbers, holding one.

use super::{let_go, news, role};
use crate::ch01_books::Books;
use std::ops::Range;
use std::time::Instant;
use workers::pool::{Heard, Liveness, Pool, WorkerEnd};
use workers::prime::is_prime;

/// Parent to worker: a number to check.
type Down = u64;
/// Worker to parent: the number, and whether it is prime.
type Up = (u64, bool);

/// Checks `numbers` with `workers` processes; worker `crash` (if any) dies
/// when it receives its `after`-th number. Fails unless the primes counted
/// are the primes in the range.
pub fn parent(
    workers: usize,
    numbers: Range<u64>,
    crash: Option<(usize, u64)>,
) -> anyhow::Result<()> {
    let start = Instant::now();
    let mut pool: Pool<Down, Up> = Pool::spawn(workers, Liveness::default(), |i| {
        let mut args = role("ch01");
        if let Some((w, after)) = crash.filter(|(w, _)| *w == i) {
            let _ = w;
            args.extend(["--crash-after".into(), after.to_string()]);
        }
        args
    })?;
    let mut books = Books::new(numbers.clone());
    let (mut busy, mut alive) = (vec![false; workers], vec![true; workers]);
    loop {
        // Every idle worker that is still alive gets a number.
        for w in 0..workers {
            if alive[w]
                && !busy[w]
                && let Some(n) = books.hand_out(w)
            {
                pool.send(w, n)?;
                busy[w] = true;
            }
        }
        if books.done() {
            break;
        }
        anyhow::ensure!(
            alive.contains(&true),
            "every worker died, and the books are not done"
        );
        anyhow::ensure!(
            busy.contains(&true),
            "no worker holds a number, nothing is left to hand out, yet the \
             books are not done: a number was lost"
        );
        for heard in news(&mut pool, start)? {
            match heard {
                Heard::Message(w, (n, prime)) => {
                    books.result(w, n, prime);
                    busy[w] = false;
                }
                Heard::Gone(w) => {
                    eprintln!(
                        "worker {w} died; what it held goes back to the books"
                    );
                    (alive[w], busy[w]) = (false, false);
                    books.lost(w);
                }
                Heard::Silent(..) => unreachable!("news() fails on silence"),
            }
        }
    }
    let_go(pool)?;
    let expected = numbers.clone().filter(|n| is_prime(*n)).count() as u64;
    let (counted, answered) = (books.primes(), books.answered());
    let total = numbers.end - numbers.start;
    anyhow::ensure!(
        counted == expected && answered == total,
        "answered {answered} numbers and counted {counted} primes, but \
         {numbers:?} holds {total} numbers and {expected} primes: {}",
        if answered < total {
            "some numbers were never checked, or checked but not counted"
        } else {
            "some were counted twice"
        }
    );
    println!(
        "answered all {answered} numbers of {numbers:?} once each: {counted} primes"
    );
    Ok(())
}

/// A worker: checks each number it is sent, until the parent hangs up. It
/// dies (exit status 3) on receiving its `crash_after`-th number.
pub fn worker(
    link: &workers::WorkerArgs,
    crash_after: Option<u64>,
) -> anyhow::Result<()> {
    let end = WorkerEnd::<Up, Down>::connect(link)?;
    let mut received = 0;
    while let Ok(n) = end.down.recv() {
        received += 1;
        if Some(received) == crash_after {
            // Die holding `n`, as a worker killed mid-task would.
            std::process::exit(3);
        }
        end.up.send((n, is_prime(n)))?;
    }
    Ok(())
}
