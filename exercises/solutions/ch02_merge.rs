//! Exercise 2.B, solved: a pipeline stage fed by several producers.
//!
//! A pill says "nothing more from me", about one producer only. The stage
//! counts pills, swallows all but the last, and passes one pill on when
//! every producer has sent its own: only then can nothing more arrive.

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
    /// Pills received so far.
    pills: usize,
}

impl Merge {
    /// A stage fed by `upstream` producers.
    pub fn new(upstream: usize) -> Merge {
        Merge { upstream, pills: 0 }
    }

    /// What to pass downstream for one item that arrived, if anything. The
    /// stage ends right after it passes on a pill.
    pub fn on(&mut self, item: Item) -> Option<Item> {
        match item {
            Item::Number(_) => Some(item),
            Item::Pill => {
                self.pills += 1;
                (self.pills == self.upstream).then_some(Item::Pill)
            }
        }
    }
}
