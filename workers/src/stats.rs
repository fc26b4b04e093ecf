//! Statistics over repeated measurements: a median with its spread, and the
//! one rule by which two measured figures are compared.
//!
//! One timing on a shared, noisy machine says little. The book shows the median
//! of several repeats beside the minimum, the maximum and (for many samples) the
//! 99th percentile, so a reader sees how much a figure moves. A [`Summary`]
//! keeps the samples it summarizes, so that two figures can be compared by all
//! of them ([`Summary::compare`]), and a measured file can be summarized again.

use serde::{Deserialize, Serialize};

/// The confidence of every verdict: a difference is claimed only when the
/// interval that holds the true shift 99 times in 100 excludes zero. 99, not
/// the usual 95: the book draws dozens of verdicts from each measurement run,
/// and at 95 one in twenty differences that is not there would be claimed.
pub const CONFIDENCE: f64 = 0.99;

/// The smallest difference a verdict claims, as a share of the larger of
/// the two medians (the larger, so that comparing a with b and b with a
/// agree). The repeats of one run vary less than two runs do: on
/// the book's machine, the median of the same prime search without a flag
/// (serial, or parallel and never looking; chapters 3 to 7) moved by up to
/// 5% between runs of `cargo xtask measure`, so a smaller difference,
/// however sure within one run, would not survive the next.
pub const SMALLEST_EFFECT: f64 = 0.05;

/// Summary of repeated measurements of one quantity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// How many samples were taken.
    pub n: usize,
    /// The middle sample (mean of the two middle ones for an even count).
    pub median: f64,
    /// The smallest sample: the best the machine managed.
    pub min: f64,
    /// The largest sample: how bad noise got.
    pub max: f64,
    /// Nearest-rank 99th percentile: a tail that ignores one freak sample in 100.
    pub p99: f64,
    /// The samples themselves, in the order they were taken.
    pub samples: Vec<f64>,
}

impl Summary {
    /// Summarizes `samples`; `None` when there are none or one is not a
    /// finite number.
    pub fn of(samples: &[f64]) -> Option<Summary> {
        if samples.is_empty() || samples.iter().any(|s| !s.is_finite()) {
            return None;
        }
        let mut s = samples.to_vec();
        s.sort_by(f64::total_cmp);
        let n = s.len();
        let median = if n % 2 == 1 {
            s[n / 2]
        } else {
            (s[n / 2 - 1] + s[n / 2]) / 2.0
        };
        // Nearest rank: the smallest sample with at least 99% of samples <= it.
        let rank = (0.99 * n as f64).ceil() as usize;
        Some(Summary {
            n,
            median,
            min: s[0],
            max: s[n - 1],
            p99: s[rank.clamp(1, n) - 1],
            samples: samples.to_vec(),
        })
    }

    /// Compares two quantities by all their samples, not by one pair of
    /// medians: `Higher` when `self` is larger with [`CONFIDENCE`] and by
    /// more than [`SMALLEST_EFFECT`], `Lower` the reverse, `WithinNoise` when
    /// these samples cannot tell them apart, `TooFew` when so few were taken
    /// that no difference could be shown.
    ///
    /// The test is Mann–Whitney's, by the Hodges–Lehmann interval of the
    /// shift between the two: take every difference `a - b` of a sample of
    /// `self` and one of `other` (`n × m` of them) and sort them; the interval
    /// runs from the `k`-th smallest to the `k`-th largest, where `k` comes
    /// from the exact distribution of Mann–Whitney's U (the normal
    /// approximation above [`EXACT_PAIRS`] pairs, which errs on the side of
    /// no verdict). If the whole interval lies beyond [`SMALLEST_EFFECT`] of
    /// the larger median, the two differ. One slow repeat moves its own row
    /// of differences, `other.n` of them: with 9 or more repeats each, k is
    /// larger than that, so one slow repeat cannot hide a difference every
    /// other repeat shows (with 5 each, k is 1, and the rule is as strict as
    /// ranges that must not overlap). More repeats narrow the interval,
    /// where they only widen a range. Source: Hollander, Wolfe and Chicken, *Nonparametric
    /// Statistical Methods*, 3rd ed., chapter 4 (the two-sample location
    /// problem).
    pub fn compare(&self, other: &Summary) -> Compared {
        let Some(k) =
            shift_rank(self.samples.len(), other.samples.len(), CONFIDENCE)
        else {
            return Compared::TooFew;
        };
        let mut d: Vec<f64> = (self.samples.iter())
            .flat_map(|a| other.samples.iter().map(move |b| a - b))
            .collect();
        d.sort_by(f64::total_cmp);
        let (low, high) = (d[k - 1], d[d.len() - k]);
        let floor = SMALLEST_EFFECT * self.median.abs().max(other.median.abs());
        if low > floor {
            Compared::Higher
        } else if high < -floor {
            Compared::Lower
        } else {
            Compared::WithinNoise
        }
    }

