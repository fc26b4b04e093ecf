//! Exercise 4.B, solved: numbers handed out by a counter in shared memory.
//!
//! `fetch_add` reads and writes the counter in one indivisible step (on
//! x86-64 a `lock xadd`): no two workers can get the same value. A worker
//! that gets a value at or past `end` has claimed nothing; the counter may
//! run past `end` by at most one per worker, which is harmless.

use std::sync::atomic::{AtomicU64, Ordering};

/// Claims the next unclaimed number from `next`, the counter every worker
/// shares, or `None` once every number below `end` is claimed.
pub fn claim(next: &AtomicU64, end: u64) -> Option<u64> {
    // Relaxed suffices: the number itself is all a worker needs, and no
    // other memory is published through the counter.
    let n = next.fetch_add(1, Ordering::Relaxed);
    (n < end).then_some(n)
}
