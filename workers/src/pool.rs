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
//!
//! A worker that dies closes its channel, and the parent hears that at once. A
//! worker that is alive but silent (stopped, stuck, never scheduled) closes
//! nothing, so every worker also sends a heartbeat whenever it has said nothing
//! for a while, and [`Pool::wait`] reports a worker unheard for longer than
//! `--silence-ms` as [`Heard::Silent`].

use crate::interrupt::{self, OnSignal};
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
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long a new worker may take to start and connect. Generous: a cold start
/// on a loaded machine takes well under a second.
const CONNECT_DEADLINE: Duration = Duration::from_secs(10);

/// A worker that has said nothing for this long sends a heartbeat.
const HEARTBEAT: Duration = Duration::from_millis(250);

/// Events one ipc-channel select reads at most (`Events::with_capacity(10)`
/// in its unix platform code); a select that returns this many may have
/// left others unread.
const SELECT_BATCH: usize = 10;

/// How long a worker may stay silent: `--silence-ms`, in every program.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct Liveness {
    /// Milliseconds a worker may go without a word (a reply or a heartbeat,
    /// which it sends every 250 ms) before it counts as stuck: it is named,
    /// killed, and what it held is accounted for
    #[arg(long, value_name = "MS", default_value_t = 5000, value_parser = clap::value_parser!(u64).range(1000..=3_600_000))]
    pub silence_ms: u64,
}

impl Liveness {
    /// The silence limit as a duration.
    pub fn limit(&self) -> Duration {
        Duration::from_millis(self.silence_ms)
    }
}

impl Default for Liveness {
    fn default() -> Self {
        Liveness { silence_ms: 5000 }
    }
}

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

/// What travels up a worker's channel: its messages, and heartbeats.
#[derive(Debug, Serialize, Deserialize)]
enum Up<M> {
    /// "Still here": sent when the worker has said nothing for [`HEARTBEAT`].
    Beat,
    Message(M),
}

/// The first message: the ends of two channels the worker created, sent to the
/// parent. ipc-channel can pass channel ends inside messages.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
struct Hello<M, Down> {
    /// Where the parent will receive the worker's messages.
    up: IpcReceiver<Up<M>>,
    /// Where the parent will send the worker its work.
    down: IpcSender<Down>,
}

/// A worker's sender to its parent; it keeps a heartbeat going meanwhile.
#[derive(Debug)]
pub struct ToParent<M> {
    tx: IpcSender<Up<M>>,
    /// When this worker last sent anything, in ms since `started`.
    last_sent_ms: Arc<AtomicU64>,
    started: Instant,
}

impl<M: Serialize> ToParent<M> {
    /// Sends the parent a message.
    pub fn send(&self, msg: M) -> anyhow::Result<()> {
        let now = self.started.elapsed().as_millis() as u64;
        self.last_sent_ms.store(now, Ordering::Relaxed);
        self.tx
            .send(Up::Message(msg))
            .map_err(|e| anyhow::anyhow!("cannot reach the parent ({e:?})"))
    }
}

/// A worker's side of its two channels.
#[derive(Debug)]
pub struct WorkerEnd<M, Down> {
    /// Messages to the parent.
    pub up: ToParent<M>,
    /// Messages from the parent; `recv` fails once the parent is gone.
    pub down: IpcReceiver<Down>,
}