    /// The same summary with every figure multiplied by `k` (a change of unit).
    pub fn scaled(&self, k: f64) -> Summary {
        Summary {
            n: self.n,
            median: self.median * k,
            min: self.min * k,
            max: self.max * k,
            p99: self.p99 * k,
            samples: self.samples.iter().map(|s| s * k).collect(),
        }
    }

    /// The summary of `f` applied to each sample: a figure derived from
    /// this one sample by sample (a speedup from each round's time).
    /// `None` if `f` gives NaN.
    pub fn map(&self, f: impl Fn(f64) -> f64) -> Option<Summary> {
        Summary::of(&self.samples.iter().map(|&s| f(s)).collect::<Vec<_>>())
    }
}

/// What [`Summary::compare`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compared {
    /// Smaller, with [`CONFIDENCE`], by more than [`SMALLEST_EFFECT`].
    Lower,
    /// These samples show no difference, or one under [`SMALLEST_EFFECT`].
    WithinNoise,
    /// Larger, with [`CONFIDENCE`], by more than [`SMALLEST_EFFECT`].
    Higher,
    /// Too few samples for any difference to be shown with [`CONFIDENCE`]:
    /// 5 each are the fewest that can, 4 and 5 cannot.
    TooFew,
}

/// Pairs (`n × m`) up to which `k` comes from U's exact distribution.
const EXACT_PAIRS: usize = 2500;

/// `k` of the shift's interval at `confidence` for samples of `n` and `m`:
/// the largest `k` with P(U < k) ≤ (1 − confidence) / 2 when both samples come
/// from one distribution, or `None` if even U = 0 (every sample of one above
/// every sample of the other) is more likely than that.
fn shift_rank(n: usize, m: usize, confidence: f64) -> Option<usize> {
    let tail = (1.0 - confidence) / 2.0;
    if n == 0 || m == 0 {
        return None;
    }
    if n * m > EXACT_PAIRS {
        // Normal approximation: U has mean nm/2 and variance nm(n+m+1)/12.
        let (nf, mf) = (n as f64, m as f64);
        let sd = (nf * mf * (nf + mf + 1.0) / 12.0).sqrt();
        let k = (nf * mf / 2.0 - z_of(tail) * sd).floor();
        return (k >= 1.0).then_some(k as usize);
    }
    let mut below = 0.0;
    let mut k = 0;
    for p in u_distribution(n, m) {
        below += p;
        if below > tail {
            break;
        }
        k += 1;
    }
    (k >= 1).then_some(k)
}

