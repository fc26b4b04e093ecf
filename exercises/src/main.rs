//! The exercises' runs, for their tests: `exercises ch01` ... `exercises
//! ch07` each run one build-it exercise with real worker processes (this
//! binary again, as `exercises worker --role chNN`) and the student's code,
//! and end with status 0 only if the answer is right. Chapter 6's exercise
//! needs no processes of its own: its test talks to a real `redis-server`.
//!
//! Run one by hand: `cargo run -p exercises -- ch01` (the stubs), or
//! `cargo run -p exercises --features solutions -- ch01` (the answers).

use clap::{Parser, Subcommand, ValueEnum};
use exercises::run;
use std::process::ExitCode;
use workers::WorkerArgs;
use workers::search::Case;

/// Runs one build-it exercise with real processes; exits 0 only if the
/// answer is right.
#[derive(Debug, Parser)]
#[command(name = "exercises")]
struct Cli {
    #[command(subcommand)]
    run: Run,
}

#[derive(Debug, Subcommand)]
enum Run {
    /// Exercise 1.B: count the primes below --to; one worker dies holding one
    Ch01 {
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(2..=64))]
        workers: u16,
        #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(100..=10_000_000))]
        to: u64,
    },
    /// Exercise 2.B: two producers feed one stage, which passes primes on
    Ch02 {
        #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(100..=10_000_000))]
        to: u64,
    },
    /// Exercise 3.B: workers add one to a counter through its manager
    Ch03 {
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(2..=64))]
        workers: u16,
        /// Additions per worker
        #[arg(long, default_value_t = 3000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
        times: u64,
    },
    /// Exercise 4.B: workers claim numbers from a counter in shared memory
    Ch04 {
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(2..=64))]
        workers: u16,
        #[arg(long, default_value_t = 2_000_000, value_parser = clap::value_parser!(u64).range(100..=100_000_000))]
        to: u64,
    },
    /// Exercise 5.B: the flag chapters' search, on an eventfd flag
    Ch05 {
        #[arg(long, value_enum, default_value_t = Case::Early)]
        case: Case,
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
        workers: u16,
    },
    /// Exercise 7.B: a supervisor forwards stops to every worker's inbox
    Ch07 {
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(2..=64))]
        workers: u16,
    },
    /// Internal: run as a worker process (started by the parent).
    #[command(hide = true)]
    Worker {
        #[command(flatten)]
        link: WorkerArgs,
        #[arg(long, value_enum)]
        role: Role,
        /// Die on receiving this many numbers (exercise 1.B).
        #[arg(long)]
        crash_after: Option<u64>,
        /// The descriptor of this worker's inbox (exercise 7.B).
        #[arg(long)]
        inbox: Option<i32>,
    },
}

/// Which exercise a worker serves.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Role {
    Ch01,
    Ch02,
    Ch03,
    Ch04,
    Ch05,
    Ch07,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.run {
        Run::Worker {
            link,
            role,
            crash_after,
            inbox,
        } => workers::run_worker(|| match role {
            Role::Ch01 => run::ch01::worker(&link, crash_after),
            Role::Ch02 => run::ch02::worker(&link),
            Role::Ch03 => run::ch03::worker(&link),
            Role::Ch04 => run::ch04::worker(&link),
            Role::Ch05 => run::ch05::worker(&link),
            Role::Ch07 => match inbox {
                Some(fd) => run::ch07::worker(&link, fd),
                None => anyhow::bail!("a chapter 7 worker needs --inbox"),
            },
        }),
        // Worker 1 of the three dies on receiving its 50th number.
        Run::Ch01 { workers, to } => workers::run_parent(|| {
            run::ch01::parent(usize::from(workers), 0..to, Some((1, 50)))
        }),
        Run::Ch02 { to } => workers::run_parent(|| run::ch02::parent(0..to)),
        Run::Ch03 { workers, times } => {
            workers::run_parent(|| run::ch03::parent(usize::from(workers), times))
        }
        Run::Ch04 { workers, to } => {
            workers::run_parent(|| run::ch04::parent(usize::from(workers), to))
        }
        Run::Ch05 { case, workers } => {
            workers::run_parent(|| run::ch05::parent(case, workers))
        }
        Run::Ch07 { workers } => {
            workers::run_parent(|| run::ch07::parent(usize::from(workers)))
        }
    }
}
