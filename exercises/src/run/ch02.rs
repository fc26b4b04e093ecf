//! Exercise 2.B's run: two producer processes feed one stage process (the
//! student's [`Merge`]), which passes primes and the pill on to the parent.
//!
//! Producer 1 starts only once producer 0 has sent everything, pill
//! included, so the stage always meets producer 0's pill before producer
//! 1's numbers: the order in which a stage that trusts the first pill loses
//! them.

use super::{let_go, news, role};
use crate::ch02_merge::{Item, Merge};
use ipc_channel::ipc::{self, IpcReceiver, IpcSender};
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::time::Instant;
use workers::pool::{Heard, Liveness, Pool, WorkerEnd};
use workers::prime::is_prime;

/// Parent to worker: which part to play.
#[derive(Debug, Serialize, Deserialize)]
pub enum Down {
    /// Send every number of `numbers` to `out`, then a pill.
    Produce {
        numbers: Range<u64>,
        out: IpcSender<Item>,
    },
    /// Read `input`, fed by `upstream` producers; pass on the primes and
    /// what [`Merge`] says.
    Stage {
        input: IpcReceiver<Item>,
        upstream: usize,
    },
}

/// Worker to parent.
#[derive(Debug, Serialize, Deserialize)]
pub enum Up {
    /// A producer sent all it had, and its pill.
    Sent,
    /// The stage passed this on.
    Passed(Item),
}

/// The stage is worker 2; producers 0 and 1 split `numbers` in two.
pub fn parent(numbers: Range<u64>) -> anyhow::Result<()> {
    let start = Instant::now();
    let mut pool: Pool<Down, Up> =
        Pool::spawn(3, Liveness::default(), |_| role("ch02"))?;
    let half = numbers.start + (numbers.end - numbers.start) / 2;
    let parts = [numbers.start..half, half..numbers.end];
    let (tx, rx) = ipc::channel::<Item>()?;
    pool.send(
        2,
        Down::Stage {
            input: rx,
            upstream: 2,
        },
    )?;
    // The parent keeps no sender: once both producers are done with theirs,
    // the stage's input reports closed.
    let mut senders = [Some(tx.clone()), Some(tx)];
    let mut next = 0;
    let (mut passed, mut pill, mut sent) = (0u64, false, [false, false]);
    let produce = |pool: &mut Pool<Down, Up>, p: usize, out| {
        pool.send(
            p,
            Down::Produce {
                numbers: parts[p].clone(),
                out,
            },
        )
    };
    produce(&mut pool, 0, senders[0].take().expect("unused"))?;
    next += 1;
    while !pill || !sent.iter().all(|s| *s) {
        for heard in news(&mut pool, start)? {
            match heard {
                Heard::Message(p @ (0 | 1), Up::Sent) => {
                    sent[p] = true;
                    if next == 1 {
                        produce(&mut pool, 1, senders[1].take().expect("unused"))?;
                        next += 1;
                    }
                }
                Heard::Message(2, Up::Passed(Item::Number(_))) => {
                    anyhow::ensure!(
                        !pill,
                        "the stage passed a number after the pill"
                    );
                    passed += 1;
                }
                Heard::Message(2, Up::Passed(Item::Pill)) => pill = true,
                Heard::Gone(2) if !pill => {
                    anyhow::bail!("the stage ended without passing the pill on")
                }
                // A producer whose stage is gone cannot send: it ends, and
                // what it held never reaches anyone.
                Heard::Gone(p @ (0 | 1)) if !sent[p] => {
                    eprintln!("producer {p} ended before it sent everything");
                    sent[p] = true;
                }
                Heard::Gone(_) => {}
                Heard::Message(w, m) => anyhow::bail!("worker {w} sent {m:?}"),
                Heard::Silent(..) => unreachable!("news() fails on silence"),
            }
        }
    }
    let_go(pool)?;
    let expected = numbers.clone().filter(|n| is_prime(*n)).count() as u64;
    anyhow::ensure!(
        passed == expected,
        "the stage passed on {passed} primes before its pill, but \
         {numbers:?} holds {expected}: the pill went on while a producer \
         still had numbers to send"
    );
    println!(
        "the stage passed on all {passed} primes of {numbers:?}, then one pill"
    );
    Ok(())
}

/// A worker: a producer or the stage, as its first order says.
pub fn worker(link: &workers::WorkerArgs) -> anyhow::Result<()> {
    let end = WorkerEnd::<Up, Down>::connect(link)?;
    let Ok(order) = end.down.recv() else {
        return Ok(()); // the parent is gone
    };
    match order {
        Down::Produce { numbers, out } => {
            for n in numbers {
                send(&out, Item::Number(n))?;
            }
            send(&out, Item::Pill)?;
            end.up.send(Up::Sent)?;
        }
        Down::Stage { input, upstream } => {
            let mut merge = Merge::new(upstream);
            loop {
                let item = input.recv().map_err(|e| {
                    anyhow::anyhow!(
                        "the stage's input closed before its pill ({e:?})"
                    )
                })?;
                // The stage's own work: only primes go on.
                if let Item::Number(n) = item
                    && !is_prime(n)
                {
                    continue;
                }
                if let Some(out) = merge.on(item) {
                    end.up.send(Up::Passed(out))?;
                    if out == Item::Pill {
                        break;
                    }
                }
            }
        }
    }
    // Wait for the parent to let go.
    while end.down.recv().is_ok() {}
    Ok(())
}

fn send(out: &IpcSender<Item>, item: Item) -> anyhow::Result<()> {
    out.send(item)
        .map_err(|e| anyhow::anyhow!("the stage is gone ({e:?})"))
}
