//! What every chapter needs but is not its lesson.
//!
//! Each numbered crate's `main.rs` shows one coordination mechanism. The plumbing
//! around it (starting worker processes and making sure they die, Ctrl-C, the
//! prime test, a clock every process can read, statistics and report printing)
//! lives here once, so the lessons stay short and the book explains it once.

pub mod clock;
pub mod coop;
pub mod crew;
pub mod interrupt;
pub mod prime;
pub mod ps;
pub mod report;
pub mod search;
pub mod stats;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use crew::{Crew, WorkerEnd};

/// Warns on standard error when this build's timings would mislead.
///
/// The workspace's dev profile is optimized, so `cargo run` prints representative
/// numbers. Someone who turns debug assertions back on gets a warning on every run
/// rather than silently slower figures.
pub fn warn_if_unoptimized() {
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: built with debug assertions; timings are not representative \
             (see [profile.dev] in Cargo.toml)"
        );
    }
}
