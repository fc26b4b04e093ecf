//! Exercise 1.B: books that survive a crashed worker.
//!
//! The parent hands out numbers one at a time and counts the primes that come
//! back. These books are the naive ones: a number handed out is forgotten, so
//! when a worker dies holding one, that number is never checked. Make them
//! keep track of what each worker holds, so that
//!
//! - a number held by a worker that died ([`Books::lost`]) is handed out
//!   again, before any new one;
//! - a result counts once, even when the same number comes back twice (a
//!   worker judged dead may have answered after all);
//! - [`Books::done`] is true only when every number has been answered.
//!
//! Check: `cargo test -p exercises -- --ignored ch01`. The test runs
//! `exercises ch01`: real worker processes, one of which dies on purpose.

use std::ops::Range;

/// The parent's books for one run over a range of numbers.
#[derive(Debug)]
pub struct Books {
    /// Numbers not yet handed out.
    rest: Range<u64>,
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
            answered: 0,
            primes: 0,
        }
    }

    /// The next number for `worker` to check, or `None` when nothing is left
    /// to hand out. The number counts as held by `worker` until its result
    /// comes back.
    pub fn hand_out(&mut self, worker: usize) -> Option<u64> {
        let _ = worker;
        self.rest.next()
    }

    /// `worker` says whether `number` is prime.
    pub fn result(&mut self, worker: usize, number: u64, prime: bool) {
        let _ = (worker, number);
        self.answered += 1;
        self.primes += u64::from(prime);
    }

    /// `worker` died: whatever it held must be checked by someone else.
    pub fn lost(&mut self, worker: usize) {
        let _ = worker;
    }

    /// Has every number been handed out and answered?
    pub fn done(&self) -> bool {
        self.rest.is_empty()
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
