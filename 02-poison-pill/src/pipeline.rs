//! `--pipeline`: produce, check and collect, three processes in a row.
//!
//! Run it: `cargo run --bin 02-poison-pill -- --pipeline` (and with
//! `--shutdown close`, to end the line by hang-ups instead).
//!
//! Streaming systems and ETL jobs are chains of stages. The pill then has a
//! journey: the first stage sends it after its last item, and each stage,
//! when it receives the pill, first passes it on and only then exits. So every
//! item ahead of the pill has left a stage before that stage is gone.

use crate::Shutdown;
use crate::cli::RunArgs;
use anyhow::{Context, bail};
use ipc_channel::ipc::{self, IpcReceiver, IpcSender};
use serde::{Deserialize, Serialize};
use std::process::ExitCode;
use std::time::Duration;
use workers::clock;
use workers::pool::{Heard, Pool, WorkerArgs, WorkerEnd};
use workers::prime::is_prime;
use workers::report::{Machine, Table, human_ns, print_json};

// What `--pipeline --json` prints, defined where `cargo xtask` reads it too.
use poison_pill::{PipelineReport, StageRow};

/// The stages, in the order items flow.
const STAGES: [&str; 3] = ["produce", "check", "collect"];

// ANCHOR: item
/// What flows down the line.
#[derive(Debug, Serialize, Deserialize)]
enum Item {
    /// Numbers to check (produce to check).
    Numbers(Vec<u64>),
    /// Primes found (check to collect).
    Primes(Vec<u64>),
    /// The pill, carrying how many items were sent before it, so the stage
    /// receiving it can tell that nothing went missing on the way.
    Stop { sent: u64 },
}
// ANCHOR_END: item

/// The parent wires the line: each stage gets the channel ends it needs.
#[derive(Debug, Serialize, Deserialize)]
enum Setup {
    Produce {
        from: u64,
        to: u64,
        batch: u32,
        pill: bool,
        out: IpcSender<Item>,
    },
    Check {
        input: IpcReceiver<Item>,
        out: IpcSender<Item>,
        pill: bool,
    },
    Collect {
        input: IpcReceiver<Item>,
    },
}

/// A stage to the parent.
#[derive(Debug, Serialize, Deserialize)]
enum StageReply {
    /// This stage passed the pill on (or hung up) at `at_ns`; the collector
    /// received it then. It had handled
    /// `handled` numbers or primes; the collector adds what it collected.
    Passed {
        at_ns: u64,
        handled: u64,
        primes: Option<Vec<u64>>,
    },
}

/// In a stage process: receive the wiring, do the stage's work, reply.
pub fn stage(link: &WorkerArgs) -> anyhow::Result<()> {
    let end = WorkerEnd::<StageReply, Setup>::connect(link)?;
    let setup = end
        .down
        .recv()
        .map_err(|e| anyhow::anyhow!("no setup: {e:?}"))?;
    let reply = match setup {
        Setup::Produce {
            from,
            to,
            batch,
            pill,
            out,
        } => produce(from..to, batch, pill, out)?,
        Setup::Check { input, out, pill } => check(input, out, pill)?,
        Setup::Collect { input } => collect(input)?,
    };
    end.up.send(reply)?;
    Ok(())
}

fn send(out: &IpcSender<Item>, item: Item) -> anyhow::Result<()> {
    out.send(item)
        .map_err(|e| anyhow::anyhow!("the next stage is gone: {e:?}"))
}

// ANCHOR: stages
/// First stage: the numbers in batches, then the pill, then exit.
fn produce(
    numbers: std::ops::Range<u64>,
    batch: u32,
    pill: bool,
    out: IpcSender<Item>,
) -> anyhow::Result<StageReply> {
    let numbers: Vec<u64> = numbers.collect();
    for chunk in numbers.chunks(batch as usize) {
        send(&out, Item::Numbers(chunk.to_vec()))?;
    }
    let sent = numbers.len() as u64;
    let reply = passed(sent, None);
    if pill {
        send(&out, Item::Stop { sent })?;
    }
    // Without a pill, dropping `out` on return is the only "no more".
    Ok(reply)
}

