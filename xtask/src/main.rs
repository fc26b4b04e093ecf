//! The project's own commands, run with `cargo xtask <command>`.
//!
//! - `cargo xtask measure` reruns every measurement the book shows and writes
//!   `book/src/measured/`, each file stamped with the machine and revision.
//! - `cargo xtask ci` is the one test command: it installs what is missing
//!   (mdbook, redis-server), then runs fmt, clippy, every test and the book
//!   checks, and the exercises' check. `.ci/run` calls it and nothing else.
//! - `cargo xtask exercises`: only that check: every exercise test passes
//!   on the solutions and fails on the stubs.
//! - `cargo xtask verdicts BEFORE`: which verdicts moved since an earlier
//!   copy of `book/src/measured/` (two runs of `measure` must not disagree).

// Who uses whom, top to bottom; no module uses one above it:
//
//   main -> ci -> book (the checks) -> render (tables, charts) -> data
//   main -> ci -> exercises (solutions pass, stubs fail)
//   main -> measure (runs the programs, writes files) -> render, data
//   main -> verdicts (two runs' verdicts side by side) -> data
//   measure -> distance (chapter 6 at a distance) -> netns, relay
//   book -> commands (runs every command the book shows)
//   book -> numbers (no figure typed into prose)
//   workspace (the root folder, running a command) under them all
mod book;
mod ci;
mod commands;
mod data;
mod distance;
mod exercises;
mod measure;
mod netns;
mod numbers;
mod relay;
mod render;
mod verdicts;
mod workspace;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(about = "The workspace's own commands")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Rerun every measurement and rewrite book/src/measured/
    Measure {
        /// Only the measurements whose file name contains this (repeat it
        /// for several: `--only 01- --only py-side-by-side`)
        #[arg(long)]
        only: Vec<String>,
    },
    /// The test command: install what is missing, then fmt, clippy, tests, book
    Ci,
    /// Only the book checks: includes, anchors, links, measured files, every
    /// command shown, mdbook build
    Book,
    /// Which verdicts moved since an earlier copy of book/src/measured/
    /// (`cp -r book/src/measured /tmp/run1`, measure, then compare)
    Verdicts {
        /// The earlier copy of book/src/measured/
        before: std::path::PathBuf,
    },
    /// Only the exercises' check: each exercise test passes on its solution
    /// and fails on the unsolved stub
    Exercises,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.task {
        Task::Measure { only } => measure::run(&only),
        Task::Ci => ci::run(),
        Task::Book => book::check(),
        Task::Verdicts { before } => verdicts::run(&before),
        Task::Exercises => exercises::check(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}
