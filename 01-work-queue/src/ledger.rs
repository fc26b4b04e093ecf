//! The parent's books for one round, the same for every queue: which numbers
//! are still to send, which tasks are out, and what came back.
//!
//! Tasks are cut from the range as they are needed, so a run over ten million
//! numbers holds only the tasks in flight, never the whole range.

use crate::task::Done;
use std::collections::{BTreeMap, VecDeque};
use std::ops::Range;

/// What one round's results add up to.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Numbers each worker checked (counted once).
    pub tasks: Vec<u64>,
    /// Primes each worker found (counted once).
    pub found: Vec<u64>,
    /// Primes found in all.
    pub primes: u64,
    /// Their sum, modulo 2^64.
    pub sum: u64,
    /// Tasks whose result came back twice (sent again after a loss); the
    /// second result is not counted.
    pub rechecked: u64,
}

/// A task taken from the books, to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub seq: u64,
    pub numbers: Range<u64>,
}

#[derive(Debug)]
pub struct Ledger {
    /// Numbers not yet cut into tasks.
    rest: Range<u64>,
    /// Numbers per task.
    batch: u64,
    /// Tasks lost with a worker: sent again before any new one.
    again: VecDeque<Range<u64>>,
    /// Tasks sent whose result has not come back, by sequence number.
    out: BTreeMap<u64, Range<u64>>,
    /// The sequence number of the last task sent. Numbers go on from one
    /// round to the next, never starting again: a late answer from an
    /// earlier round then names no task of this one.
    last_seq: u64,
    pub tally: Tally,
}

impl Ledger {
    /// The books for one round over `numbers`, `batch` per task, numbering
    /// tasks on from `after` (the last number of the round before, or 0).
    pub fn new(
        numbers: Range<u64>,
        batch: u32,
        workers: usize,
        after: u64,
    ) -> Ledger {
        Ledger {
            rest: numbers,
            batch: u64::from(batch),
            again: VecDeque::new(),
            out: BTreeMap::new(),
            last_seq: after,
            tally: Tally {
                tasks: vec![0; workers],
                found: vec![0; workers],
                ..Tally::default()
            },
        }
    }

    /// The next task to send, a lost one first, or `None` when every number
    /// has been sent. It counts as out from now on.
    pub fn next(&mut self) -> Option<Task> {
        let numbers = self.again.pop_front().or_else(|| {
            let start = self.rest.start;
            let end = start.saturating_add(self.batch).min(self.rest.end);
            self.rest.start = end;
            (start < end).then_some(start..end)
        })?;
        self.last_seq += 1;
        self.out.insert(self.last_seq, numbers.clone());
        Some(Task {
            seq: self.last_seq,
            numbers,
        })
    }

    /// Takes back a task from `next` that could not be sent (the queue was
    /// full): it will be the next one out, under a new number.
    pub fn unsend(&mut self, task: Task) {
        self.out.remove(&task.seq);
        self.again.push_front(task.numbers);
    }

    /// The number of the last task sent: where the next round goes on from.
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// Counts a result, if its task is out; a task already answered (sent
    /// twice after a loss, perhaps in an earlier round) is counted once.
    /// Returns the numbers the task held, or an error for a result that
    /// answers no task ever sent (a bug, or a corrupted message).
    pub fn done(&mut self, d: &Done) -> anyhow::Result<u64> {
        let Some(numbers) = self.out.remove(&d.seq) else {
            anyhow::ensure!(
                d.seq <= self.last_seq && d.seq > 0,
                "worker {} answered task {}, which was never sent",
                d.worker,
                d.seq
            );
            self.tally.rechecked += 1;
            return Ok(0);
        };
        let w = d.worker as usize;
        anyhow::ensure!(
            w < self.tally.tasks.len()
                && u64::from(d.primes) <= numbers.end - numbers.start,
            "a result for task {} is corrupt (worker {w}, {} primes)",
            d.seq,
            d.primes
        );
        let n = numbers.end - numbers.start;
        self.tally.tasks[w] += n;
        self.tally.found[w] += u64::from(d.primes);
        self.tally.primes += u64::from(d.primes);
        self.tally.sum = self.tally.sum.wrapping_add(d.sum);
        Ok(n)
    }

    /// Marks task `seq` lost, if it is still out: its numbers go back on the
    /// queue. Returns how many numbers that was.
    pub fn lose(&mut self, seq: u64) -> u64 {
        match self.out.remove(&seq) {
            Some(numbers) => {
                let n = numbers.end - numbers.start;
                self.again.push_back(numbers);
                n
            }
            None => 0,
        }
    }

    /// Tasks out, oldest first.
    pub fn out(&self) -> impl Iterator<Item = u64> + '_ {
        self.out.keys().copied()
    }

    /// How many tasks are out.
    pub fn out_len(&self) -> usize {
        self.out.len()
    }

    /// Numbers not yet checked: out, lost, or never sent.
    pub fn unchecked(&self) -> u64 {
        let width = |r: &Range<u64>| r.end - r.start;
        self.out.values().map(width).sum::<u64>()
            + self.again.iter().map(width).sum::<u64>()
            + width(&self.rest)
    }

    /// Numbers remain to be sent (lost ones, or never sent).
    pub fn has_more(&self) -> bool {
        !self.again.is_empty() || !self.rest.is_empty()
    }

    /// Every number sent and its result counted.
    pub fn finished(&self) -> bool {
        self.out.is_empty() && self.again.is_empty() && self.rest.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(seq: u64, primes: u32, sum: u64) -> Done {
        Done {
            seq,
            worker: 0,
            primes,
            sum,
        }
    }

    #[test]
    fn cuts_the_range_as_needed_and_counts_each_task_once() {
        let mut l = Ledger::new(10..15, 2, 1, 0);
        let a = l.next().unwrap();
        assert_eq!(a.numbers, 10..12);
        let b = l.next().unwrap();
        let c = l.next().unwrap();
        assert_eq!(c.numbers, 14..15);
        assert_eq!(l.next(), None);
        l.done(&done(a.seq, 1, 11)).unwrap();
        // b is lost and sent again under a new number; then both answer.
        assert_eq!(l.lose(b.seq), 2);
        let b2 = l.next().unwrap();
        assert_eq!(b2.numbers, 12..14);
        l.done(&done(b2.seq, 1, 13)).unwrap();
        l.done(&done(b.seq, 1, 13)).unwrap();
        l.done(&done(c.seq, 0, 0)).unwrap();
        assert!(l.finished());
        assert_eq!((l.tally.primes, l.tally.sum, l.tally.rechecked), (2, 24, 1));
        assert!(l.done(&done(99, 0, 0)).is_err());
    }
}
