//! What a flag run measured: summarized, checked, and printed.

use super::parent::SAMPLES;
use super::{SearchArgs, Timing, Work};
use crate::fraud::Scan;
use crate::report::{Machine, Table, human_ns, print_json, ratio, spread};
use crate::search::{Case, Outcome, Searched, candidate, candidates};
use crate::stats::{Compared, Summary};
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// What [`super::Pool::measure`] took, in nanoseconds, before it is summarized.
#[derive(Debug)]
pub struct Measured {
    pub(super) per_worker: Vec<WorkerRow>,
    pub(super) parallel_ns: Vec<f64>,
    pub(super) unchecked_ns: Vec<f64>,
    pub(super) check_ns: Vec<f64>,
    pub(super) local_check_ns: Vec<f64>,
    pub(super) round_trip_ns: Vec<f64>,
    pub(super) stop_latency_ns: Vec<f64>,
    /// What was searched: the serial search and the check need it.
    pub(super) work: Work,
}

impl Measured {
    /// Times the same search serially in this process (no flag, no workers),
    /// checks the factor found against the known one, and makes the report.
    /// `what` says what the flag is, in a few words.
    pub fn report<const K: u64>(
        self,
        what: &str,
        args: &SearchArgs<K>,
        timing: &Timing,
        counted: Option<Counted>,
    ) -> anyhow::Result<Report> {
        let serial = self.work.serial(timing.repeats)?;
        let found = self
            .per_worker
            .iter()
            .find_map(|w| match w.searched.outcome {
                Outcome::Found(d) => Some(d),
                _ => None,
            });
        self.work.confirm(found)?;
        let summary = |s: &[f64]| Summary::of(s).expect("at least one sample");
        let parallel_ns = summary(&self.parallel_ns);
        let unchecked_ns = Summary::of(&self.unchecked_ns);
        let check_ns = summary(&self.check_ns);
        Ok(Report {
            overhead: unchecked_ns.as_ref().map(|u| parallel_ns.compare(u)),
            looks: Looks::of(&self.per_worker, &check_ns, &parallel_ns),
            machine: Machine::here(),
            flag: what.to_string(),
            case: args.case,
            n: self.work.n(),
            workers: self.per_worker.len(),
            check_every: args.check_every,
            factor: self.work.factor(found),
            scan: self.work.scan(found),
            wasted_ns: self.per_worker.iter().filter_map(|w| w.after_flag_ns).sum(),
            per_worker: self.per_worker,
            parallel_ns,
            serial_ns: summary(&serial),
            unchecked_ns,
            check_ns,
            local_check_ns: summary(&self.local_check_ns),
            round_trip_ns: summary(&self.round_trip_ns),
            stop_latency_ns: summary(&self.stop_latency_ns),
            counted,
        })
    }
}

/// Everything one run of a flag chapter measured, as `--json` prints it.
///
/// `cargo xtask` reads the same type back from `book/src/measured/` for the
/// book's tables and charts. Times are nanoseconds; a [`Summary`] is over
/// the searches timed (`--repeats`), the samples of one look, or the stop
/// trials (`--trials`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// The machine the run was measured on.
    pub machine: Machine,
    /// What the flag is, in a few words.
    pub flag: String,
    /// The number searched, by name.
    pub case: Case,
    /// The number searched; with `--workload fraud`, the transactions
    /// scanned.
    pub n: u64,
    /// Worker processes started.
    pub workers: usize,
    /// Candidates a worker tries between looks at the flag.
    pub check_every: u64,
    /// The smallest factor found, if any.
    pub factor: Option<u64>,
    /// With `--workload fraud`: the data scanned and the pair found. (The
    /// divisors' `factor` is then none, and items are pairs of records.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan: Option<Scan>,
    /// Each worker's last search, by worker index.
    pub per_worker: Vec<WorkerRow>,
    /// Wall time of the parallel search, flag checked every `check_every`.
    pub parallel_ns: Summary,
    /// The same search in one process, with no flag at all.
    pub serial_ns: Summary,
    /// Prime case only: the parallel search never looking at the flag.
    pub unchecked_ns: Option<Summary>,
    /// Nanoseconds per look at this flag, from a worker.
    pub check_ns: Summary,
    /// The floor: nanoseconds per atomic load in the process's own memory.
    pub local_check_ns: Summary,
    /// For scale: nanoseconds of one ipc-channel message there and back.
    pub round_trip_ns: Summary,
    /// Nanoseconds from raising the flag to every worker stopped.
    pub stop_latency_ns: Summary,
    /// Nanoseconds of worker time spent after the flag went up, summed over
    /// the workers of the last search.
    pub wasted_ns: u64,
    /// With `--count`: what the shared counter said.
    pub counted: Option<Counted>,
    /// Prime case only: the parallel search with the flag against the same
    /// search never looking, by [`Summary::compare`] (`higher`: slower with
    /// the flag, beyond noise; `within_noise`: these repeats cannot tell;
    /// `too_few`: too few repeats to show any difference).
    #[serde(default)]
    pub overhead: Option<Compared>,
    /// What the looks of the last timed search cost, from the cost of one
    /// look: the other way to size the overhead, and the one that works in
    /// every case.
    #[serde(default)]
    pub looks: Option<Looks>,
}

