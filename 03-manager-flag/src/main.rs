//! Chapter 3: the stop flag lives in a manager process; workers ask it.
//!
//! Run it: `cargo run --bin 03-manager-flag` (or `cargo run -p manager-flag`).
//! Try `--case prime`, `--count 2000`, `--help`.
//!
//! Python's `multiprocessing.Manager()` starts a server process that owns
//! the shared objects. Workers hold *proxies*: every read or write of
//! `flag.value` is a request to the server and a reply from it. Here the
//! manager is a process of this program, and the proxies talk to it over
//! ipc-channel. Nothing is shared but messages. That makes it safe and
//! flexible, and it makes every look at the flag a round trip.

use anyhow::{Context, anyhow, bail};
use clap::{Parser, Subcommand};
use ipc_channel::TryRecvError;
use ipc_channel::ipc::{
    self, IpcReceiver, IpcReceiverSet, IpcSelectionResult, IpcSender,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Duration;
use workers::flag::{self, Counter, Order, Parent, SearchArgs, Timing};
use workers::pool::{Heard, Liveness, Pool, WorkerArgs, WorkerEnd};
use workers::search::StopFlag;

/// What the flag is, for the report.
const WHAT: &str = "a byte in a manager process, read by request";

/// Workers search for a factor and stop early on a shared flag: a byte in a
/// manager process, read by request.
#[derive(Debug, Parser)]
#[command(name = "03-manager-flag", args_conflicts_with_subcommands = true)]
struct Cli {
    // A look costs a round trip of tens of microseconds: at 1000 candidates
    // (2 µs of work) between looks the workers would mostly wait on the
    // manager, so the default is 100,000.
    #[command(flatten)]
    search: SearchArgs<100_000>,
    #[command(flatten)]
    timing: Timing,
    /// Also have every worker add one to a counter in the manager this many
    /// times, racily and then atomically, and count the lost updates
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    count: Option<u64>,
    #[command(subcommand)]
    role: Option<Role>,
}

#[derive(Debug, Subcommand)]
enum Role {
    /// Internal: run as a worker process (started by the parent).
    #[command(hide = true)]
    Worker(WorkerArgs),
    /// Internal: run as the manager process (started by the parent).
    #[command(hide = true)]
    Manager(WorkerArgs),
}

// ANCHOR: protocol
/// What a proxy may ask the manager.
#[derive(Debug, Serialize, Deserialize)]
enum Request {
    GetFlag,
    SetFlag(u8),
    GetCounter,
    SetCounter(u64),
    /// The manager adds, so no other request can come between read and write.
    AddCounter(u64),
}

/// The manager's answer to one request.
#[derive(Debug, Serialize, Deserialize)]
enum Answer {
    Value(u64),
    Done,
}

/// A new proxy's two channel ends, for the manager to keep.
#[derive(Debug, Serialize, Deserialize)]
struct Register {
    requests: IpcReceiver<Request>,
    answers: IpcSender<Answer>,
}
// ANCHOR_END: protocol

/// What the manager tells the parent once, when it is ready.
#[derive(Debug, Serialize, Deserialize)]
enum FromManager {
    /// Where new proxies register: what opens the flag.
    Ready(IpcSender<Register>),
}

/// The parent never sends the manager anything: closing the channel (the
/// parent exiting) is what tells it to go.
#[derive(Debug, Serialize, Deserialize)]
enum ToManager {}

// ANCHOR: start
/// Starts the manager process and waits for its first message, which says
/// where proxies register. Dropping the pool kills and reaps the manager.
fn start_manager(
    liveness: Liveness,
) -> anyhow::Result<(Pool<ToManager, FromManager>, IpcSender<Register>)> {
    let mut manager = Pool::spawn_as("manager", 1, liveness, |_| Vec::new())
        .context("cannot start the manager process")?;
    // Its death, or its silence, ends the run.
    loop {
        let heard = manager.wait(Duration::from_millis(100))?;
        match heard.into_iter().next() {
            Some(Heard::Message(_, FromManager::Ready(r))) => {
                return Ok((manager, r));
            }
            Some(Heard::Gone(_)) => bail!("the manager process died while starting"),
            Some(Heard::Silent(_, quiet)) => bail!(manager.kill_silent(0, quiet)?),
            None => {}
        }
    }
}
// ANCHOR_END: start

// ANCHOR: serve
/// The manager process: owns the flag and a counter, answers every request.
fn serve(link: &WorkerArgs) -> anyhow::Result<()> {
    let end = WorkerEnd::<FromManager, ToManager>::connect(link)?;
    let (register, registrations) = ipc::channel::<Register>()?;
    end.up.send(FromManager::Ready(register))?;

    let mut inbox = IpcReceiverSet::new()?;
    let parent = inbox.add(end.down)?;
    let newcomers = inbox.add(registrations)?;
    let mut proxies: HashMap<u64, IpcSender<Answer>> = HashMap::new();
    let (mut flag, mut counter) = (0u8, 0u64);
    loop {
        // One request at a time, in arrival order: that is what makes the
        // manager safe, and what makes it a queue every look waits in.
        for event in inbox.select()? {
            match event {
                IpcSelectionResult::MessageReceived(id, msg) if id == newcomers => {
                    let r: Register = msg.to()?;
                    proxies.insert(inbox.add(r.requests)?, r.answers);
                }
                IpcSelectionResult::MessageReceived(id, msg) => {
                    let answer = match msg.to::<Request>()? {
                        Request::GetFlag => Answer::Value(flag.into()),
                        Request::SetFlag(v) => {
                            flag = v;
                            Answer::Done
                        }
                        Request::GetCounter => Answer::Value(counter),
                        Request::SetCounter(v) => {
                            counter = v;
                            Answer::Done
                        }
                        Request::AddCounter(v) => {
                            counter += v;
                            Answer::Done
                        }
                    };
                    // A proxy whose process died cannot be answered; its
                    // channel's closing is handled below.
                    let _ = proxies[&id].send(answer);
                }
                IpcSelectionResult::ChannelClosed(id) if id == parent => {
                    return Ok(());
                }
                IpcSelectionResult::ChannelClosed(id) => {
                    proxies.remove(&id);
                }
            }
        }
    }
}
// ANCHOR_END: serve

// ANCHOR: proxy
/// A process's proxy for the manager's flag: every use is a round trip.
struct Proxy {
    requests: IpcSender<Request>,
    answers: IpcReceiver<Answer>,
    /// How long to wait for an answer (`--silence-ms`). A look takes tens of
    /// microseconds; a manager silent for seconds is not going to answer.
    patience: Duration,
}

impl Proxy {
    /// Registers a new proxy with the manager.
    fn connect(
        register: IpcSender<Register>,
        patience: Duration,
    ) -> anyhow::Result<Proxy> {
        let (requests, theirs) = ipc::channel()?;
        let (ours, answers) = ipc::channel()?;
        register
            .send(Register {
                requests: theirs,
                answers: ours,
            })
            .map_err(|e| anyhow!("cannot register with the manager: {e:?}"))?;
        Ok(Proxy {
            requests,
            answers,
            patience,
        })
    }

    /// Sends one request and waits for its answer. If the manager dies, its
    /// end of our channel closes and the wait fails at once; if it is alive
    /// but does not answer (stopped, stuck), the wait has a deadline.
    fn ask(&self, request: Request) -> anyhow::Result<Answer> {
        let gone =
            |e| anyhow!("the manager process is gone ({e:?}); the run cannot go on");
        self.requests.send(request).map_err(gone)?;
        match self.answers.try_recv_timeout(self.patience) {
            Ok(answer) => Ok(answer),
            Err(TryRecvError::Empty) => bail!(
                "the manager process has not answered for {:.1} s (stopped or \
                 stuck); the run cannot go on",
                self.patience.as_secs_f64()
            ),
            Err(TryRecvError::IpcError(e)) => Err(gone(e)),
        }
    }

    fn value(&self, request: Request) -> anyhow::Result<u64> {
        match self.ask(request)? {
            Answer::Value(v) => Ok(v),
            other => bail!("the manager answered {other:?} to a read"),
        }
    }
}

impl StopFlag for Proxy {
    /// A look at the flag: request, wait for the manager, read its answer.
    fn is_set(&self) -> anyhow::Result<bool> {
        Ok(self.value(Request::GetFlag)? != 0)
    }

    fn raise(&self) -> anyhow::Result<()> {
        self.ask(Request::SetFlag(1)).map(drop)
    }

    fn lower(&self) -> anyhow::Result<()> {
        self.ask(Request::SetFlag(0)).map(drop)
    }
}
// ANCHOR_END: proxy

// ANCHOR: counter
/// Python's `counter.value += 1` through a proxy is a get and then a set.
impl Counter for Proxy {
    /// Two round trips; another worker's get can land between them.
    fn add_racy(&self) -> anyhow::Result<()> {
        let v = self.value(Request::GetCounter)?;
        self.ask(Request::SetCounter(v + 1)).map(drop)
    }

    /// One request; the manager adds, and answers requests one at a time.
    fn add_atomic(&self) -> anyhow::Result<()> {
        self.ask(Request::AddCounter(1)).map(drop)
    }

    fn get(&self) -> anyhow::Result<u64> {
        self.value(Request::GetCounter)
    }

    fn reset(&self) -> anyhow::Result<()> {
        self.ask(Request::SetCounter(0)).map(drop)
    }
}
// ANCHOR_END: counter

// ANCHOR: main
fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.role {
        Some(Role::Worker(link)) => workers::run_worker(|| worker(&link)),
        Some(Role::Manager(link)) => workers::run_worker(|| serve(&link)),
        None => workers::run_parent(|| parent(&cli)),
    }
}

