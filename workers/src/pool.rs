//! Worker processes: started by re-running this binary, always reaped.
//!
//! Python's *spawn* start method runs a fresh interpreter for each worker. The
//! Rust counterpart re-executes the current binary with a hidden `worker`
//! subcommand. The parent and each worker then meet over ipc-channel: the
//! parent opens a one-shot server, the worker connects to it and hands over the
//! two ends the parent keeps (its sender of work, its receiver of results).
//!
//! A [`Pool`] owns the children and the parent's ends of their channels.
//! Dropping it kills and reaps any that are still running, so an error, a panic
//! or an early return leaves no process behind; [`crate::interrupt`] covers
//! Ctrl-C, where no destructor runs.

use crate::interrupt;
use anyhow::{Context, bail};
use ipc_channel::ipc::{
    self, IpcOneShotServer, IpcReceiver, IpcReceiverSet, IpcSelectionResult,
    IpcSender,
};
use rustix::process::Pid;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How long a new worker may take to start and connect. Generous: a cold start
/// of a debug binary on a loaded machine takes well under a second.
const CONNECT_DEADLINE: Duration = Duration::from_secs(10);

/// What every worker receives on its command line from [`Pool::spawn`].
///
/// Flatten it into the chapter's hidden `worker` subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct WorkerArgs {
    /// Name of the parent's one-shot ipc-channel server.
    #[arg(long)]
    pub server: String,
    /// This worker's number, 0-based, as the parent's reports name it.
    #[arg(long)]
    pub index: usize,
}

/// The first message: the ends of two channels the worker created, sent to the
/// parent. ipc-channel can pass channel ends inside messages.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
struct Hello<Up, Down> {
    /// Where the parent will receive the worker's messages.
    up: IpcReceiver<Up>,
    /// Where the parent will send the worker its work.
    down: IpcSender<Down>,
}

/// A worker's side of its two channels.
#[derive(Debug)]
pub struct WorkerEnd<Up, Down> {
    /// Messages to the parent.
    pub up: IpcSender<Up>,
    /// Messages from the parent; `recv` fails once the parent is gone.
    pub down: IpcReceiver<Down>,
}

impl<Up, Down> WorkerEnd<Up, Down>
where
    Up: Serialize + DeserializeOwned,
    Down: Serialize + DeserializeOwned,
{
    // ANCHOR: connect
    /// In a worker: connect to the parent that started this process.
    ///
    /// Also makes the worker die with its parent and leave Ctrl-C to it (see
    /// [`interrupt::worker_defers_to_parent`]).
    pub fn connect(args: &WorkerArgs) -> anyhow::Result<Self> {
        interrupt::worker_defers_to_parent()?;
        let (up, up_rx) = ipc::channel::<Up>()?;
        let (down_tx, down) = ipc::channel::<Down>()?;
        let hello: IpcSender<Hello<Up, Down>> =
            IpcSender::connect(args.server.clone())
                .context("cannot reach the parent process")?;
        hello.send(Hello {
            up: up_rx,
            down: down_tx,
        })?;
        Ok(WorkerEnd { up, down })
    }
    // ANCHOR_END: connect
}

/// One running worker process, as the parent sees it.
#[derive(Debug)]
struct Member<Down> {
    child: Child,
    /// The worker's inbox. Dropping it is how the parent says "no more, ever".
    down: Option<IpcSender<Down>>,
}

/// The worker processes of one run: the pool, with the parent's ends of their
/// channels. `Down` is what the parent sends a worker, `Up` what workers send
/// back.
#[derive(Debug)]
pub struct Pool<Down, Up> {
    members: Vec<Member<Down>>,
    /// Receives from every worker at once.
    inbox: Inbox<Up>,
}

