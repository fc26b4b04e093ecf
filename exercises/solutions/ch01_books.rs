//! Exercise 1.B, solved: books that survive a crashed worker.
//!
//! The books remember which worker holds which number. A dead worker's
//! numbers go back on a queue that is served before the rest of the range;
//! an answered number is remembered, so a second answer for it (from a
//! worker that was judged dead but had answered after all) is ignored.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ops::Range;

/// The parent's books for one run over a range of numbers.
#[derive(Debug)]
pub struct Books {
    /// Numbers not yet handed out.
    rest: Range<u64>,
    /// Numbers lost with a worker: handed out again before any new one.
    again: VecDeque<u64>,
    /// Numbers out, and which worker holds each.
    out: BTreeMap<u64, usize>,
    /// Numbers answered: a second answer for one of them is not counted.
    seen: BTreeSet<u64>,
    /// Numbers answered so far.
    answered: u64,
    /// Primes counted so far.
    primes: u64,
}

impl Books {
    /// Books for checking every number of `numbers`.
    pub fn new(numbers: Range<u64>) -> Books {
        Books {
            rest: numbers,
            again: VecDeque::new(),
            out: BTreeMap::new(),
            seen: BTreeSet::new(),
            answered: 0,
            primes: 0,
        }
    }

    /// The next number for `worker` to check, a lost one first, or `None`
    /// when nothing is left to hand out. The number counts as held by
    /// `worker` until its result comes back.
    pub fn hand_out(&mut self, worker: usize) -> Option<u64> {
        let number = self.again.pop_front().or_else(|| self.rest.next())?;
        self.out.insert(number, worker);
        Some(number)
    }

    /// `worker` says whether `number` is prime. Counted once, whoever
    /// answers and however often.
    pub fn result(&mut self, _worker: usize, number: u64, prime: bool) {
        // Whoever held it, it is answered now; if it had been lost and
        // queued again, the queued copy is no longer needed.
        self.out.remove(&number);
        self.again.retain(|n| *n != number);
        if self.seen.insert(number) {
            self.answered += 1;
            self.primes += u64::from(prime);
        }
    }

    /// `worker` died: whatever it held goes back, to be handed out again.
    pub fn lost(&mut self, worker: usize) {
        let held: Vec<u64> = (self.out.iter())
            .filter(|(_, w)| **w == worker)
            .map(|(n, _)| *n)
            .collect();
        for n in held {
            self.out.remove(&n);
            self.again.push_back(n);
        }
    }

    /// Has every number been handed out and answered?
    pub fn done(&self) -> bool {
        self.rest.is_empty() && self.again.is_empty() && self.out.is_empty()
    }

    /// How many different numbers were answered.
    pub fn answered(&self) -> u64 {
        self.answered
    }

    /// How many primes were counted.
    pub fn primes(&self) -> u64 {
        self.primes
    }
}
