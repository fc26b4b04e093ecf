//! The book's words for the one rule by which two measured figures are
//! compared, [`Summary::compare`]: a difference is claimed only when the
//! trimmed interval of all the pairwise differences of the repeats lies
//! beyond 5% of the larger median, at 99% confidence (Mann–Whitney's test,
//! by the Hodges–Lehmann interval of the shift); otherwise the book says
//! "within noise", whichever median is the larger, and "one run" or "3 runs"
//! where so few repeats could never show a difference.
//!
//! Every comparison a rendered table or chart states (faster, slower,
//! overhead, agrees with the text) goes through [`Summary::compare`].

use workers::report::ratio;
use workers::stats::{Compared, Summary};

/// Parallel against serial, as every table writes it: the ratio of the
/// medians (serial over parallel) and the verdict, "1.75x (faster)",
/// "0.91x (slower)", "1.02x (within noise)", "0.48x (one run)".
pub fn speedup(serial: &Summary, parallel: &Summary) -> String {
    let x = serial.median / parallel.median;
    let said = match parallel.compare(serial) {
        Compared::Lower => "faster",
        Compared::Higher => "slower",
        Compared::WithinNoise => "within noise",
        Compared::TooFew => {
            return format!("{} ({})", ratio(x), few(parallel, serial));
        }
    };
    format!("{} ({said})", ratio(x))
}

/// The same verdict in a narrow cell: the ratio alone where it is beyond
/// noise (above 1x faster, below slower), "~1.02x" within noise, "1.02x?"
/// from too few repeats.
pub fn speedup_short(serial: &Summary, parallel: &Summary) -> String {
    let x = ratio(serial.median / parallel.median);
    match parallel.compare(serial) {
        Compared::Lower | Compared::Higher => x,
        Compared::WithinNoise => format!("~{x}"),
        Compared::TooFew => format!("{x}?"),
    }
}

/// What looking at a flag added to a search, as every table writes it:
/// the difference of the medians in percent of the search never looking,
/// and the verdict, "+30.8%", "+0.4% (within noise)", "+3336.1% (one run)".
pub fn overhead(looking: &Summary, never: &Summary) -> String {
    let pct = (looking.median - never.median) / never.median * 100.0;
    match looking.compare(never) {
        Compared::Higher => format!("{pct:+.1}%"),
        Compared::WithinNoise => format!("{pct:+.1}% (within noise)"),
        Compared::Lower => format!("{pct:+.1}% (faster looking than not)"),
        Compared::TooFew => format!("{pct:+.1}% ({})", few(looking, never)),
    }
}

/// Which of two named figures is the smaller (the faster, for times), in
/// words: "the manager is faster", "within noise", "no verdict: one run".
pub fn smaller(a_name: &str, a: &Summary, b_name: &str, b: &Summary) -> String {
    match a.compare(b) {
        Compared::Lower => format!("{a_name} is faster"),
        Compared::Higher => format!("{b_name} is faster"),
        Compared::WithinNoise => {
            "within noise (the repeats cannot tell them apart)".into()
        }
        Compared::TooFew => format!("no verdict: {}", few(a, b)),
    }
}

/// Why there is no verdict: "one run", "3 runs".
fn few(a: &Summary, b: &Summary) -> String {
    match a.n.min(b.n) {
        1 => "one run".into(),
        n => format!("{n} runs"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` samples spread evenly from `min` to `max`.
    fn spread(n: usize, min: f64, max: f64) -> Summary {
        let step = (max - min) / (n - 1).max(1) as f64;
        Summary::of(&(0..n).map(|i| min + step * i as f64).collect::<Vec<_>>())
            .unwrap()
    }

    #[test]
    fn speedups_and_overheads_say_their_verdict() {
        let serial = spread(5, 190.0, 210.0);
        assert_eq!(speedup(&serial, &spread(5, 90.0, 110.0)), "2.00x (faster)");
        assert_eq!(speedup(&serial, &spread(5, 380.0, 420.0)), "0.50x (slower)");
        assert_eq!(
            speedup(&serial, &spread(5, 180.0, 220.0)),
            "1.00x (within noise)"
        );
        assert_eq!(speedup_short(&serial, &spread(5, 180.0, 220.0)), "~1.00x");
        assert_eq!(overhead(&spread(1, 2.0, 2.0), &serial), "-99.0% (one run)");
        assert_eq!(
            overhead(&spread(3, 100.0, 102.0), &serial),
            "-49.5% (3 runs)"
        );
        assert_eq!(
            overhead(&spread(5, 200.0, 220.0), &serial),
            "+5.0% (within noise)"
        );
        assert_eq!(overhead(&spread(5, 300.0, 320.0), &serial), "+55.0%");
    }

    #[test]
    fn the_smaller_is_named() {
        let (a, b) = (spread(7, 1.0, 2.0), spread(7, 3.0, 4.0));
        assert_eq!(smaller("a", &a, "b", &b), "a is faster");
        assert_eq!(smaller("b", &b, "a", &a), "a is faster");
        assert!(smaller("a", &a, "b", &a).starts_with("within noise"));
    }
}
