//! What a run found, in words and a table for people.
//!
//! With `--json` the program prints the `Report` itself instead; its type is
//! in lib.rs, where `cargo xtask` reads it too.

use crate::{Report, Shutdown, crash, too_few_pills};
use workers::report::{Table, human_ns};

/// The text report: how the workers ended, what was found, and a verdict.
pub fn print_run(r: &Report) {
    println!(
        "Checked {}..{} with {} worker processes, {} per message.",
        r.from, r.to, r.workers, r.batch
    );
    for death in &r.deaths {
        println!("{death}.");
    }
    let e = &r.ending;
    let said = match e.how {
        Shutdown::Pill if r.pills < r.workers => {
            too_few_pills::shortfall(r.pills, r.workers)
        }
        Shutdown::Pill => {
            "one pill per worker, queued behind the work it held".into()
        }
        Shutdown::Close => "the parent dropped its sender to every worker".into(),
        Shutdown::Kill => "SIGKILL to every worker".into(),
    };
    // Ctrl-C is the one way a run ends without a serial reference.
    let interrupted = r.expected.is_none();
    let why = if interrupted {
        "Ctrl-C: the feeding stopped"
    } else {
        "The queue ran dry"
    };
    println!("\n{why}. Shutdown: {said}.");
    let mut t = Table::new(["worker", "held", "answered", "ended"]);
    for (w, end) in e.per_worker.iter().enumerate() {
        t.row([
            w.to_string(),
            format!("{} numbers", end.held),
            end.answered_ns
                .map_or("-".into(), |ns| format!("+{}", human_ns(ns as f64))),
            end.exit.clone().unwrap_or_else(|| "(died earlier)".into()),
        ]);
    }
    print!("{t}");
    println!(
        "Every worker reaped {} after the queue ran dry, {} after the last result.",
        human_ns(e.shutdown_ns as f64),
        human_ns(e.after_last_result_ns as f64)
    );
    let of = r
        .expected
        .map_or(String::new(), |n| format!(" of {n} (a serial run's)"));
    println!(
        "Primes found: {}{of}; numbers handed out but never finished: {}.",
        r.primes.len(),
        e.lost_numbers
    );
    if r.never_started > 0 {
        println!(
            "Interrupted: {} numbers were never handed out; the results above are \
             those of every batch started.",
            r.never_started
        );
    }
    // Workers the deadline caught: those left without a pill (too_few_pills.rs),
    // and those that had one but were alive and silent (stopped, stuck).
    let (unpilled, silent): (Vec<usize>, Vec<usize>) = (e.per_worker.iter())
        .enumerate()
        .filter(|(_, w)| w.overstayed)
        .map(|(i, _)| i)
        .partition(|&i| e.how == Shutdown::Pill && i >= r.pills);
    let names = |ws: &[usize]| ws.iter().map(usize::to_string).collect::<Vec<_>>();
    // The demonstrations' own verdicts are in their files; the first that
    // applies wins, so an interrupted run is never blamed on its pills.
    let verdict = if interrupted && e.lost_numbers == 0 {
        "interrupted: the feeding stopped, every batch handed out was finished \
         and read, and every worker was reaped."
            .to_string()
    } else if interrupted {
        format!(
            "interrupted, and the deadline caught worker {} with work in hand: \
             {} numbers were lost.",
            names(&silent).join(", "),
            e.lost_numbers
        )
    } else if !unpilled.is_empty() {
        too_few_pills::verdict(&names(&unpilled))
    } else if !silent.is_empty() {
        format!(
            "worker {} was told to stop but never did: alive and silent (see \
             \"ended\"). The deadline caught it, it was killed, and the {} numbers \
             it held were lost with their primes.",
            names(&silent).join(", "),
            e.lost_numbers
        )
    } else if e.lost_numbers > 0 || !r.complete {
        format!(
            "fast, but {} numbers in the workers' hands were lost with their primes.",
            e.lost_numbers
        )
    } else if !r.deaths.is_empty() {
        crash::VERDICT.into()
    } else {
        "clean: every task done, every result read, every worker reaped.".into()
    };
    println!("\nVerdict: {verdict}");
}
