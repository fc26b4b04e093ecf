//! What a run searches, in the parent: a number's divisors, or with
//! `--workload fraud` the run's transactions.

use super::SearchArgs;
use crate::clock;
use crate::fraud::{self, Dataset, Scan};
use crate::search::{Case, LocalFlag, Task, Workload, candidates};
use std::ops::Range;
use std::sync::Arc;

/// The work of one run: what every search goes through, item by item.
#[derive(Debug, Clone)]
pub enum Work {
    /// The odd divisors of the number `case` names.
    Divisors { case: Case },
    /// Pairs of adjacent transactions, in a memory file every worker maps.
    Transactions(Arc<Dataset>),
}

impl Work {
    /// The work `args` ask for. Transactions are generated here, in the
    /// parent, once: call it before starting any worker, so that every
    /// worker inherits their memory file.
    pub fn prepare<const K: u64>(args: &SearchArgs<K>) -> anyhow::Result<Work> {
        Ok(match args.workload {
            Workload::Prime => Work::Divisors { case: args.case },
            Workload::Fraud => Work::Transactions(Arc::new(fraud::generate(
                args.transactions,
                args.case,
            )?)),
        })
    }

    /// What a worker needs to map the transactions: the inherited
    /// descriptor's number and the records it holds; nothing for divisors.
    pub fn data_handle(&self) -> Option<(i32, u64)> {
        match self {
            Work::Divisors { .. } => None,
            Work::Transactions(set) => Some((set.raw_fd(), set.data.len())),
        }
    }

    /// The search, as the workers are told it.
    pub fn task(&self) -> Task {
        match self {
            Work::Divisors { case } => Task::Divisors { n: case.number().0 },
            Work::Transactions(set) => Task::Transactions {
                period: set.data.pairs(),
            },
        }
    }

    /// How many items the search goes through.
    pub fn items(&self) -> u64 {
        match self {
            Work::Divisors { case } => candidates(case.number().0),
            Work::Transactions(set) => set.data.pairs(),
        }
    }

    /// Worker `i` of `workers` searches these items: equal slices, in
    /// order, so worker 0 holds the first.
    pub fn share(&self, workers: usize, i: usize) -> Range<u64> {
        let total = u128::from(self.items());
        let (w, i) = (workers as u128, i as u128);
        (total * i / w) as u64..(total * (i + 1) / w) as u64
    }

    /// A search with nothing to find that lasts until the flag stops it, for
    /// every worker in full: for divisors, those of the prime; for
    /// transactions, the pairs before the planted one, round and round.
    pub fn trial(&self) -> (Task, Range<u64>) {
        match self {
            Work::Divisors { .. } => {
                let spin = Case::Prime.number().0;
                (Task::Divisors { n: spin }, 0..candidates(spin))
            }
            Work::Transactions(set) => {
                let clean = set.planted.unwrap_or(set.data.pairs()).max(1);
                (Task::Transactions { period: clean }, 0..u64::MAX)
            }
        }
    }

    /// Times the whole search `repeats` times in this process, with no flag
    /// and no workers: nanoseconds, one value per search.
    pub fn serial(&self, repeats: u32) -> anyhow::Result<Vec<f64>> {
        let data = match self {
            Work::Divisors { .. } => None,
            Work::Transactions(set) => Some(&set.data),
        };
        (0..repeats)
            .map(|_| {
                let t = clock::now_ns();
                // `black_box`: a search whose result nobody reads has no
                // effect, and an optimized build would delete it.
                let task = std::hint::black_box(self.task());
                task.run(data, 0..self.items(), u64::MAX, &LocalFlag::default())
                    .map(|s| {
                        std::hint::black_box(s);
                        (clock::now_ns() - t) as f64
                    })
            })
            .collect()
    }

    /// Fails unless `found` is the known answer: the smallest factor, or
    /// the planted pair. A search that gets it wrong is a bug, never a result.
    pub fn confirm(&self, found: Option<u64>) -> anyhow::Result<()> {
        match self {
            Work::Divisors { case } => case.confirm(found),
            Work::Transactions(set) => Scan::confirm(set.planted, found),
        }
    }

    /// The number searched, or the transactions scanned.
    pub fn n(&self) -> u64 {
        match self {
            Work::Divisors { case } => case.number().0,
            Work::Transactions(set) => set.data.len(),
        }
    }

    /// The factor `found`, if this work has factors.
    pub fn factor(&self, found: Option<u64>) -> Option<u64> {
        match self {
            Work::Divisors { .. } => found,
            Work::Transactions(_) => None,
        }
    }

    /// For transactions: what was scanned and the pair `found`.
    pub fn scan(&self, found: Option<u64>) -> Option<Scan> {
        match self {
            Work::Divisors { .. } => None,
            Work::Transactions(set) => Some(Scan::of(set, found)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::{Outcome, StopFlag};

    fn fraud(case: Case) -> Work {
        Work::Transactions(Arc::new(fraud::generate(10_000, case).unwrap()))
    }

    #[test]
    fn shares_cover_every_item_once() {
        for work in [Work::Divisors { case: Case::Mid }, fraud(Case::Mid)] {
            for workers in [1, 2, 3, 7] {
                let mut next = 0;
                for i in 0..workers {
                    let s = work.share(workers, i);
                    assert_eq!(s.start, next);
                    next = s.end;
                }
                assert_eq!(next, work.items());
            }
        }
    }

    #[test]
    fn a_trial_finds_nothing_and_ends_only_on_the_flag() {
        let work = fraud(Case::Early);
        let Work::Transactions(set) = &work else {
            unreachable!()
        };
        let (task, all) = work.trial();
        // Ten times round the clean pairs: nothing found, nothing exhausted.
        let laps = 10 * set.planted.unwrap();
        let flag = LocalFlag::default();
        let r = task.run(Some(&set.data), 0..laps, 1000, &flag).unwrap();
        assert_eq!((r.outcome, r.checked), (Outcome::Exhausted, laps));
        assert_eq!(all.end, u64::MAX);
        flag.raise().unwrap();
        let r = task.run(Some(&set.data), all, 1000, &flag).unwrap();
        assert_eq!((r.outcome, r.checked), (Outcome::Stopped, 1000));
    }

    #[test]
    fn the_whole_search_finds_the_known_answer_and_nothing_else_passes() {
        let work = fraud(Case::Late);
        let Work::Transactions(set) = &work else {
            unreachable!()
        };
        let flag = LocalFlag::default();
        let r = (work.task())
            .run(Some(&set.data), 0..work.items(), 64, &flag)
            .unwrap();
        assert_eq!(r.outcome, Outcome::Found(set.planted.unwrap()));
        assert!(work.confirm(set.planted).is_ok());
        assert!(work.confirm(None).is_err());
        assert!(work.factor(set.planted).is_none());
        // A worker told to scan before it has the transactions says so.
        assert!(work.task().run(None, 0..10, 64, &flag).is_err());
    }
}
