//! Everything the book shows that is made from measured data: markdown
//! tables that set each claim beside its figure, and SVG charts.
//!
//! A renderer is a function of the typed [`Data`] alone: it reads no file
//! and runs nothing, so `cargo xtask measure` can write what it returns and
//! the book checks can compare it with what is committed.

pub mod charts;
mod distance;
pub mod fraud;
pub mod message;
pub mod tables;
pub mod verdict;

use crate::data::Data;

/// Makes one file's text from the measured data.
pub type Render = fn(&Data) -> anyhow::Result<String>;

/// Every file made from measured data, by name under `book/src/measured/`,
/// with what makes it: the tables, then the charts.
pub const RENDERED: &[(&str, Render)] = &[
    ("01-queues.md", tables::queues),
    ("01-sweep.md", tables::sweep),
    ("01-claims.md", tables::work_queue_claims),
    ("02-claims.md", tables::pill_claims),
    ("03-claims.md", tables::manager_claims),
    ("04-05-claims.md", tables::local_flag_claims),
    ("06-claims.md", tables::redis_claims),
    ("tradeoffs.md", tables::tradeoffs),
    ("rules.md", tables::rules),
    ("python.md", tables::python),
    ("07-claims.md", message::message_claims),
    ("07-verdict.md", message::message_verdict),
    ("fraud-vs-prime.md", fraud::fraud),
    ("06-rtt.md", distance::table),
    ("hpp.md", tables::hpp),
    ("stop-latency.md", tables::stop_latency),
    ("cost-per-look.svg", charts::cost_per_look),
    ("check-interval.svg", charts::check_interval),
    ("stop-latency.svg", charts::stop_latency),
    ("queue-cost.svg", charts::queue_cost),
    ("queue-cost-batched.svg", charts::queue_cost_batched),
    ("06-rtt.svg", distance::chart),
];
