//! What a flag run measured: summarized, checked, and printed.

use super::parent::SAMPLES;
use super::{SearchArgs, Timing, Work};
use crate::fraud::Scan;
use crate::report::{Machine, Table, human_ns, print_json, ratio, spread};
use crate::search::{Case, Outcome, Searched, candidate, candidates};
use crate::stats::Summary;
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
        Ok(Report {
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
            parallel_ns: summary(&self.parallel_ns),
            serial_ns: summary(&serial),
            unchecked_ns: Summary::of(&self.unchecked_ns),
            check_ns: summary(&self.check_ns),
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
    /// timed that search (the prime case does).
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
        println!(
            "Parallel against serial: {}.",
            ratio(r.serial_ns.median / r.parallel_ns.median)
        );
        if let Some(overhead) = r.overhead_pct() {
            println!("Looking at the flag cost {overhead:+.1}% of the search time.");
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
