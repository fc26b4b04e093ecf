//! What travels through every queue: a task (a slice of the range) and its
//! result, as typed values and as the three words the pipe and the ring carry.

use std::ops::Range;
use std::time::Duration;
use work_queue::ring::Message;
use workers::prime::is_prime;

// ANCHOR: messages
/// Parent to worker, through whichever queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    /// Check these numbers. `seq` names the task: the parent numbers every
    /// task it sends, from 1, and a result names the task it answers.
    Check { seq: u64, numbers: Range<u64> },
    /// The poison pill: nothing more will come. A variant of its own, so no
    /// task (and no string) can ever be mistaken for it.
    Stop,
}

/// Worker to parent: the primes among one task's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Done {
    /// The task answered.
    pub seq: u64,
    /// The worker that checked it.
    pub worker: u32,
    /// How many of its numbers are prime.
    pub primes: u32,
    /// Their sum, modulo 2^64.
    pub sum: u64,
}
// ANCHOR_END: messages

impl Job {
    /// As three words: `[seq, first, end]`, the pill as all zeros (no task
    /// has sequence number 0).
    pub fn encode(&self) -> Message {
        match self {
            Job::Check { seq, numbers } => [*seq, numbers.start, numbers.end],
            Job::Stop => [0; 3],
        }
    }

    pub fn decode([seq, start, end]: Message) -> Job {
        match seq {
            0 => Job::Stop,
            seq => Job::Check {
                seq,
                numbers: start..end,
            },
        }
    }
}

impl Done {
    /// As three words: `[seq, worker << 32 | primes, sum]`.
    pub fn encode(&self) -> Message {
        [
            self.seq,
            u64::from(self.worker) << 32 | u64::from(self.primes),
            self.sum,
        ]
    }

    /// The result in `msg`, or `None` for the filler a lost worker's
    /// half-written slot is given (sequence number 0).
    pub fn decode([seq, who, sum]: Message) -> Option<Done> {
        (seq != 0).then_some(Done {
            seq,
            worker: (who >> 32) as u32,
            primes: who as u32,
            sum,
        })
    }
}

// ANCHOR: check
/// The work itself: the primes among `numbers`, counted and summed.
/// `delay` is slept per number (only `--slow-worker` sets it).
pub fn check(numbers: Range<u64>, delay: Duration) -> (u32, u64) {
    let (mut primes, mut sum) = (0u32, 0u64);
    for n in numbers {
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
        if is_prime(n) {
            primes += 1;
            sum = sum.wrapping_add(n);
        }
    }
    (primes, sum)
}
// ANCHOR_END: check
