//! The figures *High Performance Python* (2nd ed., ch. 9) published, as its
//! companion code holds them: `book/data/hpp.json`.
//!
//! They are not measured here, so they do not sit under `measured/`; they are
//! data all the same, read from one file that names, for each figure, the
//! file it was copied from, the script that timed it and the statistic it is
//! (a minimum of 20 runs, or a single run). No table, chart or page types
//! one of them: `cargo xtask book` looks for them everywhere else.

use crate::workspace::root;
use anyhow::Context;
use serde::Deserialize;
use std::path::PathBuf;

/// `book/data/hpp.json`.
pub fn hpp_file() -> PathBuf {
    root().join("book/data/hpp.json")
}

/// The whole file (its `about` says, for a reader of the JSON, what it is).
#[derive(Debug, Clone, Deserialize)]
pub struct Hpp {
    /// `owner/name` of the companion repository on GitHub.
    pub repository: String,
    /// The commit the figures were read at.
    pub commit: String,
    /// `prime_validation/`: one number checked by a pool, with and without a
    /// stop flag.
    pub prime_validation: PrimeValidation,
    /// `prime_generation/`: a range of numbers through a queue.
    pub queue: QueueFigure,
}

/// HPP's prime-validation figure: seconds to check each of five numbers.
#[derive(Debug, Clone, Deserialize)]
pub struct PrimeValidation {
    /// The file whose lists hold the seconds (the plotting script).
    pub source: String,
    /// What each figure is: the minimum of 20 runs, in seconds.
    pub statistic: String,
    /// Processes in the pool.
    pub processes: u32,
    /// Candidates between two looks at the flag (`CHECK_EVERY`).
    pub check_every: u64,
    /// The numbers checked, in the order of every `seconds` list.
    pub numbers: Vec<Number>,
    /// One row per program timed.
    pub variants: Vec<Variant>,
}

/// One number HPP checks.
#[derive(Debug, Clone, Deserialize)]
pub struct Number {
    /// As HPP's plot labels it, shortened.
    pub label: String,
    /// The number.
    pub n: u64,
}

/// One program of HPP's prime validation and its seconds.
#[derive(Debug, Clone, Deserialize)]
pub struct Variant {
    /// How the book's tables ask for it: `serial`, `pool`, `redis`,
    /// `manager`, `rawvalue`, `mmap`, `mmap3`.
    pub key: String,
    /// What it is, in words.
    pub name: String,
    /// The list in [`PrimeValidation::source`] the seconds were copied from.
    pub list: String,
    /// The script that timed it.
    pub timed_by: String,
    /// Seconds for each of [`PrimeValidation::numbers`], in order.
    pub seconds: Vec<f64>,
}

/// HPP's queue figure: primes in a range, serially and through a queue.
#[derive(Debug, Clone, Deserialize)]
pub struct QueueFigure {
    /// The plotting script that holds the seconds.
    pub source: String,
    /// What each figure is: one run, in whole seconds.
    pub statistic: String,
    /// The first number checked.
    pub from: u64,
    /// One past the last number checked.
    pub to: u64,
    /// Which queue it was, in words.
    pub queue: String,
    /// The run with no queue.
    pub serial: Timed,
    /// The runs through the queue, one per number of worker processes.
    pub queued: Queued,
}

/// One run's seconds and the script that timed it.
#[derive(Debug, Clone, Deserialize)]
pub struct Timed {
    /// The script.
    pub timed_by: String,
    /// Whole seconds.
    pub seconds: f64,
}

/// The queued runs: seconds for each number of worker processes.
#[derive(Debug, Clone, Deserialize)]
pub struct Queued {
    /// The script.
    pub timed_by: String,
    /// Worker processes, one per run.
    pub processes: Vec<u32>,
    /// Whole seconds, one per run.
    pub seconds: Vec<f64>,
}

/// Where HPP's "prime 1" sits in every `seconds` list: the number the book's
/// flag tables set beside their own prime case.
const PRIME_1: &str = "prime 1";

impl Hpp {
    /// Reads `book/data/hpp.json`; an error names the file.
    pub fn load() -> anyhow::Result<Hpp> {
        let file = hpp_file();
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        let hpp: Hpp = serde_json::from_str(&text)
            .with_context(|| format!("{} is not HPP's figures", file.display()))?;
        let v = &hpp.prime_validation;
        let n = v.numbers.len();
        for variant in &v.variants {
            // The plotting script names each list after the script that
            // timed it; the tables say so.
            let stem = (variant.timed_by.rsplit('/').next())
                .and_then(|f| f.strip_suffix(".py"))
                .unwrap_or_default();
            anyhow::ensure!(
                variant.list == format!("times_{stem}"),
                "{}: {}'s list {} is not named after {}",
                file.display(),
                variant.key,
                variant.list,
                variant.timed_by
            );
            anyhow::ensure!(
                variant.seconds.len() == n,
                "{}: {} has {} figures for {n} numbers",
                file.display(),
                variant.key,
                variant.seconds.len()
            );
        }
        let q = &hpp.queue.queued;
        anyhow::ensure!(
            q.processes.len() == q.seconds.len(),
            "{}: the queued runs have {} process counts and {} figures",
            file.display(),
            q.processes.len(),
            q.seconds.len()
        );
        hpp.prime_1_index()?;
        Ok(hpp)
    }

    /// The variant `key`, or an error naming it.
    pub fn variant(&self, key: &str) -> anyhow::Result<&Variant> {
        (self.prime_validation.variants.iter())
            .find(|v| v.key == key)
            .with_context(|| {
                format!("{} has no variant {key:?}", hpp_file().display())
            })
    }

    fn prime_1_index(&self) -> anyhow::Result<usize> {
        (self.prime_validation.numbers.iter())
            .position(|n| n.label == PRIME_1)
            .with_context(|| {
                format!("{} has no number {PRIME_1:?}", hpp_file().display())
            })
    }

    /// Seconds variant `key` took on "prime 1", the minimum of 20 runs.
    pub fn prime_1(&self, key: &str) -> anyhow::Result<f64> {
        Ok(self.variant(key)?.seconds[self.prime_1_index()?])
    }

    /// Every figure in the file, for the check that none is typed elsewhere.
    pub fn figures(&self) -> Vec<f64> {
        let mut all: Vec<f64> = (self.prime_validation.variants.iter())
            .flat_map(|v| v.seconds.iter().copied())
            .collect();
        all.push(self.queue.serial.seconds);
        all.extend(&self.queue.queued.seconds);
        all
    }

    /// A link to `path` in the companion repository, at the commit read.
    pub fn link(&self, path: &str) -> String {
        format!(
            "[`{}`](https://github.com/{}/blob/{}/{path})",
            path.rsplit('/').next().unwrap_or(path),
            self.repository,
            self.commit
        )
    }
}

/// HPP's seconds as the book writes them: two decimals, as its text does.
pub fn seconds(s: f64) -> String {
    if s.fract() == 0.0 {
        // The queue figure's whole seconds.
        format!("{s:.0} s")
    } else if s >= 0.01 {
        format!("{s:.2} s")
    } else {
        format!("{s} s")
    }
}

/// How much slower `slow` is than `fast`, in percent: "+146%".
pub fn slower_pct(slow: f64, fast: f64) -> String {
    format!("{:+.0}%", (slow / fast - 1.0) * 100.0)
}
