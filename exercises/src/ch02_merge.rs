//! Exercise 2.B: a pipeline stage fed by several producers.
//!
//! In chapter 2's pipeline each stage has one producer upstream, so a stage
//! passes the pill on as soon as it sees it. Here two producer processes
//! send into the same stage, each ending with its own pill. The stage below
//! passes the pill on at the first one, and ends: whatever the other
//! producer still sends is never read. Make [`Merge::on`] pass the pill
//! downstream only once every producer upstream has sent its own.
//!
//! Check: `cargo test -p exercises -- --ignored ch02`. The test runs
//! `exercises ch02`: two producer processes, this stage in a third, and the
//! parent collecting what the stage passes on.

use serde::{Deserialize, Serialize};

/// What travels down the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Item {
    /// A number that passed the stage's test (here: a prime).
    Number(u64),
    /// The poison pill: "nothing more will come from me".
    Pill,
}

/// The stage's books: how many producers feed it, and what it has seen.
#[derive(Debug)]
pub struct Merge {
    /// Producers upstream, each of which ends with one pill.
    upstream: usize,
}

impl Merge {
    /// A stage fed by `upstream` producers.
    pub fn new(upstream: usize) -> Merge {
        Merge { upstream }
    }

    /// What to pass downstream for one item that arrived, if anything. The
    /// stage ends right after it passes on a pill.
    pub fn on(&mut self, item: Item) -> Option<Item> {
        let _ = self.upstream;
        Some(item)
    }
}
