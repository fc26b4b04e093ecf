//! Exercise 3.B: an update that cannot be lost through a proxy.
//!
//! A manager owns a counter; workers reach it only by asking, one request
//! and one answer at a time, as chapter 3's proxy does. `add_one` below is
//! `counter.value += 1` done through a proxy: read, then write back. Two
//! workers that read the same value both write back that value plus one,
//! and one of the two additions is lost. Make the addition one request that
//! the manager carries out whole: add what the protocol needs to
//! [`Request`], carry it out in [`serve`], and use it in [`add_one`].
//!
//! Check: `cargo test -p exercises -- --ignored ch03`. The test runs
//! `exercises ch03`: worker processes that each add one many times, and the
//! parent playing the manager, serving one request at a time.

use serde::{Deserialize, Serialize};

/// A worker's request to the manager.
#[derive(Debug, Serialize, Deserialize)]
pub enum Request {
    /// What is the counter's value?
    Get,
    /// Make the counter this value.
    Set(u64),
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
    }
}

/// In a worker: adds one to the manager's counter. `ask` sends one request
/// and waits for its answer (a round trip to the manager).
pub fn add_one(
    ask: &mut impl FnMut(Request) -> anyhow::Result<Answer>,
) -> anyhow::Result<()> {
    let Answer::Value(v) = ask(Request::Get)? else {
        anyhow::bail!("the manager did not answer Get with a value");
    };
    ask(Request::Set(v + 1))?;
    Ok(())
}