/// The looks of one search, priced: the busiest worker's looks times the
/// measured cost of one look.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Looks {
    /// The most looks any one worker made (workers look in parallel, so the
    /// busiest one is what the wall time can feel).
    pub per_worker: u64,
    /// `per_worker` times the cost of one look (`check_ns`), nanoseconds:
    /// median, min and max follow the look's.
    pub cost_ns: Summary,
    /// The median of `cost_ns` in percent of the median parallel search.
    pub pct_of_search: f64,
}

impl Looks {
    /// Prices the looks of `rows` at `look` each, against `search`; `None`
    /// when no worker looked at all.
    pub fn of(
        rows: &[WorkerRow],
        look: &Summary,
        search: &Summary,
    ) -> Option<Looks> {
        let per_worker = rows.iter().map(|w| w.searched.checks).max()?;
        if per_worker == 0 {
            return None;
        }
        let cost_ns = look.scaled(per_worker as f64);
        Some(Looks {
            per_worker,
            pct_of_search: cost_ns.median / search.median * 100.0,
            cost_ns,
        })
    }

    /// One line: the looks, what one costs, what they all cost.
    pub fn line(&self, look: &Summary) -> String {
        format!(
            "{} looks per worker x {} each = {}, {} of the search",
            self.per_worker,
            spread(look),
            spread(&self.cost_ns),
            pct(self.pct_of_search)
        )
    }
}

/// A percentage with two significant figures, so 0.004% does not print as 0.0%.
fn pct(p: f64) -> String {
    match p.abs() {
        x if x >= 10.0 => format!("{p:.0}%"),
        x if x >= 1.0 => format!("{p:.1}%"),
        x if x > 0.0 => {
            let digits = (1.0 - x.log10().floor()) as usize;
            format!("{p:.digits$}%")
        }
        _ => "0%".into(),
    }
}

/// The overhead line: the decision of [`Summary::compare`] in words, with
/// both spreads, so a reader sees what it rests on.
pub fn overhead_line(with: &Summary, never: &Summary) -> String {
    let both = format!(
        "with the flag {}, never looking {}",
        spread(with),
        spread(never)
    );
    match with.compare(never) {
        Compared::WithinNoise => {
            format!("within noise, these repeats cannot tell the two apart ({both})")
        }
        Compared::Higher => format!(
            "slower beyond noise, by {} in the medians ({both})",
            pct((with.median - never.median) / never.median * 100.0)
        ),
        Compared::Lower => format!(
            "faster beyond noise, which looking cannot cause: the machine \
             changed between the runs ({both})"
        ),
        Compared::TooFew => format!(
            "no verdict from {}; --repeats 5 or more can show a difference ({both})",
            match with.n.min(never.n) {
                1 => "one repeat".to_string(),
                n => format!("{n} repeats"),
            }
        ),
    }
}

/// The lost-update demonstration: every worker added one `per_worker` times.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Counted {
    /// Adds each worker made.
    pub per_worker: u64,
    /// What a counter that lost nothing would say.
    pub expected: u64,
    /// Read, then write back one more.
    pub racy: u64,
    /// One indivisible step.
    pub atomic: u64,
}

