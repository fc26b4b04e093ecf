//! Chapter 6 at a distance: what `cargo xtask measure` runs at each simulated
//! round trip, and the document it writes for each, `06-rtt-<distance>.json`.
//!
//! At each distance the programs run in a network namespace of their own and
//! reach Redis through a relay that delays each direction by half the round
//! trip (see `crate::relay` and `crate::netns`); at "loopback" they run
//! beside the server with no relay, as every other measurement of chapter 6.

use super::{Measured, RedisBenchmark};
use redis_flag::DistributedReport;
use serde::{Deserialize, Serialize};
use workers::flag;

/// What to run at one distance.
#[derive(Debug)]
pub struct Plan {
    /// The file under `book/src/measured/`.
    pub file: &'static str,
    /// The relay's delay each way, in microseconds; 0 means no relay at all.
    pub one_way_us: u64,
    /// The check intervals polled, each with its number of timed searches.
    /// An interval whose looks alone would take many seconds per search at
    /// this distance is left out, and the dearest is searched once: the table
    /// shows the overhead the look's cost predicts in its place. The others
    /// five times, the fewest from which a verdict can come at 99%.
    pub polls: &'static [(u64, u32)],
    /// Stop-latency trials per run: fewer at 10 ms, where each costs tens of
    /// milliseconds of round trips.
    pub trials: u32,
    /// Distributed runs, each timed whole.
    pub coordinate_runs: u32,
    /// GETs `redis-benchmark` times: about two seconds of round trips.
    pub gets: u32,
}

/// Every distance, nearest first. The chapter's own intervals are 1000 to
/// 1,000,000 candidates; a look every 1000 at 0.2 ms would take a minute
/// per search, and at 10 ms, a look every 10,000 over a minute too.
pub const RTT_PLANS: &[Plan] = &[
    Plan {
        file: "06-rtt-loopback.json",
        one_way_us: 0,
        polls: &[(1_000, 1), (10_000, 5), (100_000, 5), (1_000_000, 5)],
        trials: 20,
        coordinate_runs: 3,
        gets: 20_000,
    },
    Plan {
        file: "06-rtt-0.2ms.json",
        one_way_us: 100,
        polls: &[(10_000, 1), (100_000, 5), (1_000_000, 5)],
        trials: 20,
        coordinate_runs: 3,
        gets: 5_000,
    },
    Plan {
        file: "06-rtt-1ms.json",
        one_way_us: 500,
        polls: &[(10_000, 1), (100_000, 5), (1_000_000, 5)],
        trials: 20,
        coordinate_runs: 3,
        gets: 2_000,
    },
    Plan {
        file: "06-rtt-10ms.json",
        one_way_us: 5_000,
        polls: &[(100_000, 1), (1_000_000, 5)],
        trials: 10,
        coordinate_runs: 3,
        gets: 200,
    },
];

/// The check intervals the chapter's table measures, which the distance
/// table has a column for each.
pub const CHAPTER_INTERVALS: [u64; 4] = [1_000, 10_000, 100_000, 1_000_000];

/// The chapter's default interval: the stop latency polled is shown at it,
/// and it is measured at every distance.
pub const DEFAULT_INTERVAL: u64 = 100_000;

/// `06-rtt-<distance>.json`: chapter 6 at one distance.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Distance {
    /// The round trip the relay adds, in nanoseconds: twice its delay each
    /// way. 0: no relay.
    pub added_rtt_ns: u64,
    /// How the programs reached the server.
    pub path: Path,
    /// `redis-benchmark`, one client, GET, over the same path: what one
    /// round trip costs there.
    pub floor: Run<RedisBenchmark>,
    /// The prime case polled, one run per check interval, smallest first.
    pub polls: Vec<Run<flag::Report>>,
    /// The prime case pushed, read every 1000 candidates.
    pub push: Run<flag::Report>,
    /// `coordinate --local-workers 2`: the coordinator and its two workers
    /// all at this distance from the server.
    pub coordinate: Vec<Run<DistributedReport>>,
}

/// How the programs reached the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Path {
    /// Beside it, over loopback, with no relay.
    Loopback,
    /// From a network namespace of their own, over a veth pair to the
    /// relay on the host.
    Namespace,
    /// Through the relay over loopback, because no namespace could be made
    /// (`why`).
    RelayOnLoopback { why: String },
}

/// One command run at a distance, and what it printed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Run<T> {
    /// The command, as a student types it (at a distance, it is run with
    /// `REDIS_URL` set to the relay, inside the namespace).
    pub command: String,
    /// Nanoseconds from starting the command to its exit, measured by xtask.
    pub wall_ns: u64,
    /// Its `--json` document.
    pub output: T,
}

impl Measured<Distance> {
    /// The polled run at check interval `k`, if it was measured here.
    pub fn poll(&self, k: u64) -> Option<&Run<flag::Report>> {
        (self.output.polls.iter()).find(|r| r.output.check_every == k)
    }

    /// The polled run at the chapter's default interval, or an error naming
    /// the file.
    pub fn poll_default(&self) -> anyhow::Result<&Run<flag::Report>> {
        use anyhow::Context;
        self.poll(DEFAULT_INTERVAL).with_context(|| {
            format!(
                "{} has no run polled every {DEFAULT_INTERVAL}: rerun \
                 `cargo xtask measure --only 06-rtt`",
                self.file
            )
        })
    }
}