/// P(U = u) for u in 0..=n·m, when all orders of the two samples are equally
/// likely: U of n and m is U of n−1 and m shifted by m (the largest of all
/// is one of the n) or U of n and m−1 (it is one of the m).
fn u_distribution(n: usize, m: usize) -> Vec<f64> {
    // row[j] is the distribution for (i, j), for the i being built.
    let mut row: Vec<Vec<f64>> = (0..=m).map(|_| vec![1.0]).collect();
    for i in 1..=n {
        let mut next: Vec<Vec<f64>> = vec![vec![1.0]];
        for j in 1..=m {
            let (fi, fj) = (i as f64, j as f64);
            let mut p = vec![0.0; i * j + 1];
            for (u, q) in row[j].iter().enumerate() {
                p[u + j] += q * fi / (fi + fj);
            }
            for (u, q) in next[j - 1].iter().enumerate() {
                p[u] += q * fj / (fi + fj);
            }
            next.push(p);
        }
        row = next;
    }
    row.pop().expect("m + 1 rows")
}

/// The standard normal quantile above which `tail` (below one half) of the
/// mass lies: Abramowitz and Stegun's rational approximation 26.2.23, off by
/// less than 4.5e-4.
fn z_of(tail: f64) -> f64 {
    let t = (-2.0 * tail.ln()).sqrt();
    t - (2.515517 + 0.802853 * t + 0.010328 * t * t)
        / (1.0 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_and_even_counts() {
        let s = Summary::of(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.n, s.median, s.min, s.max), (3, 2.0, 1.0, 3.0));
        assert_eq!(Summary::of(&[4.0, 1.0, 3.0, 2.0]).unwrap().median, 2.5);
    }

    #[test]
    fn p99_ignores_one_outlier_in_a_hundred_and_one() {
        let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
        v.push(1e9);
        let s = Summary::of(&v).unwrap();
        assert_eq!(s.p99, 100.0);
        assert_eq!(s.max, 1e9);
        // With few samples the p99 is the maximum.
        assert_eq!(Summary::of(&[1.0, 5.0]).unwrap().p99, 5.0);
    }

    #[test]
    fn empty_or_nan_has_no_summary() {
        assert_eq!(Summary::of(&[]), None);
        assert_eq!(Summary::of(&[1.0, f64::NAN]), None);
    }

    fn s(v: &[f64]) -> Summary {
        Summary::of(v).unwrap()
    }

    /// U counted the long way: every way of placing the first sample among
    /// the second, and how many pairs of it lie above.
    fn u_by_enumeration(n: usize, m: usize) -> Vec<f64> {
        let mut counts = vec![0.0; n * m + 1];
        let mut total = 0.0;
        for mask in 0u32..1 << (n + m) {
            if mask.count_ones() as usize != n {
                continue;
            }
            // Position p holds one of the first sample when bit p is set;
            // it lies above every one of the second sample below it.
            let u: usize = (0..n + m)
                .filter(|p| mask >> p & 1 == 1)
                .map(|p| (0..p).filter(|q| mask >> q & 1 == 0).count())
                .sum();
            counts[u] += 1.0;
            total += 1.0;
        }
        counts.iter().map(|c| c / total).collect()
    }

    #[test]
    fn u_distribution_matches_enumeration() {
        for (n, m) in [(1, 1), (2, 3), (4, 4), (5, 3), (6, 6)] {
            let exact = u_by_enumeration(n, m);
            let by_recurrence = u_distribution(n, m);
            assert_eq!(exact.len(), by_recurrence.len());
            for (a, b) in exact.iter().zip(&by_recurrence) {
                assert!((a - b).abs() < 1e-12, "{n} and {m}: {a} against {b}");
            }
        }
    }

    #[test]
    fn ranks_match_the_published_critical_values() {
        // Mann-Whitney's two-sided critical U (reject at U <= it), from the
        // standard tables: k is one more.
        for (n, m, confidence, critical) in [
            (5, 5, 0.95, 2),
            (8, 8, 0.95, 13),
            (10, 10, 0.95, 23),
            (8, 8, 0.99, 7),
            (10, 10, 0.99, 16),
            (20, 20, 0.99, 105),
        ] {
            assert_eq!(shift_rank(n, m, confidence), Some(critical + 1), "{n}, {m}");
        }
        // Three against three can never show a difference, even apart.
        assert_eq!(shift_rank(3, 3, CONFIDENCE), None);
        assert_eq!(shift_rank(5, 5, CONFIDENCE), Some(1));
        assert_eq!(shift_rank(21, 21, 0.99), Some(119));
        // Four and five: not even every order apart is rare enough.
        assert_eq!(shift_rank(4, 5, CONFIDENCE), None);
        // Past EXACT_PAIRS, the normal approximation: never above exact.
        let k = shift_rank(51, 51, 0.99).unwrap();
        assert!((912..=918).contains(&k), "{k} against the exact 918");
    }

    #[test]
    fn one_slow_repeat_does_not_hide_a_difference() {
        let fast = s(&[
            100., 101., 99., 100., 102., 100., 101., 99., 100., 101., 140.,
        ]);
        let slow = s(&[
            110., 111., 109., 112., 110., 111., 110., 109., 111., 110., 112.,
        ]);
        // The ranges overlap (99 to 140 against 109 to 112) ...
        assert!(fast.max > slow.min);
        // ... yet ten of eleven repeats say the same.
        assert_eq!(fast.compare(&slow), Compared::Lower);
        assert_eq!(slow.compare(&fast), Compared::Higher);
    }

    #[test]
    fn a_sure_but_small_difference_is_within_noise() {
        // 2% apart in every repeat: sure within this run, smaller than two
        // runs differ.
        let a = s(&[100.0, 100.1, 100.2, 99.9, 100.0, 100.1, 99.8]);
        let b = a.scaled(1.02);
        assert_eq!(b.compare(&a), Compared::WithinNoise);
        assert_eq!(a.scaled(1.10).compare(&a), Compared::Higher);
    }

    #[test]
    fn the_same_quantity_is_within_noise() {
        let a = s(&[1.21, 1.25, 1.30, 1.22, 1.27]);
        let b = s(&[1.19, 1.28, 1.40, 1.24, 1.26]);
        assert_eq!(a.compare(&b), Compared::WithinNoise);
        assert_eq!(b.compare(&a), Compared::WithinNoise);
        // Medians far apart are not enough when the samples mingle.
        let (c, d) = (s(&[1.0, 1.0, 5.0, 1.0, 5.0]), s(&[4.0, 4.0, 4.0, 4.0, 4.0]));
        assert_eq!(c.compare(&d), Compared::WithinNoise);
    }

    #[test]
    fn samples_apart_are_ordered_when_there_are_enough() {
        let (fast, slow) =
            (s(&[1.0, 1.1, 1.2, 1.0, 1.1]), s(&[1.3, 1.4, 1.9, 1.5, 1.3]));
        assert_eq!(slow.compare(&fast), Compared::Higher);
        assert_eq!(fast.compare(&slow), Compared::Lower);
        // Three each, even wholly apart, could be chance one time in ten.
        let (a, b) = (s(&[1.0, 1.1, 1.2]), s(&[5.0, 6.0, 7.0]));
        assert_eq!(a.compare(&b), Compared::TooFew);
    }

    #[test]
    fn a_derived_figure_keeps_its_samples() {
        let rounds = s(&[2.0, 4.0, 5.0]);
        let speedup = rounds.map(|t| 10.0 / t).unwrap();
        assert_eq!(speedup.samples, vec![5.0, 2.5, 2.0]);
        assert_eq!(speedup.median, 2.5);
    }

    #[test]
    fn scaling_changes_units_not_counts() {
        let s = Summary::of(&[1.0, 2.0, 3.0]).unwrap().scaled(1000.0);
        assert_eq!((s.n, s.median, s.max), (3, 2000.0, 3000.0));
        assert_eq!(s.samples, vec![1000.0, 2000.0, 3000.0]);
    }
}
