//! The one rule by which the book compares two measured figures.
//!
//! A figure measured several times is a range, not a point: the fastest
//! and the slowest of its repeats. Two figures differ only if their ranges
//! do not overlap; where they do, the book says "within noise", whichever
//! median is the larger. A figure measured fewer than [`MIN_REPEATS`] times
//! has no range worth the name, and no verdict is drawn from it.
//!
//! Every comparison a rendered table or chart states (faster, slower,
//! overhead, agrees with the text) goes through [`compare`].

use crate::data::Spread;
use workers::report::ratio;

/// Repeats a figure needs before it is compared with another.
pub const MIN_REPEATS: usize = 3;

/// How one measured figure stands beside another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every repeat of the first lies below every repeat of the second.
    Below,
    /// Every repeat of the first lies above every repeat of the second.
    Above,
    /// The ranges overlap: the difference of the medians is noise.
    WithinNoise,
    /// One of the two was measured fewer than [`MIN_REPEATS`] times.
    TooFewRepeats,
}

/// Compares `a` with `b` by the overlap of their ranges (min to max).
pub fn compare(a: Spread, b: Spread) -> Verdict {
    if a.n < MIN_REPEATS || b.n < MIN_REPEATS {
        Verdict::TooFewRepeats
    } else if a.max < b.min {
        Verdict::Below
    } else if a.min > b.max {
        Verdict::Above
    } else {
        Verdict::WithinNoise
    }
}

/// Parallel against serial, as every table writes it: the ratio of the
/// medians (serial over parallel) and the verdict, "1.75x (faster)",
/// "0.91x (slower)", "1.02x (within noise)", "0.48x (one run)".
pub fn speedup(serial: Spread, parallel: Spread) -> String {
    let x = serial.median / parallel.median;
    let said = match compare(parallel, serial) {
        Verdict::Below => "faster",
        Verdict::Above => "slower",
        Verdict::WithinNoise => "within noise",
        Verdict::TooFewRepeats => {
            return format!("{} ({})", ratio(x), few(parallel, serial));
        }
    };
    format!("{} ({said})", ratio(x))
}

/// The same verdict in a narrow cell: the ratio alone where it is beyond
/// noise (above 1x faster, below slower), "~1.02x" within noise, "1.02x?"
/// from too few repeats.
pub fn speedup_short(serial: Spread, parallel: Spread) -> String {
    let x = ratio(serial.median / parallel.median);
    match compare(parallel, serial) {
        Verdict::Below | Verdict::Above => x,
        Verdict::WithinNoise => format!("~{x}"),
        Verdict::TooFewRepeats => format!("{x}?"),
    }
}

/// What looking at a flag added to a search, as every table writes it:
/// the difference of the medians in percent of the search never looking,
/// and the verdict, "+30.8%", "+0.4% (within noise)", "+3336.1% (one run)".
pub fn overhead(looking: Spread, never: Spread) -> String {
    let pct = (looking.median - never.median) / never.median * 100.0;
    match compare(looking, never) {
        Verdict::Above => format!("{pct:+.1}%"),
        Verdict::WithinNoise => format!("{pct:+.1}% (within noise)"),
        Verdict::Below => format!("{pct:+.1}% (faster looking than not)"),
        Verdict::TooFewRepeats => format!("{pct:+.1}% ({})", few(looking, never)),
    }
}

/// Which of two named figures is the smaller (the faster, for times), in
/// words: "the manager is faster", "within noise", "no verdict: one run".
pub fn smaller(a_name: &str, a: Spread, b_name: &str, b: Spread) -> String {
    match compare(a, b) {
        Verdict::Below => format!("{a_name} is faster"),
        Verdict::Above => format!("{b_name} is faster"),
        Verdict::WithinNoise => "within noise (their ranges overlap)".into(),
        Verdict::TooFewRepeats => format!("no verdict: {}", few(a, b)),
    }
}

/// Why there is no verdict: "one run", "2 runs".
fn few(a: Spread, b: Spread) -> String {
    match a.n.min(b.n) {
        1 => "one run".into(),
        n => format!("{n} runs"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spread(n: usize, min: f64, median: f64, max: f64) -> Spread {
        Spread {
            n,
            median,
            min,
            max,
        }
    }

    #[test]
    fn only_ranges_apart_make_a_difference() {
        let a = spread(5, 1.0, 2.0, 3.0);
        assert_eq!(compare(a, spread(5, 3.5, 4.0, 9.0)), Verdict::Below);
        assert_eq!(compare(spread(5, 3.5, 4.0, 9.0), a), Verdict::Above);
        // Medians far apart, ranges touching: noise.
        assert_eq!(compare(a, spread(5, 3.0, 8.0, 9.0)), Verdict::WithinNoise);
        assert_eq!(compare(a, spread(1, 9.0, 9.0, 9.0)), Verdict::TooFewRepeats);
    }

    #[test]
    fn speedups_and_overheads_say_their_verdict() {
        let serial = spread(5, 190.0, 200.0, 210.0);
        assert_eq!(
            speedup(serial, spread(5, 90.0, 100.0, 110.0)),
            "2.00x (faster)"
        );
        assert_eq!(
            speedup(serial, spread(5, 380.0, 400.0, 420.0)),
            "0.50x (slower)"
        );
        assert_eq!(
            speedup(serial, spread(5, 195.0, 200.0, 300.0)),
            "1.00x (within noise)"
        );
        assert_eq!(
            overhead(spread(1, 2.0, 2.0, 2.0), serial),
            "-99.0% (one run)"
        );
        assert_eq!(
            overhead(spread(5, 205.0, 210.0, 215.0), serial),
            "+5.0% (within noise)"
        );
    }
}
