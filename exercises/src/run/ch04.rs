//! Exercise 4.B's run: worker processes map one shared page and claim
//! numbers from the counter in it with the student's [`claim`], checking
//! each for primality.

use super::{let_go, news, role};
use crate::ch04_claim::claim;
use anyhow::Context;
use memmap2::{MmapOptions, MmapRaw};
use rustix::fs::MemfdFlags;
use serde::{Deserialize, Serialize};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use workers::pool::{Heard, Liveness, Pool, WorkerEnd};
use workers::prime::is_prime;

/// Parent to worker.
#[derive(Debug, Serialize, Deserialize)]
pub enum Down {
    /// Map the page behind inherited descriptor `fd`; claim below `end`.
    Open { fd: RawFd, end: u64 },
    /// Every worker has mapped it: start claiming once `arrived` workers
    /// have, and check each number for primality if `check` (else only
    /// count the claims).
    Go { check: bool, arrived: u64 },
}

/// Worker to parent.
#[derive(Debug, Serialize, Deserialize)]
pub enum Up {
    /// Mapped; waiting for `Go`.
    Ready,
    /// Claimed and checked `checked` numbers, `primes` of them prime.
    Done { checked: u64, primes: u64 },
}

/// The shared counter, and a start line: two `u64`s of a memory file,
/// mapped shared.
struct Shared {
    map: MmapRaw,
}

impl Shared {
    fn map(fd: BorrowedFd<'_>) -> anyhow::Result<Shared> {
        let map = MmapOptions::new()
            .len(16)
            .map_raw(&fd)
            .context("cannot map the shared page")?;
        Ok(Shared { map })
    }

    fn next(&self) -> &AtomicU64 {
        // SAFETY: the mapping is 16 bytes long, page-aligned (so aligned for
        // a u64), valid while `self.map` lives, and every process touches it
        // only through atomics.
        unsafe { AtomicU64::from_ptr(self.map.as_mut_ptr().cast()) }
    }

    /// How many workers have reached the start line, over all rounds.
    fn arrived(&self) -> &AtomicU64 {
        // SAFETY: as for `next`: bytes 8..16 of the 16-byte mapping.
        unsafe { AtomicU64::from_ptr(self.map.as_mut_ptr().add(8).cast()) }
    }
}

/// `workers` workers claim and check every number below `end`; fails unless
/// each number was checked exactly once.
pub fn parent(workers: usize, end: u64) -> anyhow::Result<()> {
    let start = Instant::now();
    // No MFD_CLOEXEC: the workers inherit the descriptor through exec.
    let memory = rustix::fs::memfd_create("exercise-04", MemfdFlags::empty())
        .context("cannot create the shared memory file")?;
    rustix::fs::ftruncate(&memory, 16).context("cannot size the memory file")?;
    let shared = Shared::map(memory.as_fd())?;
    shared.next().store(0, Ordering::Relaxed);
    let mut pool: Pool<Down, Up> =
        Pool::spawn(workers, Liveness::default(), |_| role("ch04"))?;
    for w in 0..workers {
        let fd = memory.as_raw_fd();
        pool.send(w, Down::Open { fd, end })?;
    }
    let mut ready = 0;
    while ready < workers {
        for heard in news(&mut pool, start)? {
            match heard {
                Heard::Message(_, Up::Ready) => ready += 1,
                Heard::Gone(w) => {
                    anyhow::bail!("worker {w} died before it was ready")
                }
                Heard::Message(w, m) => anyhow::bail!("worker {w} sent {m:?}"),
                Heard::Silent(..) => unreachable!("news() fails on silence"),
            }
        }
    }
    // Two rounds: the first claims as fast as it can (no work between two
    // claims, so the claims of different workers collide all the time); the
    // second checks each number claimed.
    let expected = (0..end).filter(|n| is_prime(*n)).count() as u64;
    for (round, check) in [false, true].into_iter().enumerate() {
        shared.next().store(0, Ordering::Relaxed);
        // Released together at a start line in the shared page (a message
        // wakes each worker at its own moment), so that their claims
        // interleave.
        let arrived = (workers * (round + 1)) as u64;
        (0..workers).try_for_each(|w| pool.send(w, Down::Go { check, arrived }))?;
        let (mut done, mut checked, mut primes) = (0, 0u64, 0u64);
        while done < workers {
            for heard in news(&mut pool, start)? {
                match heard {
                    Heard::Message(
                        _,
                        Up::Done {
                            checked: c,
                            primes: p,
                        },
                    ) => {
                        (checked, primes, done) =
                            (checked + c, primes + p, done + 1);
                    }
                    Heard::Gone(w) => {
                        anyhow::bail!("worker {w} died before it finished")
                    }
                    Heard::Message(w, m) => anyhow::bail!("worker {w} sent {m:?}"),
                    Heard::Silent(..) => unreachable!("news() fails on silence"),
                }
            }
        }
        anyhow::ensure!(
            checked == end,
            "the workers claimed {checked} numbers, but 0..{end} holds {end}: \
             some numbers were claimed by two workers{}",
            if check {
                ""
            } else {
                " (claiming as fast as they could)"
            }
        );
        if check {
            anyhow::ensure!(
                primes == expected,
                "the workers found {primes} primes, but 0..{end} holds {expected}"
            );
        }
    }
    let_go(pool)?;
    println!("{end} numbers, each claimed once, twice over; {expected} primes");
    Ok(())
}

/// A worker: maps the page, then on `Go` claims until nothing is left.
pub fn worker(link: &workers::WorkerArgs) -> anyhow::Result<()> {
    let end = WorkerEnd::<Up, Down>::connect(link)?;
    let Ok(Down::Open { fd, end: last }) = end.down.recv() else {
        return Ok(()); // the parent is gone
    };
    // SAFETY: the parent made this descriptor without close-on-exec before
    // starting us, so it is open here, and this process never closes it.
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    let shared = Shared::map(fd)?;
    end.up.send(Up::Ready)?;
    while let Ok(Down::Go { check, arrived }) = end.down.recv() {
        shared.arrived().fetch_add(1, Ordering::Relaxed);
        while shared.arrived().load(Ordering::Relaxed) < arrived {
            // Two cores, four workers: let the others reach the line.
            std::thread::yield_now();
        }
        let (mut checked, mut primes) = (0, 0);
        while let Some(n) = claim(shared.next(), last) {
            checked += 1;
            if check {
                primes += u64::from(is_prime(n));
            }
        }
        end.up.send(Up::Done { checked, primes })?;
    }
    Ok(())
}
