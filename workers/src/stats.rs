//! Statistics over repeated measurements: median with its spread.
//!
//! One timing on a shared, noisy machine says little. The book shows the median
//! of several repeats beside the minimum, the maximum and (for many samples) the
//! 99th percentile, so a reader sees how much a figure moves.

use serde::{Deserialize, Serialize};

/// Summary of repeated measurements of one quantity.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
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
}

impl Summary {
    /// Summarizes `samples`; `None` when there are none or one is NaN.
    pub fn of(samples: &[f64]) -> Option<Summary> {
        if samples.is_empty() || samples.iter().any(|s| s.is_nan()) {
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
        })
    }

    /// Compares two quantities by their ranges, not their medians: `Higher`
    /// when every sample of `self` lies above every sample of `other`,
    /// `Lower` the reverse, and `WithinNoise` when the two ranges (min to
    /// max) overlap, so these samples cannot tell them apart.
    pub fn compare(&self, other: &Summary) -> Compared {
        if self.min > other.max {
            Compared::Higher
        } else if self.max < other.min {
            Compared::Lower
        } else {
            Compared::WithinNoise
        }
    }

    /// The same summary with every figure multiplied by `k` (a change of unit).
    pub fn scaled(self, k: f64) -> Summary {
        Summary {
            median: self.median * k,
            min: self.min * k,
            max: self.max * k,
            p99: self.p99 * k,
            ..self
        }
    }
}

/// What [`Summary::compare`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compared {
    /// Every sample lies below every sample of the other.
    Lower,
    /// The ranges overlap: no difference these samples can show.
    WithinNoise,
    /// Every sample lies above every sample of the other.
    Higher,
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

    #[test]
    fn overlapping_ranges_are_within_noise() {
        let s = |v: &[f64]| Summary::of(v).unwrap();
        let (a, b) = (s(&[1.21, 1.25, 1.30]), s(&[1.19, 1.28, 1.40]));
        assert_eq!(a.compare(&b), Compared::WithinNoise);
        assert_eq!(b.compare(&a), Compared::WithinNoise);
        // Medians far apart are not enough: one wild sample joins the ranges.
        let (c, d) = (s(&[1.0, 1.0, 5.0]), s(&[4.0, 4.0, 4.0]));
        assert_eq!(c.compare(&d), Compared::WithinNoise);
        // Touching ends still overlap.
        assert_eq!(
            s(&[1.0, 2.0]).compare(&s(&[2.0, 3.0])),
            Compared::WithinNoise
        );
    }

    #[test]
    fn separate_ranges_are_ordered() {
        let s = |v: &[f64]| Summary::of(v).unwrap();
        let (fast, slow) = (s(&[1.0, 1.1, 1.2]), s(&[1.3, 1.4, 1.9]));
        assert_eq!(slow.compare(&fast), Compared::Higher);
        assert_eq!(fast.compare(&slow), Compared::Lower);
    }

    #[test]
    fn scaling_changes_units_not_counts() {
        let s = Summary::of(&[1.0, 2.0, 3.0]).unwrap().scaled(1000.0);
        assert_eq!((s.n, s.median, s.max), (3, 2000.0, 3000.0));
    }
}