fn parent(cli: &Cli) -> anyhow::Result<()> {
    // Create the flag: start the manager that holds it, and a proxy here.
    // (The manager holds two descriptors per worker: make room first.)
    workers::pool::ensure_descriptors(cli.timing.workers(), "worker")?;
    let (mut manager, register) = start_manager(cli.timing.liveness)?;
    // A proxy waits for an answer as long as a worker may be silent.
    let patience = cli.timing.liveness.limit();
    let run = || -> anyhow::Result<()> {
        let flag = Proxy::connect(register.clone(), patience)?;
        // Start the workers, send each where proxies register (and how long
        // to wait for an answer), and wait until every one has its proxy.
        // (--workload fraud: first the transactions to scan, in workers::fraud.)
        let mut pool = flag::Pool::start(&cli.search, &cli.timing)?;
        pool.open_flag(&(register, patience))?;
        // Search: released together, stopped by the first to find a factor.
        // Timed over repeats, with the cost of one look and the time to stop.
        let measured = pool.measure(&flag, &cli.search, &cli.timing)?;
        // With --count: every worker adds to the counter in the manager.
        let counted = match cli.count {
            Some(times) => Some(pool.count(&flag, times)?),
            None => None,
        };
        // The poison pill for every worker, then reap them.
        pool.finish()?;
        let report = measured.report(WHAT, &cli.search, &cli.timing, counted)?;
        report.print(cli.search.json)
    };
    // When a worker fails, the manager it talks to may be why: then name the
    // manager, not the worker that noticed. (Dropping `manager` ends it.)
    run().map_err(|e| blame_manager(&mut manager, patience, e))
}

