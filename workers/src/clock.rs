//! A clock that every process of one run can compare.
//!
//! `std::time::Instant` is monotonic but opaque: one process cannot hand its
//! reading to another. `CLOCK_MONOTONIC` is the same clock for every process on
//! the machine, so a worker can stamp "I stopped at t" and the parent can
//! subtract the moment it set a flag.

use rustix::time::{ClockId, clock_gettime};

/// Nanoseconds on `CLOCK_MONOTONIC`: comparable across processes on one machine.
pub fn now_ns() -> u64 {
    let t = clock_gettime(ClockId::Monotonic);
    // The monotonic clock counts from boot: both fields are non-negative.
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_goes_back_and_tracks_instant() {
        let (a, start) = (now_ns(), std::time::Instant::now());
        std::thread::sleep(std::time::Duration::from_millis(20));
        let (b, elapsed) = (now_ns(), start.elapsed());
        assert!(b > a);
        // Both clocks measured the same sleep; they agree within a millisecond.
        let diff = (b - a).abs_diff(elapsed.as_nanos() as u64);
        assert!(diff < 1_000_000, "clocks disagree by {diff} ns");
    }
}
