//! The fraud scan beside the prime search: the same four flags, the same
//! timed searches, over transactions read from memory instead of divisions.

use super::tables::{credits, overhead, with_spread};
use super::verdict;
use crate::data::{Data, Measured};
use anyhow::Context;
use workers::flag::Report;
use workers::report::human_ns;

/// Nanoseconds of serial work per item: one division, or one pair of
/// transactions checked.
fn per_item(r: &Report) -> f64 {
    let items = r.per_worker.last().map_or(1, |w| w.share.end).max(1);
    r.serial_ns.median / items as f64
}

/// Bytes of transactions per second, as "9.8 GB/s".
fn throughput(bytes: u64, ns: f64) -> String {
    format!("{:.1} GB/s", bytes as f64 / ns)
}

/// The flags' figures on both workloads, chapter by chapter, and what the
/// difference comes to.
pub fn fraud(d: &Data) -> anyhow::Result<String> {
    let pairs: [(&str, &Measured<Report>, &Measured<Report>); 5] = [
        ("Manager (ch. 3)", &d.manager, &d.fraud[0]),
        ("RawValue (ch. 4)", &d.raw, &d.fraud[1]),
        ("mmap (ch. 5)", &d.mmap, &d.fraud[2]),
        ("Redis, polled (ch. 6)", d.redis(), &d.fraud[3]),
        ("a message (ch. 7)", &d.message, &d.fraud[4]),
    ];
    let mut t = String::from(
        "| the flag | work | a look every | serial | parallel | parallel vs serial | flag overhead | stop latency p50 / p99 |\n|---|---|--:|--:|--:|--:|--:|--:|\n",
    );
    for (name, prime, fraud) in pairs {
        for (work, m) in [("divisions", prime), ("transactions", fraud)] {
            let r = &m.output;
            t += &format!(
                "| {name} | {work} | {} | {} | {} | {} | {} | {} / {} |\n",
                r.check_every,
                with_spread(&r.serial_ns, human_ns),
                with_spread(&r.parallel_ns, human_ns),
                verdict::speedup(&r.serial_ns, &r.parallel_ns),
                overhead(m)?,
                human_ns(r.stop_latency_ns.median),
                human_ns(r.stop_latency_ns.p99),
            );
        }
    }
    let (mmap, mmap_scan) = (&d.mmap.output, &d.fraud[2].output);
    for m in &d.fraud {
        m.output.scan.as_ref().with_context(|| {
            format!("{} has no `scan`: not run with --workload fraud", m.file)
        })?;
    }
    let s = mmap_scan.scan.as_ref().expect("checked just above");
    t += &format!(
        "\n{} workers. Divisions: the prime case ({}), {} odd candidates. Transactions: {} \
         of them ({} MB, generated once in {}, before the workers start), no fraud \
         planted, {} pairs. In both, nothing is found: every look at the flag is \
         overhead. Times are medians of the searches timed, with min – max; a \
         speedup or an overhead says \"within noise\" where the searches cannot be told \
         apart.\n\n",
        mmap.workers,
        mmap.n,
        d.mmap.output.per_worker.last().map_or(0, |w| w.share.end),
        s.transactions,
        s.bytes / 1_000_000,
        human_ns(s.generate_ns as f64),
        mmap_scan.per_worker.last().map_or(0, |w| w.share.end),
    );
    // What one item costs, and what the flag costs against the work between
    // two looks: the two figures the workloads differ in.
    let (division, pair) = (per_item(mmap), per_item(mmap_scan));
    t += &format!(
        "- One item, serially (chapter 5's runs): a division takes {}, a pair of \
         transactions {}. One process scans {}; {} workers together {}.\n",
        human_ns(division),
        human_ns(pair),
        throughput(s.bytes, mmap_scan.serial_ns.median),
        mmap_scan.workers,
        throughput(s.bytes, mmap_scan.parallel_ns.median),
    );
    for (name, prime, fraud) in [
        ("the manager's", &d.manager.output, &d.fraud[0].output),
        ("Redis's", &d.redis().output, &d.fraud[3].output),
        ("the mmap flag's", mmap, mmap_scan),
    ] {
        let between = |r: &Report| r.check_every as f64 * per_item(r);
        t += &format!(
            "- Between two looks a worker does {} of divisions or {} of scanning; {} \
             look ({}) is {:.2}% of the first and {:.2}% of the second.\n",
            human_ns(between(prime)),
            human_ns(between(fraud)),
            name,
            human_ns(fraud.check_ns.median),
            100.0 * fraud.check_ns.median / between(prime),
            100.0 * fraud.check_ns.median / between(fraud),
        );
    }
    let docs: Vec<_> = (pairs.iter())
        .flat_map(|(_, prime, fraud)| [prime, fraud])
        .map(|m| (&m.stamp, m.command.as_str()))
        .collect();
    t += &format!("\n{}\n", credits(&docs));
    Ok(t)
}
