//! What runs each exercise with real processes: the parent's side and the
//! worker's, around the student's code. Not part of any exercise; the tests
//! run these through the `exercises` binary (see `src/main.rs`).

pub mod ch01;
pub mod ch02;
pub mod ch03;
pub mod ch04;
pub mod ch05;
pub mod ch07;

use std::time::{Duration, Instant};
use workers::pool::{Heard, Pool};

/// How long a whole exercise run may take before the parent gives up.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// How long a worker gets to exit once told to.
pub const REAP: Duration = Duration::from_secs(5);

/// Waits for news from the pool, failing once the run is past `DEADLINE`
/// (counted from `start`) or a worker turns silent: nothing here hangs.
pub fn news<D, M>(
    pool: &mut Pool<D, M>,
    start: Instant,
) -> anyhow::Result<Vec<Heard<M>>>
where
    D: serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
    M: serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
{
    anyhow::ensure!(
        start.elapsed() < DEADLINE,
        "the run took longer than {} s: something waits for what never comes",
        DEADLINE.as_secs()
    );
    let heard = pool.wait(Duration::from_millis(100))?;
    for h in &heard {
        if let Heard::Silent(w, quiet) = h {
            anyhow::bail!(
                "worker {w} was silent for {:.1} s: stuck?",
                quiet.as_secs_f64()
            );
        }
    }
    Ok(heard)
}

/// Lets every worker go (closes its channel) and reaps it.
pub fn let_go<D, M>(mut pool: Pool<D, M>) -> anyhow::Result<()>
where
    D: serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
    M: serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
{
    for w in 0..pool.len() {
        pool.hang_up(w);
    }
    for w in 0..pool.len() {
        pool.reap(w, REAP)?;
    }
    Ok(())
}

/// The arguments that make a worker play `role`.
pub fn role(role: &str) -> Vec<String> {
    vec!["--role".into(), role.into()]
}