/// Middle stage: check what comes in, pass primes on; on the pill, verify
/// the count, pass the pill on, and only then exit.
fn check(
    input: IpcReceiver<Item>,
    out: IpcSender<Item>,
    pill: bool,
) -> anyhow::Result<StageReply> {
    let (mut seen, mut primes) = (0, 0);
    loop {
        match input.recv() {
            Ok(Item::Numbers(numbers)) => {
                seen += numbers.len() as u64;
                let found: Vec<u64> =
                    numbers.into_iter().filter(|&n| is_prime(n)).collect();
                primes += found.len() as u64;
                send(&out, Item::Primes(found))?;
            }
            Ok(Item::Stop { sent }) => {
                if sent != seen {
                    bail!("the pill says {sent} numbers were sent; {seen} arrived");
                }
                let reply = passed(seen, None);
                send(&out, Item::Stop { sent: primes })?;
                return Ok(reply);
            }
            Ok(Item::Primes(_)) => bail!("check was sent primes"),
            // The producer hung up. With pills that means it died; without,
            // it is the end, and a crash would look exactly the same.
            Err(_) if pill => bail!("the producer hung up without sending its pill"),
            Err(_) => return Ok(passed(seen, None)),
        }
    }
}

/// Last stage: gather the primes until the pill (or the hang-up).
fn collect(input: IpcReceiver<Item>) -> anyhow::Result<StageReply> {
    let mut primes = Vec::new();
    loop {
        match input.recv() {
            Ok(Item::Primes(found)) => primes.extend(found),
            Ok(Item::Stop { sent }) if sent == primes.len() as u64 => break,
            Ok(Item::Stop { sent }) => {
                bail!(
                    "the pill says {sent} primes were sent; {} arrived",
                    primes.len()
                )
            }
            Ok(Item::Numbers(_)) => bail!("collect was sent numbers"),
            Err(_) => break,
        }
    }
    Ok(passed(primes.len() as u64, Some(primes)))
}
// ANCHOR_END: stages

/// The stage's reply, stamped now: before the pill is sent on, so that the
/// next stage, which can only receive it later, stamps a later time.
fn passed(handled: u64, primes: Option<Vec<u64>>) -> StageReply {
    StageReply::Passed {
        at_ns: clock::now_ns(),
        handled,
        primes,
    }
}

/// Why `--pipeline` cannot be used as given: a line of stages ends by what
/// travels down it, a pill or a hang-up; a kill from the parent shows nothing.
pub fn refused(args: &RunArgs) -> Option<String> {
    (args.pipeline && args.shutdown == Shutdown::Kill)
        .then(|| "--pipeline ends by --shutdown pill or close".into())
}

/// Reaps stage `s`, which died `when`, and says which stage it was and how
/// it died.
fn died(
    stages: &mut Pool<Setup, StageReply>,
    s: usize,
    when: &str,
) -> anyhow::Result<String> {
    let pid = stages.pid(s);
    let how = stages.reap(s, Duration::from_secs(2))?;
    Ok(format!(
        "the {} stage (stage {s}, pid {pid}) {how} {when}",
        STAGES[s]
    ))
}

