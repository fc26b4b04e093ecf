//! Exercise 4.B: numbers handed out by a counter in shared memory.
//!
//! Chapter 4's racing counter, put to work: worker processes share one
//! `AtomicU64` in a shared page, the next number nobody has claimed yet.
//! Each worker claims a number, checks it, and claims the next, until the
//! range is used up. Every number must be claimed by exactly one worker.
//!
//! The obvious version reads the counter and writes it back plus one:
//!
//! ```text
//! let n = next.load(Ordering::Relaxed);
//! if n >= end { return None; }
//! next.store(n + 1, Ordering::Relaxed);
//! Some(n)
//! ```
//!
//! Two workers that both load `n` before either stores `n + 1` both claim
//! `n`. Write [`claim`] so that each number is claimed exactly once, and
//! never a number at or past `end`. (Try the obvious version first: the
//! test fails on most runs, not on all of them. A race shows up only when
//! two workers happen to interleave at the wrong moment, which is what
//! makes races hard to test.)
//!
//! Check: `cargo test -p exercises -- --ignored ch04`. The test runs
//! `exercises ch04`: worker processes that map one page and claim from it,
//! a first round as fast as they can, a second checking each number.

use std::sync::atomic::AtomicU64;

/// Claims the next unclaimed number from `next`, the counter every worker
/// shares, or `None` once every number below `end` is claimed.
pub fn claim(next: &AtomicU64, end: u64) -> Option<u64> {
    let _ = (next, end);
    todo!("exercise 4.B: claim each number exactly once")
}