impl<M, Down> WorkerEnd<M, Down>
where
    M: Serialize + DeserializeOwned + Send + 'static,
    Down: Serialize + DeserializeOwned,
{
    // ANCHOR: connect
    /// In a worker: connect to the parent that started this process.
    ///
    /// Also makes the worker die with its parent and leave Ctrl-C to it (see
    /// [`interrupt::worker_defers_to_parent`]), and starts its heartbeat.
    pub fn connect(args: &WorkerArgs) -> anyhow::Result<Self> {
        interrupt::worker_defers_to_parent()?;
        let (up, up_rx) = ipc::channel::<Up<M>>()?;
        let (down_tx, down) = ipc::channel::<Down>()?;
        let hello: IpcSender<Hello<M, Down>> =
            match IpcSender::connect(args.server.clone()) {
                Ok(hello) => hello,
                // The parent removes its socket directory when it ends: it is
                // gone or going, and will not want to hear about it.
                Err(_) if !Path::new(&args.server).exists() => std::process::exit(1),
                Err(e) => return Err(e).context("cannot reach the parent process"),
            };
        hello.send(Hello {
            up: up_rx,
            down: down_tx,
        })?;
        let up = ToParent {
            tx: up,
            last_sent_ms: Arc::default(),
            started: Instant::now(),
        };
        up.keep_beating();
        Ok(WorkerEnd { up, down })
    }
    // ANCHOR_END: connect
}

impl<M: Serialize + Send + 'static> ToParent<M> {
    /// A thread that sends a heartbeat whenever this worker has been quiet
    /// for [`HEARTBEAT`], until the parent is gone. It shows the process is
    /// alive and scheduled, however long its real work takes between messages.
    fn keep_beating(&self) {
        let (tx, last, started) =
            (self.tx.clone(), self.last_sent_ms.clone(), self.started);
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(HEARTBEAT / 2);
                let now = started.elapsed().as_millis() as u64;
                if now - last.load(Ordering::Relaxed) < HEARTBEAT.as_millis() as u64
                {
                    continue;
                }
                last.store(now, Ordering::Relaxed);
                if tx.send(Up::Beat).is_err() {
                    return; // the parent is gone
                }
            }
        });
    }
}

/// One running worker process, as the parent sees it.
#[derive(Debug)]
struct Member<Down> {
    child: Child,
    /// The worker's inbox. Dropping it is how the parent says "no more, ever".
    down: Option<IpcSender<Down>>,
    /// When the worker was last heard from: a message or a heartbeat.
    heard: Instant,
    /// Its channel closed, or it was reaped: silence means nothing now.
    done: bool,
    /// Reported silent (and so killed): its channel's closing is no news.
    silenced: bool,
}

/// The worker processes of one run: the pool, with the parent's ends of their
/// channels. `Down` is what the parent sends a worker, `M` what workers send
/// back.
#[derive(Debug)]
pub struct Pool<Down, M> {
    members: Vec<Member<Down>>,
    /// Receives from every worker at once.
    inbox: Inbox<M>,
    /// How long a worker may go unheard before [`Pool::wait`] reports it.
    silence: Duration,
    /// What the processes are, for messages: "worker", "manager", "stage".
    role: &'static str,
    /// When the parent last looked at its inbox. A parent that could not
    /// look for a while (stopped by Ctrl-Z, starved of the processor, busy
    /// with work of its own) has not been listening, and cannot tell a
    /// silent worker from its own deafness.
    last_look: Instant,
}

