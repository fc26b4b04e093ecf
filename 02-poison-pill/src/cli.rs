//! The flags, and the checks clap cannot make.
//!
//! One binary plays every part. Run plainly, it is the parent; the parent
//! starts copies of itself as workers (or pipeline stages) through the
//! hidden subcommands of `Role`.

use crate::{Shutdown, crash, pipeline, too_few_pills};
use clap::{CommandFactory, Parser, Subcommand, error::ErrorKind};
use workers::pool::WorkerArgs;

/// Worker processes check numbers for primes; then they must be told to stop.
#[derive(Debug, Parser)]
#[command(name = "02-poison-pill", args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(flatten)]
    pub run: RunArgs,
    #[command(subcommand)]
    pub role: Option<Role>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Worker processes to start [default: the number of cores]
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub workers: Option<u16>,
    /// First number to check
    #[arg(long, default_value_t = 1_000_000_000_000)]
    pub from: u64,
    /// End of the range (exclusive)
    #[arg(long, default_value_t = 1_000_000_010_000)]
    pub to: u64,
    /// Numbers per message
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub batch: u32,
    /// How to end the workers once the queue is empty
    #[arg(long, value_enum, default_value_t = Shutdown::Pill)]
    pub shutdown: Shutdown,
    /// Send only this many pills: the workers left without one never stop
    #[arg(long, value_name = "N")]
    pub pills: Option<u16>,
    /// Make this worker crash (panic) in the middle of its second batch
    #[arg(long, value_name = "INDEX")]
    pub crash_worker: Option<usize>,
    /// Do what the text's example does: wait for every worker to exit, and
    /// only then read the results
    #[arg(long, conflicts_with_all = ["pills", "crash_worker", "shutdown"])]
    pub join_first: bool,
    /// Produce, check and collect in three processes in a row, the pill
    /// passed from stage to stage
    #[arg(long, conflicts_with_all = ["pills", "crash_worker", "join_first", "workers"])]
    pub pipeline: bool,
    /// Time each way of shutting down several times and count what each loses
    #[arg(long, conflicts_with_all = ["pills", "crash_worker", "join_first", "pipeline", "shutdown"])]
    pub compare: bool,
    /// Rounds per way of shutting down, with --compare
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub repeats: u32,
    /// How long the parent waits for its workers to stop, in milliseconds
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub deadline_ms: u64,
    #[command(flatten)]
    pub liveness: workers::Liveness,
    /// Print one JSON document instead of the text report
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Role {
    /// Internal: run as a worker process (started by the parent).
    #[command(hide = true)]
    Worker {
        #[command(flatten)]
        link: WorkerArgs,
        /// Panic in the middle of the second batch.
        #[arg(long)]
        crash: bool,
    },
    /// Internal: run as one stage of the pipeline (started by the parent).
    #[command(hide = true)]
    Stage {
        #[command(flatten)]
        link: WorkerArgs,
    },
}

/// The most numbers one run may hold in memory as tasks.
const MAX_TASKS: u64 = 10_000_000;

/// Checks what clap cannot: a range we can hold, and flags that make sense
/// together (each demonstration knows its own). Returns the worker count.
pub fn validate(args: &RunArgs) -> usize {
    let fail =
        |msg: String| Cli::command().error(ErrorKind::ValueValidation, msg).exit();
    if let Some(problem) = workers::range_problem(args.from, args.to, MAX_TASKS) {
        fail(problem);
    }
    let workers = workers::worker_count(args.workers);
    let refusals = [
        crash::refused(args, workers),
        too_few_pills::refused(args, workers),
        pipeline::refused(args),
    ];
    if let Some(problem) = refusals.into_iter().flatten().next() {
        fail(problem);
    }
    workers
}
