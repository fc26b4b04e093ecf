//! Chapter 7's tables: the stop sent as a message beside the shared flags,
//! and the conclusion the talk-less chapter draws from them, in words chosen
//! by the numbers.

use super::tables::{count, credits, design_name, overhead};
use crate::data::{Data, Measured, Stamp, Summary};
use workers::flag;
use workers::report::human_ns;
use workers::stats::Compared;

/// "p50 / p99" of the time from a stop asked for to every worker stopped.
fn latency(m: &Measured<flag::Report>) -> String {
    let l = &m.output.stop_latency_ns;
    format!("{} / {}", human_ns(l.median), human_ns(l.p99))
}

/// How many times as much: "990x", "21x", "2.4x".
fn times(x: f64) -> String {
    if x >= 10.0 {
        format!("{x:.0}x")
    } else {
        format!("{x:.1}x")
    }
}

/// Nanoseconds of one look, median.
fn look(m: &Measured<flag::Report>) -> f64 {
    m.output.check_ns.median
}

/// One look's samples, as a range.
fn look_spread(m: &Measured<flag::Report>) -> &Summary {
    &m.output.check_ns
}

/// The stop-latency trials, as a range.
fn stop_spread(m: &Measured<flag::Report>) -> &Summary {
    &m.output.stop_latency_ns
}

/// Chapter 7: the stop as a message, beside the flags and beside what the
/// book built earlier that follows the text's design rule.
pub fn message_claims(d: &Data) -> anyhow::Result<String> {
    let (msg, msg_k1000, mmap, push, manager) =
        (&d.message, &d.message_k1000, &d.mmap, &d.push, &d.manager);
    let mut t = String::from(
        "| how the stop travels | what the processes share | one look | a look every | flag overhead | stop latency p50 / p99 |\n|---|---|--:|--:|--:|--:|\n",
    );
    let rows: [(&str, &str, &Measured<flag::Report>); 5] = [
        (
            "a message in each worker's inbox, via a supervisor (ch. 7)",
            "nothing: each pipe has one reader",
            msg,
        ),
        ("the same, looking more often (ch. 7)", "nothing", msg_k1000),
        (
            "a byte of a shared page (ch. 5)",
            "one page of memory, read by all",
            mmap,
        ),
        (
            "pushed by Redis pub/sub to a byte of each process (ch. 6, `--push`)",
            "a server; each process reads its own byte",
            push,
        ),
        (
            "a request to a manager process (ch. 3)",
            "a byte in the manager, asked for by message",
            manager,
        ),
    ];
    for (how, shares, m) in rows {
        t += &format!(
            "| {how} | {shares} | {} | {} | {} | {} |\n",
            human_ns(look(m)),
            m.output.check_every,
            overhead(m)?,
            latency(m),
        );
    }
    t += &format!(
        "\n{} workers, the prime case (no early exit, so every look is overhead). Times \
         are medians; flag overhead compares the same parallel search with and without \
         looking, timed in turn.\n\n",
        msg.output.workers
    );
    let queues = d.queues.iter().map(|q| {
        format!(
            "{} {}",
            human_ns(q.tiny_1.output.overhead_per_task_ns),
            design_name(q.design)
        )
    });
    let queues = queues.collect::<Vec<_>>().join(", ");
    let tiny = &d.queues[0].tiny_1.output;
    t += "| The text says | Measured here |\n|---|---|\n";
    t += &format!(
        "| Prefer message passing to shared mutable state. | A look into an inbox (a read \
         that finds it empty) costs {}; a look at a shared byte {}, {} as much. Looking \
         every {} candidates the message added {} to the search, the byte {}; the \
         message needs a look only every {} to add {}. |\n",
        human_ns(look(msg)),
        human_ns(look(mmap)),
        times(look(msg) / look(mmap)),
        msg_k1000.output.check_every,
        overhead(msg_k1000)?,
        overhead(mmap)?,
        msg.output.check_every,
        overhead(msg)?,
    );
    t += &format!(
        "| Actor models. | Each worker reads only its own inbox, and the supervisor turns \
         one finder's message into a stop for every worker: {} (p50 / p99) from the stop \
         asked for to every worker stopped, against {} for the shared byte. |\n",
        latency(msg),
        latency(mmap),
    );
    t += &format!(
        "| Message queues. | Chapter 1's queue carries the work itself as messages: one \
         number per message, each number cost {queues} on top of its work ({} numbers \
         from {}). Chapter 6's Redis Stream is a message queue that also keeps what a \
         dead worker held. |\n",
        tiny.to - tiny.from,
        tiny.from,
    );
    t += &format!(
        "| Event-driven design. | Chapter 6's `--push`: the stop arrives as a pub/sub \
         message on a thread that does not search, and a look is a load of the \
         process's own byte, {}; the stop takes {} (p50 / p99). |\n",
        human_ns(look(push)),
        latency(push),
    );
    let mut docs: Vec<(&Stamp, &str)> = [msg, msg_k1000, mmap, push, manager]
        .iter()
        .map(|m| (&m.stamp, m.command.as_str()))
        .collect();
    docs.extend(
        (d.queues.iter()).map(|q| (&q.tiny_1.stamp, q.tiny_1.command.as_str())),
    );
    t += &format!("\n{}\n", credits(&docs));
    Ok(t)
}