impl<Down, M> Pool<Down, M>
where
    Down: Serialize + DeserializeOwned + Send + 'static,
    M: Serialize + DeserializeOwned + Send + 'static,
{
    // ANCHOR: spawn
    /// Starts `n` workers by running this binary as `worker --server S --index i
    /// <extra(i)...>`, and waits until each has connected.
    pub fn spawn(
        n: usize,
        liveness: Liveness,
        extra: impl Fn(usize) -> Vec<String>,
    ) -> anyhow::Result<Self> {
        Self::spawn_as("worker", n, liveness, extra)
    }

    /// The same, with another hidden subcommand than `worker`: for helper
    /// processes such as a manager.
    pub fn spawn_as(
        role: &'static str,
        n: usize,
        liveness: Liveness,
        extra: impl Fn(usize) -> Vec<String>,
    ) -> anyhow::Result<Self> {
        let exe =
            std::env::current_exe().context("cannot find this program's path")?;
        ensure_descriptors(n, role)?;
        let mut pool = Pool {
            members: Vec::with_capacity(n),
            inbox: Inbox::new()?,
            silence: liveness.limit(),
            last_look: Instant::now(),
            role,
        };
        for index in 0..n {
            let (server, name) = one_shot_server::<Hello<M, Down>>()?;
            let child = Command::new(&exe)
                .args([role, "--server", &name, "--index", &index.to_string()])
                .args(extra(index))
                .stdin(Stdio::null())
                .spawn()
                .with_context(|| format!("cannot start {role} {index}"))?;
            interrupt::register_child(pid_of(&child));
            pool.members.push(Member {
                child,
                down: None,
                heard: Instant::now(),
                done: false,
                silenced: false,
            });
            let hello = pool.accept(index, server, &name)?;
            pool.inbox.add(index, hello.up)?;
            pool.members[index].down = Some(hello.down);
            pool.members[index].heard = Instant::now();
        }
        Ok(pool)
    }
    // ANCHOR_END: spawn

    /// Waits for worker `index` to connect, watching that it is still alive.
    ///
    /// `accept()` has no timeout and would wait forever for a worker that died
    /// before connecting, so it runs on a helper thread while this one polls the
    /// child. On failure that thread stays blocked until the process exits; the
    /// socket's directory is removed at once, so nothing of it is left behind.
    fn accept(
        &mut self,
        index: usize,
        server: IpcOneShotServer<Hello<M, Down>>,
        name: &str,
    ) -> anyhow::Result<Hello<M, Down>> {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(server.accept().map(|(_, hello)| hello)));
        let start = Instant::now();
        let role = self.role;
        let pid = self.pid(index);
        let failed = |why: String| {
            remove_socket_dir(name);
            Err(anyhow::anyhow!("{role} {index} (pid {pid}) {why}"))
        };
        // A worker stopped before it connects sends no heartbeat either: it
        // counts as silent once it has been stopped for the silence limit.
        let mut stopped_since: Option<Instant> = None;
        loop {
            interrupt::defer_to_signal();
            match rx.recv_timeout(Duration::from_millis(20)) {
                Ok(Ok(hello)) => return Ok(hello),
                Ok(Err(e)) => return failed(format!("failed to connect: {e:?}")),
                Err(_) => {}
            }
            if let Some(status) = self.members[index].child.try_wait()? {
                interrupt::defer_to_signal();
                return failed(format!("{} before connecting", describe(status)));
            }
            let state = crate::ps::state(pid);
            stopped_since = match (state.starts_with("stopped"), stopped_since) {
                (true, None) => Some(Instant::now()),
                (true, since) => since,
                (false, _) => None,
            };
            if let Some(since) = stopped_since.filter(|s| s.elapsed() > self.silence)
            {
                let quiet = since.elapsed().as_secs_f64();
                return failed(format!(
                    "was silent for {quiet:.1} s before connecting ({state}); killed it"
                ));
            }
            if start.elapsed() > CONNECT_DEADLINE {
                let state = crate::ps::state(pid);
                return failed(format!(
                    "did not connect within {} s ({state}); killed it",
                    CONNECT_DEADLINE.as_secs()
                ));
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
            .with_context(|| format!("{} {index} was already let go", self.role))?;
        down.send(msg).map_err(|e| {
            anyhow::anyhow!("cannot send to {} {index}: {e:?}", self.role)
        })
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

    /// How worker `index` ended, if it has; `None` while it runs. Does not
    /// wait.
    pub fn exited(&mut self, index: usize) -> anyhow::Result<Option<Exit>> {
        Ok(self.members[index].child.try_wait()?.map(Exit::Ended))
    }

    /// Waits up to `deadline` for worker `index` to exit, killing it if it does
    /// not, and says how it ended.
    pub fn reap(
        &mut self,
        index: usize,
        deadline: Duration,
    ) -> anyhow::Result<Exit> {
        let member = &mut self.members[index];
        member.done = true;
        let child = &mut member.child;
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
        // A worker killed by the signal thread's tear-down is not news.
        interrupt::defer_to_signal();
        Ok(status)
    }

    /// Waits up to `timeout` for messages or hang-ups from any worker; an
    /// empty vector when nothing arrived in time. A worker unheard for longer
    /// than the silence limit is reported once as [`Heard::Silent`].
    pub fn wait(&mut self, timeout: Duration) -> anyhow::Result<Vec<Heard<M>>> {
        interrupt::defer_to_signal();
        let deaf_before = self.last_look.elapsed() > HEARTBEAT;
        let asked = Instant::now();
        let mut heard = Vec::new();
        // One select reports at most ten channels (ipc-channel reads ten
        // events at a time). When it reports that many, more may be ready:
        // read on until nothing is, so that no heartbeat waits unread while
        // its sender is judged silent. (Only then: each select costs several
        // system calls, and a broker selects once per message.)
        let mut news = self.inbox.wait(timeout)?;
        let mut last = news.len();
        for _ in 0..self.members.len() {
            if last < SELECT_BATCH {
                break;
            }
            let more = self.inbox.wait(Duration::ZERO)?;
            last = more.len();
            news.extend(more);
        }
        self.last_look = Instant::now();
        // Not listening for longer than a heartbeat's period, before this
        // call or during it (stopped in the select, or not scheduled): the
        // parent cannot tell who was silent meanwhile, so every worker's
        // silence is counted from now.
        let deaf_during = asked.elapsed() > timeout + HEARTBEAT;
        if deaf_before || deaf_during {
            for member in &mut self.members {
                member.heard = member.heard.max(self.last_look);
            }
        }
        for (w, news) in news {
            let member = &mut self.members[w];
            member.heard = Instant::now();
            match news {
                News::Beat => {}
                News::Message(m) => heard.push(Heard::Message(w, m)),
                News::Closed => {
                    member.done = true;
                    if !member.silenced {
                        heard.push(Heard::Gone(w));
                    }
                }
            }
        }
        // A closed channel may mean the signal thread is killing everyone.
        interrupt::defer_to_signal();
        for (w, member) in self.members.iter_mut().enumerate() {
            let quiet = member.heard.elapsed();
            if !member.done && !member.silenced && quiet > self.silence {
                member.silenced = true;
                heard.push(Heard::Silent(w, quiet));
            }
        }
        Ok(heard)
    }

    /// Kills and reaps worker `w`, reported silent for `quiet`, and says in
    /// one phrase who it was and what state it was in. Its channel's closing
    /// is not reported afterwards.
    pub fn kill_silent(
        &mut self,
        w: usize,
        quiet: Duration,
    ) -> anyhow::Result<String> {
        let pid = self.pid(w);
        let state = crate::ps::state(pid);
        self.kill(w);
        self.reap(w, Duration::from_secs(2))?;
        Ok(format!(
            "{} {w} (pid {pid}) was silent for {:.1} s ({state}); killed it",
            self.role,
            quiet.as_secs_f64()
        ))
    }
}

/// Held while a one-shot server is made in the socket directory, and while
/// the directory is removed on a signal: the two never overlap. (ipc-channel
/// panics, rather than returning an error, when the directory vanishes
/// under it.)
static SOCKET_DIR_IN_USE: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A one-shot server whose socket sits in this run's socket directory
/// (see [`SocketDir`]). Its name is the socket's path.
fn one_shot_server<T: Serialize + DeserializeOwned>()
-> anyhow::Result<(IpcOneShotServer<T>, String)> {
    let _in_use = SOCKET_DIR_IN_USE.lock().unwrap_or_else(|e| e.into_inner());
    if !std::env::temp_dir().is_dir() {
        // Removed by the signal thread, which is ending the process.
        drop(_in_use);
        interrupt::defer_to_signal();
        bail!("the directory for worker sockets is gone");
    }
    IpcOneShotServer::new().map_err(|e| {
        let dir = std::env::temp_dir();
        anyhow::anyhow!(
            "cannot make a socket for a worker in {} ({e}); set TMPDIR to a \
             writable directory",
            dir.display()
        )
    })
}

/// Removes the directory a one-shot server's socket (`name`) sits in.
fn remove_socket_dir(name: &str) {
    if let Some(dir) = Path::new(name).parent() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Descriptors the parent holds per worker: its two channel ends (measured:
/// 34 sockets for 16 workers), and one more while a worker connects.
const FDS_PER_WORKER: u64 = 3;
/// Descriptors beyond the workers': standard streams, the poll set, the
/// signal pipe, a Redis connection or two, a shared segment.
const FDS_SPARE: u64 = 10;

/// Makes sure this process may open enough file descriptors for `n` more
/// workers: raises the soft limit up to the hard one if need be, or says
/// before anything starts that it cannot. Children inherit the limit, so a
/// helper that will talk to every worker (chapter 3's manager) is covered
/// if this runs before it starts.
pub fn ensure_descriptors(n: usize, role: &str) -> anyhow::Result<()> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let open = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count()) as u64;
    let need = open + FDS_PER_WORKER * n as u64 + FDS_SPARE;
    let mut limit = getrlimit(Resource::Nofile);
    let soft = limit.current.unwrap_or(u64::MAX);
    if need <= soft {
        return Ok(());
    }
    let hard = limit.maximum.unwrap_or(u64::MAX);
    if need > hard {
        bail!(
            "{n} {role}s need about {need} file descriptors, and this shell allows \
             {hard} at most (`ulimit -Hn`): start fewer workers"
        );
    }
    limit.current = Some(need);
    setrlimit(Resource::Nofile, limit).with_context(|| {
        format!(
            "{n} {role}s need about {need} file descriptors; the limit is {soft} \
             (`ulimit -n`) and could not be raised: raise it or start fewer workers"
        )
    })
}

/// The directory every one-shot server of this run puts its socket in, named
/// after the program and this process: `<temp>/<program>-sockets-<pid>`.
///
/// ipc-channel makes each server's socket in a fresh directory under the
/// temporary folder and removes it once a worker has connected. A run killed
/// while workers start (Ctrl-C, SIGKILL, a worker that dies first) would leave
/// those behind under anonymous names. Gathered here, they go with the
/// directory: on every exit path, on Ctrl-C, and for a run that was killed
/// outright, at the start of the next run of the same program.
#[derive(Debug)]
pub struct SocketDir {
    path: PathBuf,
    _on_signal: OnSignal,
}

impl SocketDir {
    /// Creates the directory, sweeps those of dead runs, and points this
    /// process's temporary folder at it.
    ///
    /// # Safety
    ///
    /// Sets the `TMPDIR` environment variable: call it while this process has
    /// one thread only, first thing in `main`.
    pub unsafe fn create() -> anyhow::Result<SocketDir> {
        let base = std::env::temp_dir();
        let program = std::env::current_exe()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "workers".into());
        let prefix = format!("{program}-sockets-");
        sweep(&base, &prefix);
        let path = base.join(format!("{prefix}{}", std::process::id()));
        let made = std::fs::DirBuilder::new().mode(0o700).create(&path);
        if let Err(e) = made.or_else(|e| match e.kind() {
            // Left by a dead process whose pid we now have: ours to reuse.
            std::io::ErrorKind::AlreadyExists => Ok(()),
            _ => Err(e),
        }) {
            bail!(
                "cannot create a directory for worker sockets in {} ({e}); set \
                 TMPDIR to a writable directory",
                base.display()
            );
        }
        // SAFETY: the caller promises no other thread exists that could read
        // or write the environment at the same time.
        unsafe { std::env::set_var("TMPDIR", &path) };
        let doomed = path.clone();
        let _on_signal = OnSignal::new(move || {
            let _in_use =
                SOCKET_DIR_IN_USE.lock().unwrap_or_else(|e| e.into_inner());
            let _ = std::fs::remove_dir_all(doomed);
        });
        Ok(SocketDir { path, _on_signal })
    }
}

use std::os::unix::fs::DirBuilderExt;

impl Drop for SocketDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Removes `<base>/<prefix><pid>` directories whose process is gone, and
/// says so on standard error.
fn sweep(base: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(prefix)
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id()
            && !crate::ps::exists(pid)
            && std::fs::remove_dir_all(entry.path()).is_ok()
        {
            eprintln!(
                "note: removed {}, left by a run (pid {pid}) that was killed",
                entry.path().display()
            );
        }
    }
}