impl<Down, Up> Pool<Down, Up>
where
    Down: Serialize + DeserializeOwned + Send + 'static,
    Up: Serialize + DeserializeOwned + Send + 'static,
{
    // ANCHOR: spawn
    /// Starts `n` workers by running this binary as `worker --server S --index i
    /// <extra(i)...>`, and waits until each has connected.
    pub fn spawn(
        n: usize,
        extra: impl Fn(usize) -> Vec<String>,
    ) -> anyhow::Result<Self> {
        Self::spawn_as("worker", n, extra)
    }

    /// The same, with another hidden subcommand than `worker`: for helper
    /// processes such as a manager.
    pub fn spawn_as(
        role: &str,
        n: usize,
        extra: impl Fn(usize) -> Vec<String>,
    ) -> anyhow::Result<Self> {
        let exe =
            std::env::current_exe().context("cannot find this program's path")?;
        let mut pool = Pool {
            members: Vec::with_capacity(n),
            inbox: Inbox::new()?,
        };
        for index in 0..n {
            let (server, name) = IpcOneShotServer::<Hello<Up, Down>>::new()?;
            let child = Command::new(&exe)
                .args([role, "--server", &name, "--index", &index.to_string()])
                .args(extra(index))
                .stdin(Stdio::null())
                .spawn()
                .with_context(|| format!("cannot start worker {index}"))?;
            interrupt::register_child(pid_of(&child));
            pool.members.push(Member { child, down: None });
            let hello = pool.accept(index, server)?;
            pool.inbox.add(index, hello.up)?;
            pool.members[index].down = Some(hello.down);
        }
        Ok(pool)
    }
    // ANCHOR_END: spawn

    /// Waits for worker `index` to connect, watching that it is still alive.
    ///
    /// `accept()` has no timeout and would wait forever for a worker that died
    /// before connecting, so it runs on a helper thread while this one polls the
    /// child. On failure that thread stays blocked until the process exits.
    fn accept(
        &mut self,
        index: usize,
        server: IpcOneShotServer<Hello<Up, Down>>,
    ) -> anyhow::Result<Hello<Up, Down>> {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(server.accept().map(|(_, hello)| hello)));
        let start = Instant::now();
        loop {
            match rx.recv_timeout(Duration::from_millis(20)) {
                Ok(Ok(hello)) => return Ok(hello),
                Ok(Err(e)) => bail!("worker {index} failed to connect: {e:?}"),
                Err(_) => {}
            }
            if let Some(status) = self.members[index].child.try_wait()? {
                bail!("worker {index} {} before connecting", describe(status));
            }
            if start.elapsed() > CONNECT_DEADLINE {
                bail!("worker {index} did not connect within {CONNECT_DEADLINE:?}");
            }
        }
    }

    /// How many workers were started.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// True when the pool has no workers.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The process id of worker `index`.
    pub fn pid(&self, index: usize) -> u32 {
        self.members[index].child.id()
    }

    /// Sends `msg` to worker `index`.
    pub fn send(&self, index: usize, msg: Down) -> anyhow::Result<()> {
        let down = self.members[index]
            .down
            .as_ref()
            .with_context(|| format!("worker {index} was already let go"))?;
        down.send(msg)
            .map_err(|e| anyhow::anyhow!("cannot send to worker {index}: {e:?}"))
    }

    /// Drops the parent's sender to worker `index`: its next `recv` after the
    /// queued messages reports the channel closed.
    pub fn hang_up(&mut self, index: usize) {
        self.members[index].down = None;
    }

    /// Kills worker `index` (SIGKILL) without waiting: its channel closes, and
    /// [`Pool::reap`] collects it later.
    pub fn kill(&mut self, index: usize) {
        // An error means it has exited already: the outcome wanted.
        let _ = self.members[index].child.kill();
    }

    /// Waits up to `deadline` for worker `index` to exit, killing it if it does
    /// not, and says how it ended.
    pub fn reap(
        &mut self,
        index: usize,
        deadline: Duration,
    ) -> anyhow::Result<Exit> {
        let child = &mut self.members[index].child;
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break Exit::Ended(status);
            }
            if start.elapsed() > deadline {
                // Killed because it overstayed: say so rather than report SIGKILL.
                let _ = child.kill();
                child.wait()?;
                break Exit::Overstayed;
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        interrupt::forget_child(pid_of(child));
        Ok(status)
    }

    /// Waits up to `timeout` for messages or hang-ups from any worker; an
    /// empty vector when nothing arrived in time.
    pub fn wait(&mut self, timeout: Duration) -> anyhow::Result<Vec<Heard<Up>>> {
        self.inbox.wait(timeout)
    }
}

