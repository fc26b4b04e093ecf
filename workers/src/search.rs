//! Cooperative early-exit search: the loop every flag chapter shares.
//!
//! Is a large number composite? Trial division by every odd divisor up to its
//! square root, the divisors split among the workers. The first worker to
//! find a factor raises the stop flag; the others look at the flag every
//! `check_every` candidates and give up. Finding a factor stands in for the
//! text's "fraud found" (and `--workload fraud` runs the same loop over real
//! transactions: see [`crate::fraud`]). Only the flag differs between
//! chapters, so the loop is written once, over the [`StopFlag`] trait.

use crate::fraud::Transactions;
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::ops::Range;

// ANCHOR: stop_flag
/// A flag every worker can see: raised once, by whoever finds the answer.
pub trait StopFlag {
    /// Has anyone raised the flag? Called every `check_every` candidates.
    fn is_set(&self) -> anyhow::Result<bool>;
    /// Raise the flag: every worker should stop.
    fn raise(&self) -> anyhow::Result<()>;
    /// Lower it again, in the parent between two searches. (A search itself
    /// only ever raises it: the flag flips one way while anyone looks.)
    fn lower(&self) -> anyhow::Result<()>;
}
// ANCHOR_END: stop_flag

/// The numbers to search, chosen for where their smallest factor lies.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Case {
    /// A prime near 10^17: nobody finds anything, so every check is pure
    /// overhead. (The first prime of *High Performance Python*'s timings.)
    /// With `--workload fraud`: no fraud planted.
    #[value(alias = "none")]
    Prime,
    /// Smallest factor at 55% of the divisor range: early in the second half.
    Early,
    /// Smallest factor at 75%: midway through the second half.
    Mid,
    /// Smallest factor at 95%: late in the second half.
    Late,
}

impl Case {
    /// Every case, in order.
    pub const ALL: [Case; 4] = [Case::Prime, Case::Early, Case::Mid, Case::Late];

    /// The number to factor, and its smallest factor (none for the prime).
    pub fn number(self) -> (u64, Option<u64>) {
        match self {
            Case::Prime => (100_109_100_129_100_151, None),
            Case::Early => (174_020_123 * 575_273_191, Some(174_020_123)),
            Case::Mid => (237_300_191 * 421_866_919, Some(237_300_191)),
            Case::Late => (300_580_211 * 333_052_877, Some(300_580_211)),
        }
    }

    /// Fails unless `found` is this case's known smallest factor (or none
    /// for the prime): a search that gets it wrong is a bug, never a result.
    pub fn confirm(self, found: Option<u64>) -> anyhow::Result<()> {
        let known = self.number().1;
        anyhow::ensure!(
            found == known,
            "found {found:?} but the smallest factor is {known:?}: a bug"
        );
        Ok(())
    }

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Case::Prime => "prime",
            Case::Early => "early",
            Case::Mid => "mid",
            Case::Late => "late",
        }
    }
}

/// The odd candidate divisor number `k`: 3, 5, 7, ...
pub fn candidate(k: u64) -> u64 {
    3 + 2 * k
}

/// How many odd candidates 3, 5, ..., up to √n there are.
pub fn candidates(n: u64) -> u64 {
    match n.isqrt() {
        r if r < 3 => 0,
        r => (r - 3) / 2 + 1,
    }
}

/// Worker `i` of `workers` searches these candidate numbers: equal slices,
/// in order, so worker 0 holds the smallest divisors.
pub fn share(n: u64, workers: usize, i: usize) -> Range<u64> {
    let total = u128::from(candidates(n));
    let (w, i) = (workers as u128, i as u128);
    (total * i / w) as u64..(total * (i + 1) / w) as u64
}

/// How a worker's search ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// It found this factor (and raised the flag).
    Found(u64),
    /// It saw the flag raised by someone else.
    Stopped,
    /// It searched its whole share and found nothing.
    Exhausted,
}

/// What one search did: how it ended and how many candidates it tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Searched {
    pub outcome: Outcome,
    /// Candidates divided, including those after the flag was raised.
    pub checked: u64,
    /// Times the flag was looked at.
    pub checks: u64,
}

// ANCHOR: search
/// Goes through items `ks` in order, `check_every` at a time, and looks at
/// `flag` after each batch. `find` searches one batch: the first item in it
/// that is the answer, with what was found there.
#[inline]
pub fn search_with(
    ks: Range<u64>,
    check_every: u64,
    flag: &impl StopFlag,
    mut find: impl FnMut(Range<u64>) -> Option<(u64, u64)>,
) -> anyhow::Result<Searched> {
    let (start, mut k, mut checks) = (ks.start, ks.start, 0);
    while k < ks.end {
        // Work without looking up: this inner loop is the computation.
        let end = k.saturating_add(check_every).min(ks.end);
        if let Some((at, found)) = find(k..end) {
            flag.raise()?;
            return Ok(Searched {
                outcome: Outcome::Found(found),
                checked: at + 1 - start,
                checks,
            });
        }
        k = end;
        // Then talk: one look at the shared flag.
        checks += 1;
        if flag.is_set()? {
            let checked = k - start;
            return Ok(Searched {
                outcome: Outcome::Stopped,
                checked,
                checks,
            });
        }
    }
    Ok(Searched {
        outcome: Outcome::Exhausted,
        checked: k - start,
        checks,
    })
}