/// One worker's part of the last timed search.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerRow {
    /// The candidate numbers it was given.
    pub share: Range<u64>,
    pub searched: Searched,
    /// Nanoseconds after the finder raised the flag that this worker
    /// stopped; none unless the flag is what stopped it.
    pub after_flag_ns: Option<u64>,
}

impl Report {
    /// What looking at the flag added to the parallel search, in percent of
    /// the same search never looking (medians). `None` unless the run
    /// timed that search (the prime case does). One pair of medians is
    /// noisy: read it with [`Report::overhead`], which says whether the
    /// ranges even differ.
    pub fn overhead_pct(&self) -> Option<f64> {
        let never = self.unchecked_ns.as_ref()?.median;
        Some((self.parallel_ns.median - never) / never * 100.0)
    }

    /// Prints the report: one JSON document with `json`, else words and tables.
    pub fn print(&self, json: bool) -> anyhow::Result<()> {
        if json {
            return print_json(self);
        }
        let r = self;
        if let Some(scan) = &r.scan {
            print!("{}", scan.story(r.workers, r.check_every, &r.flag));
        } else {
            let last = candidate(candidates(r.n) - 1);
            println!(
                "Is {} prime? {} worker processes try every odd divisor from 3 to\n\
                 {last}, each its own slice, looking at the stop flag every {} candidates.\n\
                 The flag: {}.\n",
                r.n, r.workers, r.check_every, r.flag
            );
            match r.factor {
                Some(d) => println!("Found: {} = {d} x {}.\n", r.n, r.n / d),
                None => println!(
                    "No divisor: {} is prime. Every look at the flag was overhead.\n",
                    r.n
                ),
            }
        }
        let items = if r.scan.is_some() {
            "records"
        } else {
            "divisors"
        };
        let mut t =
            Table::new(["worker", items, "tried", "ended", "after the flag"]);
        for (i, w) in r.per_worker.iter().enumerate() {
            // A worker's pairs k..end cover records k to end; its divisors
            // are the odd numbers its candidates stand for.
            let (a, b) = match r.scan {
                Some(_) => (w.share.start, w.share.end),
                None => {
                    (candidate(w.share.start), candidate(w.share.end.max(1) - 1))
                }
            };
            let ended = match w.searched.outcome {
                Outcome::Found(_) => "found it",
                Outcome::Stopped => "stopped",
                Outcome::Exhausted => "finished",
            };
            let after = w.after_flag_ns.map_or("-".into(), |ns| human_ns(ns as f64));
            t.row([
                i.to_string(),
                format!("{a}..={b}"),
                w.searched.checked.to_string(),
                ended.into(),
                after,
            ]);
        }
        print!("{t}");
        println!("\nWall time, median of {} (min to max):", r.parallel_ns.n);
        let mut t = Table::new(["", "time"]);
        t.row(["parallel, with the flag".into(), spread(&r.parallel_ns)]);
        if let Some(u) = &r.unchecked_ns {
            t.row(["parallel, never looking".into(), spread(u)]);
        }
        t.row(["serial, one process".into(), spread(&r.serial_ns)]);
        print!("{t}");
        let speedup = ratio(r.serial_ns.median / r.parallel_ns.median);
        match r.parallel_ns.compare(&r.serial_ns) {
            Compared::WithinNoise => println!(
                "Parallel against serial: {speedup} in the medians, within noise."
            ),
            Compared::TooFew => println!(
                "Parallel against serial: {speedup} in the medians, too few \
                 repeats for a verdict."
            ),
            Compared::Lower | Compared::Higher => {
                println!("Parallel against serial: {speedup} (medians).")
            }
        }
        // Two ways to size the flag's cost: the timed difference, which noise
        // can swamp, and the looks priced one by one, which it cannot.
        if let Some(never) = &r.unchecked_ns {
            println!(
                "Looking at the flag: {}.",
                overhead_line(&r.parallel_ns, never)
            );
        }
        if let Some(looks) = &r.looks {
            println!("What the looks cost: {}.", looks.line(&r.check_ns));
        }
        println!(
            "\nOne look at the flag, median of {SAMPLES} samples (min to max):"
        );
        let mut t = Table::new(["", "time"]);
        t.row([format!("this flag: {}", r.flag), spread(&r.check_ns)]);
        t.row([
            "floor: atomic load in own memory".into(),
            spread(&r.local_check_ns),
        ]);
        t.row([
            "scale: ipc-channel round trip".into(),
            spread(&r.round_trip_ns),
        ]);
        print!("{t}");
        let l = &r.stop_latency_ns;
        println!(
            "\nFlag raised to every worker stopped, over {} trials: p50 {}, p99 {}, max {}.",
            l.n,
            human_ns(l.median),
            human_ns(l.p99),
            human_ns(l.max)
        );
        if r.factor.is_some() {
            println!(
                "Work wasted after the find: {} of worker time.",
                human_ns(r.wasted_ns as f64)
            );
        }
        if let Some(c) = &r.counted {
            println!(
                "\nA shared counter: {} workers each add one {} times (expected {}).",
                r.workers, c.per_worker, c.expected
            );
            let lost = |got: u64| c.expected.saturating_sub(got).to_string();
            let mut t = Table::new(["", "counter", "lost updates"]);
            t.row([
                "read, then write back one more".into(),
                c.racy.to_string(),
                lost(c.racy),
            ]);
            t.row([
                "add in one indivisible step".into(),
                c.atomic.to_string(),
                lost(c.atomic),
            ]);
            print!("{t}");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[f64]) -> Summary {
        Summary::of(v).unwrap()
    }

    #[test]
    fn mingled_runs_are_called_noise_not_a_percentage() {
        // A student's runs: the medians differ by 40%, the samples mingle.
        let line = overhead_line(
            &s(&[0.7e9, 0.8e9, 1.6e9, 1.5e9, 0.9e9]),
            &s(&[1.0e9, 1.3e9, 1.4e9, 1.2e9, 0.8e9]),
        );
        assert!(line.starts_with("within noise"), "{line}");
        assert!(!line.contains('%'), "{line}");
    }

    #[test]
    fn separate_runs_say_which_way() {
        let (slow, fast) = (
            s(&[2.0e9, 2.1e9, 2.0e9, 2.05e9, 1.9e9]),
            s(&[1.0e9, 1.1e9, 1.05e9, 1.02e9, 1.1e9]),
        );
        let slower = overhead_line(&slow, &fast);
        assert!(
            slower.starts_with("slower beyond noise, by 90%"),
            "{slower}"
        );
        let faster = overhead_line(&fast, &slow);
        assert!(faster.contains("noise"), "{faster}");
        // Two repeats each could never show a difference at 99%.
        let few = overhead_line(&s(&[2.0e9, 2.1e9]), &s(&[1.0e9, 1.1e9]));
        assert!(few.starts_with("no verdict from 2 repeats"), "{few}");
    }

    #[test]
    fn looks_are_priced_at_the_busiest_worker() {
        let row = |checks| WorkerRow {
            share: 0..1,
            searched: Searched {
                outcome: Outcome::Exhausted,
                checked: checks * 1000,
                checks,
            },
            after_flag_ns: None,
        };
        let look = s(&[1.0, 2.0, 4.0]);
        let looks = Looks::of(&[row(10), row(1000)], &look, &s(&[1e6])).unwrap();
        assert_eq!(looks.per_worker, 1000);
        assert_eq!((looks.cost_ns.min, looks.cost_ns.median), (1000.0, 2000.0));
        assert_eq!(looks.pct_of_search, 0.2);
        assert!(looks.line(&look).ends_with(", 0.20% of the search"));
        assert_eq!(Looks::of(&[row(0)], &look, &s(&[1e6])), None);
    }

    #[test]
    fn small_percentages_keep_two_figures() {
        assert_eq!(pct(0.0042), "0.0042%");
        assert_eq!(pct(0.2), "0.20%");
        assert_eq!(pct(3.25), "3.2%");
        assert_eq!(pct(42.0), "42%");
        assert_eq!(pct(0.0), "0%");
    }
}