impl<Down, Up> Drop for Pool<Down, Up> {
    /// Kills and reaps every worker not reaped yet. Harmless for those that were.
    /// All are killed before any is waited for, so none lives on to see
    /// another die and report it as news.
    fn drop(&mut self) {
        for m in &mut self.members {
            if let Ok(None) = m.child.try_wait() {
                let _ = m.child.kill();
            }
        }
        for m in &mut self.members {
            let _ = m.child.wait();
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
pub enum Heard<M> {
    /// Worker `.0` sent a message.
    Message(usize, M),
    /// Worker `.0`'s channel closed: it exited, or died, or dropped its sender.
    Gone(usize),
    /// Worker `.0` is alive but has said nothing, not even a heartbeat, for
    /// `.1`: stopped, stuck, or starved of a core. Reported once.
    Silent(usize, Duration),
}

/// What one worker's channel brought.
enum News<M> {
    Beat,
    Message(M),
    Closed,
}

/// One receiver for the messages of every worker, in arrival order.
///
/// An ipc-channel receiver cannot be shared by several processes, so each
/// worker has its own channel to the parent and the inbox selects over all of
/// them (`IpcReceiverSet`, a `poll` on their sockets).
struct Inbox<M> {
    set: IpcReceiverSet,
    /// Receiver-set ids to worker indexes.
    who: HashMap<u64, usize>,
    _m: std::marker::PhantomData<M>,
}

impl<M> std::fmt::Debug for Inbox<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inbox")
            .field("workers", &self.who.len())
            .finish()
    }
}

impl<M: Serialize + DeserializeOwned> Inbox<M> {
    fn new() -> anyhow::Result<Self> {
        Ok(Inbox {
            set: IpcReceiverSet::new()?,
            who: HashMap::new(),
            _m: std::marker::PhantomData,
        })
    }

    fn add(&mut self, index: usize, rx: IpcReceiver<Up<M>>) -> anyhow::Result<()> {
        let id = self.set.add(rx)?;
        self.who.insert(id, index);
        Ok(())
    }

    /// What arrived within `timeout`, worker by worker, in arrival order.
    fn wait(&mut self, timeout: Duration) -> anyhow::Result<Vec<(usize, News<M>)>> {
        use ipc_channel::TrySelectError;
        let results = match self.set.try_select_timeout(timeout) {
            Ok(r) => r,
            Err(TrySelectError::Empty) => return Ok(Vec::new()),
            Err(TrySelectError::IoError(e)) => return Err(e.into()),
        };
        let mut news = Vec::with_capacity(results.len());
        for r in results {
            match r {
                IpcSelectionResult::MessageReceived(id, msg) => {
                    let up =
                        msg.to().context("a worker sent a malformed message")?;
                    let item = match up {
                        Up::Beat => News::Beat,
                        Up::Message(m) => News::Message(m),
                    };
                    news.push((self.who[&id], item));
                }
                IpcSelectionResult::ChannelClosed(id) => {
                    news.push((self.who[&id], News::Closed));
                }
            }
        }
        Ok(news)
    }
}