/// Tries the candidates `ks` as divisors of `n`, looking at `flag` after every
/// `check_every` of them.
pub fn search(
    n: u64,
    ks: Range<u64>,
    check_every: u64,
    flag: &impl StopFlag,
) -> anyhow::Result<Searched> {
    search_with(ks, check_every, flag, |batch| {
        batch
            .map(|k| (k, candidate(k)))
            .find(|&(_, d)| n.is_multiple_of(d))
    })
}
// ANCHOR_END: search

/// What a run searches: `--workload`.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    /// Is a large number prime? Each item is a division.
    #[default]
    Prime,
    /// Scan card transactions for fraud: each item is a few compares on
    /// bytes read from memory.
    Fraud,
}

/// What one search goes through, as the parent tells a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Task {
    /// Odd candidate divisors of `n`: item `k` is `3 + 2k`.
    Divisors { n: u64 },
    /// The run's transactions: item `k` is the pair of records `k % period`
    /// and the one after it (see [`crate::fraud::Transactions::find`]).
    Transactions { period: u64 },
}

impl Task {
    /// Runs this search over items `ks`, looking at `flag` every
    /// `check_every` items; `data` is the run's transactions, which
    /// [`Task::Transactions`] needs.
    pub fn run(
        self,
        data: Option<&Transactions>,
        ks: Range<u64>,
        check_every: u64,
        flag: &impl StopFlag,
    ) -> anyhow::Result<Searched> {
        match self {
            Task::Divisors { n } => search(n, ks, check_every, flag),
            Task::Transactions { period } => {
                let data = data.context("no transactions were loaded")?;
                search_with(ks, check_every, flag, |batch| data.find(batch, period))
            }
        }
    }
}

/// A flag in this process's own memory: the floor every shared flag is
/// measured against, and the "flag" of a serial run.
#[derive(Debug, Default)]
pub struct LocalFlag(std::sync::atomic::AtomicU8);

// `#[inline]`: without it this crate's functions are calls from the chapter
// crates, and the floor would include a call that the shared flags do not pay.
impl StopFlag for LocalFlag {
    #[inline]
    fn is_set(&self) -> anyhow::Result<bool> {
        Ok(self.0.load(std::sync::atomic::Ordering::Relaxed) != 0)
    }
    #[inline]
    fn raise(&self) -> anyhow::Result<()> {
        self.0.store(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
    fn lower(&self) -> anyhow::Result<()> {
        self.0.store(0, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prime::is_prime;

    #[test]
    fn every_case_is_what_it_claims() {
        for case in Case::ALL {
            let (n, factor) = case.number();
            match factor {
                None => assert!(is_prime(n), "{n} should be prime"),
                Some(p) => {
                    let q = n / p;
                    assert_eq!(p * q, n);
                    assert!(is_prime(p) && is_prime(q) && p < q, "{n} = {p} x {q}");
                }
            }
        }
    }

    #[test]
    fn only_the_known_factor_is_confirmed() {
        assert!(Case::Prime.confirm(None).is_ok());
        assert!(Case::Early.confirm(Some(174_020_123)).is_ok());
        assert!(Case::Early.confirm(Some(3)).is_err());
        assert!(Case::Mid.confirm(None).is_err());
    }

    #[test]
    fn composite_factors_sit_where_their_names_say() {
        for (case, at) in
            [(Case::Early, 0.55), (Case::Mid, 0.75), (Case::Late, 0.95)]
        {
            let (n, Some(p)) = case.number() else {
                unreachable!()
            };
            let position = p as f64 / n.isqrt() as f64;
            assert!((position - at).abs() < 0.001, "{case:?} at {position}");
        }
    }

    #[test]
    fn shares_cover_every_candidate_once() {
        let n = Case::Prime.number().0;
        for workers in [1, 2, 3, 7] {
            let mut next = 0;
            for i in 0..workers {
                let s = share(n, workers, i);
                assert_eq!(s.start, next);
                next = s.end;
            }
            assert_eq!(next, candidates(n));
        }
        assert!(candidate(candidates(n) - 1) <= n.isqrt());
        assert!(candidate(candidates(n)) > n.isqrt());
    }

    #[test]
    fn search_finds_the_factor_and_raises_the_flag() {
        let flag = LocalFlag::default();
        let n = 1_000_003 * 1_000_033; // both prime
        let all = 0..candidates(n);
        let r = search(n, all, 1000, &flag).unwrap();
        assert_eq!(r.outcome, Outcome::Found(1_000_003));
        assert_eq!(r.checked, (1_000_003 - 3) / 2 + 1);
        assert!(flag.is_set().unwrap());
    }

    #[test]
    fn search_stops_at_the_next_check_once_the_flag_is_up() {
        let flag = LocalFlag::default();
        flag.raise().unwrap();
        let n = Case::Prime.number().0;
        let r = search(n, 0..candidates(n), 500, &flag).unwrap();
        assert_eq!((r.outcome, r.checked, r.checks), (Outcome::Stopped, 500, 1));
    }

    #[test]
    fn search_without_a_factor_exhausts_its_share() {
        let flag = LocalFlag::default();
        let n = 1_000_003u64 * 1_000_033;
        let r = search(n, 0..1000, 64, &flag).unwrap();
        assert_eq!((r.outcome, r.checked), (Outcome::Exhausted, 1000));
        assert_eq!(r.checks, 1000_u64.div_ceil(64));
    }
}