/// The talk-less chapter's conclusion on the design rule, chosen by the
/// numbers: is a one-way shared flag cheaper than a message, or not?
pub fn message_verdict(d: &Data) -> anyhow::Result<String> {
    let (msg, msg_k1000, mmap) = (&d.message, &d.message_k1000, &d.mmap);
    anyhow::ensure!(
        msg_k1000.output.check_every == mmap.output.check_every,
        "{} and {} look at different intervals: rerun `cargo xtask measure`",
        msg_k1000.file,
        mmap.file
    );
    let c = d.raw_count.counted()?;
    let lost = count(c.expected.saturating_sub(c.racy));
    // "Dearer" and "slower" only beyond noise (the book's one rule,
    // `Summary::compare`).
    let look_verdict = look_spread(msg).compare(look_spread(mmap));
    let dearer_look = look_verdict == Compared::Higher;
    let (msg_stop, mmap_stop) = (
        msg.output.stop_latency_ns.median,
        mmap.output.stop_latency_ns.median,
    );
    let stop_verdict = stop_spread(msg).compare(stop_spread(mmap));
    let slower_stop = stop_verdict == Compared::Higher;
    let mut t = format!(
        "- **A look.** Into an inbox, {}: a system call that finds nothing. At a shared \
         byte, {}: a load. {}\n",
        human_ns(look(msg)),
        human_ns(look(mmap)),
        match look_verdict {
            Compared::Higher => {
                format!("The message is {} as dear.", times(look(msg) / look(mmap)))
            }
            Compared::Lower => format!(
                "The message is the cheaper, by {}.",
                times(look(mmap) / look(msg))
            ),
            Compared::WithinNoise =>
                "Their samples cannot tell them apart: within noise.".to_string(),
            Compared::TooFew => "Too few samples to compare.".to_string(),
        }
    );
    t += &format!(
        "- **The search.** Looking every {} candidates, the inbox added {} to the prime \
         search and the shared byte {}. At its own default, a look every {} candidates, \
         the inbox added {}, and a stop may then go unseen for that many candidates.\n",
        msg_k1000.output.check_every,
        overhead(msg_k1000)?,
        overhead(mmap)?,
        msg.output.check_every,
        overhead(msg)?,
    );
    t += &format!(
        "- **A stop.** Through the supervisor to every inbox, {} (p50 / p99); through the \
         shared byte, {}. {}\n",
        latency(msg),
        latency(mmap),
        match stop_verdict {
            Compared::Higher => format!(
                "The message takes {} as long at the median, slower beyond noise: \
                 it goes through the parent's supervisor thread, which must be \
                 woken and given a core.",
                times(msg_stop / mmap_stop)
            ),
            _ => "The two sets of trials cannot be told apart: the hop through the \
                  supervisor cost no more than the flag, within noise."
                .to_string(),
        }
    );
    // Is a shared byte (chapter 4 or 5) the cheapest look of all the ways
    // the book built to hear a stop?
    let shared = [&d.raw, mmap]
        .into_iter()
        .min_by(|a, b| look(a).total_cmp(&look(b)))
        .map(look_spread)
        .expect("two flags");
    let others = [msg, &d.push, &d.manager, d.redis()].map(look_spread);
    let shared_cheapest =
        (others.iter()).all(|o| shared.compare(o) == Compared::Lower);
    t += &if dearer_look && shared_cheapest {
        format!(
            "\nSo the cheapest coordination measured in this book is shared state: one \
             byte, written once by one process and read by all{}. The text's warnings \
             are about state that many processes change: the counter beside chapter 4's \
             flag lost {lost} of {} updates when every worker wrote it. A flag that only \
             ever goes up, once, has nothing to lose.\n",
            if slower_stop {
                ""
            } else {
                " (though the message stopped the workers as fast)"
            },
            count(c.expected)
        )
    } else if dearer_look {
        "\nSo a look into an inbox cost more than a look at a shared byte, though on \
         this run another way of hearing a stop was cheaper still.\n"
            .to_string()
    } else {
        "\nSo on this machine a look into an inbox, with nothing shared at all, cost no \
         more than a look at a shared byte: the design rule cost nothing here.\n"
            .to_string()
    };
    let docs =
        [msg, msg_k1000, mmap, &d.raw_count].map(|m| (&m.stamp, m.command.as_str()));
    t += &format!("\n{}\n", credits(&docs));
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verdict_follows_the_numbers_whichever_way_they_come_out() {
        let mut d = Data::load().unwrap();
        let byte = d.mmap.output.clone();
        let cheapest =
            "the cheapest coordination measured in this book is shared state";
        // A message a thousand times dearer to look for, and slower to stop.
        // Every sample scaled, so that the two lie apart.
        let scaled = |s: &workers::stats::Summary, by: f64| s.scaled(by);
        let m = &mut d.message.output;
        m.check_ns = scaled(&byte.check_ns, 1000.0);
        m.stop_latency_ns = scaled(&byte.stop_latency_ns, 20.0);
        // The byte's range must lie below every other way too.
        for other in [&mut d.push, &mut d.manager] {
            other.output.check_ns = scaled(&byte.check_ns, 1000.0);
        }
        for poll in &mut d.polls {
            poll.output.check_ns = scaled(&byte.check_ns, 1000.0);
        }
        let v = message_verdict(&d).unwrap();
        assert!(v.contains(cheapest) && v.contains("1000x as dear"), "{v}");
        assert!(v.contains("20x as long"), "{v}");
        // A message as cheap as the byte, and as fast.
        let m = &mut d.message.output;
        (m.check_ns, m.stop_latency_ns) =
            (byte.check_ns, byte.stop_latency_ns.clone());
        let v = message_verdict(&d).unwrap();
        assert!(!v.contains(cheapest), "{v}");
        assert!(v.contains("the design rule cost nothing here"), "{v}");
        assert!(v.contains("cost no more than the flag"), "{v}");
    }
}
