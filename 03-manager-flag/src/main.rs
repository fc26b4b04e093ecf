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
use ipc_channel::ipc::{
    self, IpcReceiver, IpcReceiverSet, IpcSelectionResult, IpcSender,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::Duration;
use workers::coop::{Counter, NoArgs, SharedFlag};
use workers::crew::{Crew, Heard, Inbox, WorkerArgs, WorkerEnd};
use workers::search::StopFlag;

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
    /// Where new proxies register: the flag's handle.
    Ready(IpcSender<Register>),
}

/// The parent never sends the manager anything: closing the channel (the
/// parent exiting) is what tells it to go.
#[derive(Debug, Serialize, Deserialize)]
enum ToManager {}

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
}

impl Proxy {
    /// Registers a new proxy with the manager.
    fn connect(register: IpcSender<Register>) -> anyhow::Result<Proxy> {
        let (requests, theirs) = ipc::channel()?;
        let (ours, answers) = ipc::channel()?;
        register
            .send(Register {
                requests: theirs,
                answers: ours,
            })
            .map_err(|e| anyhow!("cannot register with the manager: {e:?}"))?;
        Ok(Proxy { requests, answers })
    }

    /// Sends one request and waits for its answer. If the manager dies, its
    /// end of our channel closes and `recv` fails at once: no hang.
    fn ask(&self, request: Request) -> anyhow::Result<Answer> {
        let gone =
            |e| anyhow!("the manager process is gone ({e:?}); the run cannot go on");
        self.requests.send(request).map_err(gone)?;
        self.answers.recv().map_err(gone)
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
}
// ANCHOR_END: proxy

// ANCHOR: counter
/// Python's `counter.value += 1` through a proxy is a get and then a set.
impl Counter for Proxy {
    /// Two round trips; another worker's get can land between them.
    fn bump_racy(&self) -> anyhow::Result<()> {
        let v = self.value(Request::GetCounter)?;
        self.ask(Request::SetCounter(v + 1)).map(drop)
    }

    /// One request; the manager adds, and answers requests one at a time.
    fn bump_atomic(&self) -> anyhow::Result<()> {
        self.ask(Request::AddCounter(1)).map(drop)
    }

    fn count(&self) -> anyhow::Result<u64> {
        self.value(Request::GetCounter)
    }

    fn reset(&self) -> anyhow::Result<()> {
        self.ask(Request::SetCounter(0)).map(drop)
    }
}
// ANCHOR_END: counter

// ANCHOR: share
/// The parent's side: the manager process, and where proxies register.
struct ManagerFlag {
    /// The manager process; killed and reaped when this is dropped.
    _manager: Crew<ToManager>,
    /// Kept so the manager's end stays open while the run lasts.
    _inbox: Inbox<FromManager>,
    register: IpcSender<Register>,
}

impl SharedFlag for ManagerFlag {
    const WHAT: &'static str = "a byte in a manager process, read by request";
    /// Workers get a sender to the manager's registration channel: channel
    /// ends can travel inside messages.
    type Handle = IpcSender<Register>;
    type View = Proxy;
    type Args = NoArgs;
    const HAS_COUNTER: bool = true;
    /// A look costs a round trip of tens of microseconds: at the usual 1000
    /// candidates (2 µs of work) the workers would mostly wait on the manager.
    const CHECK_EVERY: u64 = 100_000;

    fn create(_: &NoArgs) -> anyhow::Result<Self> {
        let (manager, mut inbox) =
            Crew::<ToManager>::spawn_as("serve", 1, |_| Vec::new())
                .context("cannot start the manager process")?;
        // Its first message says where proxies register; no message within
        // 10 s, or its death, ends the run.
        let register = match inbox.wait(Duration::from_secs(10))?.pop() {
            Some(Heard::Message(_, FromManager::Ready(r))) => r,
            Some(Heard::Gone(_)) => bail!("the manager process died while starting"),
            None => bail!("the manager process did not start within 10 s"),
        };
        Ok(ManagerFlag {
            _manager: manager,
            _inbox: inbox,
            register,
        })
    }

    fn handle(&self) -> IpcSender<Register> {
        self.register.clone()
    }

    fn open(register: IpcSender<Register>) -> anyhow::Result<Proxy> {
        Proxy::connect(register)
    }

    fn lower(mine: &Proxy) -> anyhow::Result<()> {
        mine.ask(Request::SetFlag(0)).map(drop)
    }

    fn serve(link: &WorkerArgs) -> anyhow::Result<()> {
        serve(link)
    }
}
// ANCHOR_END: share

fn main() -> std::process::ExitCode {
    workers::coop::main::<ManagerFlag>()
}