/// The manager's fault, if it is dead or stopped; else `e` as it is.
fn blame_manager(
    manager: &mut Pool<ToManager, FromManager>,
    patience: Duration,
    e: anyhow::Error,
) -> anyhow::Error {
    let pid = manager.pid(0);
    let state = workers::ps::state(pid);
    match manager.exited(0) {
        Ok(Some(exit)) => {
            anyhow!(
                "the manager process (pid {pid}) {exit}; no worker can look at the flag"
            )
        }
        _ if state.starts_with("stopped") => anyhow!(
            "the manager process (pid {pid}) was silent for {:.1} s ({state}); no \
             worker can look at the flag",
            patience.as_secs_f64()
        ),
        _ => e,
    }
}
// ANCHOR_END: main

// ANCHOR: worker
fn worker(link: &WorkerArgs) -> anyhow::Result<()> {
    // Meet the parent; its first message says where proxies register, and
    // how long to wait for the manager's answer.
    let (parent, (register, patience)) =
        Parent::<(IpcSender<Register>, Duration)>::connect(link)?;
    // Register a proxy, and tell the parent how that went: no search starts
    // until every worker has.
    let flag = parent.opened(Proxy::connect(register, patience))?;
    // Until the pill: search when released, time looks, or add to the counter.
    while let Some(order) = parent.next_order()? {
        match order {
            Order::Count { times, racy } => parent.count(&flag, times, racy)?,
            order => parent.obey(order, &flag)?,
        }
    }
    Ok(())
}
// ANCHOR_END: worker
