//! Exercise 3.B, solved: an update that cannot be lost through a proxy.
//!
//! The manager serves one request at a time, so a request it carries out
//! whole is indivisible: `Add(1)` reads and writes the counter inside the
//! manager, with no other worker's request in between. One round trip
//! instead of two, too.

use serde::{Deserialize, Serialize};

/// A worker's request to the manager.
#[derive(Debug, Serialize, Deserialize)]
pub enum Request {
    /// What is the counter's value?
    Get,
    /// Make the counter this value.
    Set(u64),
    /// Add this to the counter, in the manager, in one step.
    Add(u64),
}

/// The manager's answer.
#[derive(Debug, Serialize, Deserialize)]
pub enum Answer {
    /// The counter's value.
    Value(u64),
    /// Done.
    Ok,
}

/// In the manager: carries out one request on the counter it owns.
pub fn serve(counter: &mut u64, request: Request) -> Answer {
    match request {
        Request::Get => Answer::Value(*counter),
        Request::Set(v) => {
            *counter = v;
            Answer::Ok
        }
        Request::Add(d) => {
            *counter += d;
            Answer::Value(*counter)
        }
    }
}

/// In a worker: adds one to the manager's counter. `ask` sends one request
/// and waits for its answer (a round trip to the manager).
pub fn add_one(
    ask: &mut impl FnMut(Request) -> anyhow::Result<Answer>,
) -> anyhow::Result<()> {
    ask(Request::Add(1))?;
    Ok(())
}