/// The parent: start three stage processes, wire them, wait for each to
/// pass the pill and exit.
pub fn run(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let pill = args.shutdown == Shutdown::Pill;
    let mut stages = Pool::<Setup, StageReply>::spawn_as(
        "stage",
        STAGES.len(),
        args.liveness,
        |_| Vec::new(),
    )?;
    let (to_check, check_in) = ipc::channel()?;
    let (to_collect, collect_in) = ipc::channel()?;
    // Channel ends travel inside messages; once sent, the parent holds none,
    // so a stage's hang-up reaches the next stage and nobody else.
    let setups = [
        Setup::Produce {
            from: args.from,
            to: args.to,
            batch: args.batch,
            pill,
            out: to_check,
        },
        Setup::Check {
            input: check_in,
            out: to_collect,
            pill,
        },
        Setup::Collect { input: collect_in },
    ];
    for (s, setup) in setups.into_iter().enumerate() {
        // A stage that cannot be reached has died: say which, and how.
        if stages.send(s, setup).is_err() {
            bail!(died(&mut stages, s, "before it was wired")?);
        }
    }

    // --deadline-ms bounds the shutdown: from the producer passing the pill
    // on to the last stage answering. Until then the stages work, as long as
    // the run takes; a stage that falls silent is caught by --silence-ms.
    let mut replies: Vec<Option<(u64, u64)>> = vec![None; STAGES.len()];
    let mut primes = Vec::new();
    let mut deadline = None;
    while replies.iter().any(Option::is_none) {
        if deadline.is_some_and(|d| clock::now_ns() > d) {
            bail!(
                "the pipeline did not finish within {} ms of the producer passing \
                 the pill on",
                args.deadline_ms
            );
        }
        for heard in stages.wait(Duration::from_millis(20))? {
            match heard {
                Heard::Message(
                    s,
                    StageReply::Passed {
                        at_ns,
                        handled,
                        primes: p,
                    },
                ) => {
                    replies[s] = Some((at_ns, handled));
                    primes.extend(p.unwrap_or_default());
                    if s == 0 {
                        deadline =
                            Some(clock::now_ns() + args.deadline_ms * 1_000_000);
                    }
                }
                Heard::Gone(s) if replies[s].is_some() => {}
                Heard::Gone(s) => {
                    bail!(died(&mut stages, s, "before passing the pill on")?)
                }
                Heard::Silent(s, quiet) => {
                    let who = stages.kill_silent(s, quiet)?;
                    bail!("{who}: the {} stage never passed the pill on", STAGES[s]);
                }
            }
        }
    }
    let mut rows = Vec::new();
    let first = replies[0].map_or(0, |r| r.0);
    for (s, name) in STAGES.iter().enumerate() {
        let exit = stages.reap(s, Duration::from_secs(5))?;
        if !exit.is_clean() {
            bail!("the {name} stage {exit} after passing the pill on");
        }
        let (at, handled) = replies[s].context("every stage reported")?;
        rows.push(StageRow {
            stage: name.to_string(),
            handled,
            passed_ns: at.saturating_sub(first),
            exit: exit.to_string(),
        });
    }
    let shutdown_ns = clock::now_ns().saturating_sub(first);
    primes.sort_unstable();
    let expected: Vec<u64> = (args.from..args.to).filter(|&n| is_prime(n)).collect();
    let report = PipelineReport {
        machine: Machine::here(),
        from: args.from,
        to: args.to,
        batch: args.batch,
        shutdown: args.shutdown,
        complete: primes == expected,
        primes,
        stages: rows,
        shutdown_ns,
    };
    if args.json {
        print_json(&report)?;
    } else {
        print_pipeline(&report);
    }
    Ok(if report.complete {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_pipeline(r: &PipelineReport) {
    let ending = match r.shutdown {
        Shutdown::Pill => "the pill, passed from stage to stage",
        _ => "each stage hanging up on the next (no pill)",
    };
    println!(
        "Three processes in a row: produce -> check -> collect, {} numbers per \
         message,\nchecking {}..{}. The end travels down the line as {ending}.\n",
        r.batch, r.from, r.to
    );
    let mut t = Table::new(["stage", "handled", "passed it on", "process"]);
    for s in &r.stages {
        let unit = if s.stage == "collect" {
            "primes"
        } else {
            "numbers"
        };
        t.row([
            s.stage.to_string(),
            format!("{} {unit}", s.handled),
            format!("+{}", human_ns(s.passed_ns as f64)),
            s.exit.clone(),
        ]);
    }
    print!("{t}");
    let same = if r.complete { "yes" } else { "NO" };
    println!(
        "Collected {} primes; the same as a serial run: {same}. Every stage reaped {} \
         after the producer's last item.",
        r.primes.len(),
        human_ns(r.shutdown_ns as f64)
    );
    let verdict = match r.shutdown {
        Shutdown::Pill => {
            "the pill travelled the whole line, each stage exiting only after passing it \
             on, and each checked the count it carried."
        }
        _ => {
            "the line ended, but no stage could tell a finished neighbour from a \
             crashed one: a hang-up carries no count."
        }
    };
    println!("\nVerdict: {verdict}");
}