impl<Down, Up> Drop for Pool<Down, Up> {
    /// Kills and reaps every worker not reaped yet. Harmless for those that were.
    fn drop(&mut self) {
        for m in &mut self.members {
            if let Ok(None) = m.child.try_wait() {
                let _ = m.child.kill();
                let _ = m.child.wait();
            }
            interrupt::forget_child(pid_of(&m.child));
        }
    }
}

/// How a worker's process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// It exited or was killed by a signal on its own.
    Ended(ExitStatus),
    /// It outlived its deadline and the parent killed it.
    Overstayed,
}

impl Exit {
    /// True for a clean exit with status 0.
    pub fn is_clean(self) -> bool {
        matches!(self, Exit::Ended(s) if s.success())
    }
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exit::Ended(s) => f.write_str(&describe(*s)),
            Exit::Overstayed => f.write_str("did not exit in time and was killed"),
        }
    }
}

/// "exited with status 3", "was killed by signal 9 (SIGKILL)".
pub fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(sig)) => {
            let name = signal_hook::low_level::signal_name(sig).unwrap_or("?");
            format!("was killed by signal {sig} ({name})")
        }
        _ => format!("ended ({status})"),
    }
}

fn pid_of(child: &Child) -> Pid {
    Pid::from_child(child)
}

/// What the parent hears from its workers.
#[derive(Debug)]
pub enum Heard<Up> {
    /// Worker `.0` sent a message.
    Message(usize, Up),
    /// Worker `.0`'s channel closed: it exited, or died, or dropped its sender.
    Gone(usize),
}

/// One receiver for the messages of every worker, in arrival order.
///
/// An ipc-channel receiver cannot be shared by several processes, so each
/// worker has its own channel to the parent and the inbox selects over all of
/// them (`IpcReceiverSet`, a `poll` on their sockets).
struct Inbox<Up> {
    set: IpcReceiverSet,
    /// Receiver-set ids to worker indexes.
    who: HashMap<u64, usize>,
    _up: std::marker::PhantomData<Up>,
}

impl<Up> std::fmt::Debug for Inbox<Up> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inbox")
            .field("workers", &self.who.len())
            .finish()
    }
}

impl<Up: Serialize + DeserializeOwned> Inbox<Up> {
    fn new() -> anyhow::Result<Self> {
        Ok(Inbox {
            set: IpcReceiverSet::new()?,
            who: HashMap::new(),
            _up: std::marker::PhantomData,
        })
    }

    fn add(&mut self, index: usize, rx: IpcReceiver<Up>) -> anyhow::Result<()> {
        let id = self.set.add(rx)?;
        self.who.insert(id, index);
        Ok(())
    }

    fn wait(&mut self, timeout: Duration) -> anyhow::Result<Vec<Heard<Up>>> {
        use ipc_channel::TrySelectError;
        let results = match self.set.try_select_timeout(timeout) {
            Ok(r) => r,
            Err(TrySelectError::Empty) => return Ok(Vec::new()),
            Err(TrySelectError::IoError(e)) => return Err(e.into()),
        };
        let mut heard = Vec::with_capacity(results.len());
        for r in results {
            match r {
                IpcSelectionResult::MessageReceived(id, msg) => {
                    let msg =
                        msg.to().context("a worker sent a malformed message")?;
                    heard.push(Heard::Message(self.who[&id], msg));
                }
                IpcSelectionResult::ChannelClosed(id) => {
                    heard.push(Heard::Gone(self.who[&id]));
                }
            }
        }
        Ok(heard)
    }
}
