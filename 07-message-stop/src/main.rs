//! Chapter 7: the stop is a message. Each worker has an inbox of its own,
//! and no process reads anything another process writes to shared memory.
//!
//! Run it: `cargo run --bin 07-message-stop` (or `cargo run -p message-stop`).
//! Try `--case prime`, `--check-every 1000`, `--workers 8`, `--help`.
//!
//! The text's design rule prefers message passing to shared mutable state,
//! as actor systems do. Chapters 3 to 6 stop the search with a flag that
//! every worker reads. Here each worker owns an inbox: a pipe that only it
//! reads. Every K candidates it looks into the inbox without waiting. The
//! worker that finds the factor does not write to its peers. It sends one
//! message to the parent, which acts as supervisor and sends a stop to every
//! inbox. A look is a system call that finds the inbox empty. A stop is read
//! once, by one worker, and is then gone.

use anyhow::{Context, bail, ensure};
use clap::{Parser, Subcommand};
use rustix::fs::{FileType, OFlags};
use rustix::io::{Errno, FdFlags};
use rustix::pipe::PipeFlags;
use std::cell::Cell;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::process::ExitCode;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use workers::WorkerArgs;
use workers::flag::{self, Order, Parent, SearchArgs, Timing};
use workers::search::StopFlag;

/// What the stop is, for the report.
const WHAT: &str = "a message in each worker's own inbox (a pipe)";

/// Workers search for a factor and stop early on a message: each worker has
/// its own inbox, and the parent, as supervisor, sends every inbox a stop.
#[derive(Debug, Parser)]
#[command(name = "07-message-stop", args_conflicts_with_subcommands = true)]
struct Cli {
    // A look is a system call (a read that finds the inbox empty), hundreds
    // of times a load from memory: looking every 10,000 candidates (about
    // 20 µs of division) keeps it to about a hundredth of the work.
    #[command(flatten)]
    search: SearchArgs<10_000>,
    #[command(flatten)]
    timing: Timing,
    #[command(subcommand)]
    role: Option<Role>,
}

#[derive(Debug, Subcommand)]
enum Role {
    /// Internal: run as a worker process (started by the parent).
    #[command(hide = true)]
    Worker(WorkerArgs),
}

// ANCHOR: message
/// Bytes in one message: the number of the search it stops, little-endian.
/// A pipe takes a write of up to 4096 bytes whole or not at all, so a
/// message is never split or interleaved with another.
const MESSAGE: usize = 8;

/// Messages one look takes from an inbox at most: a look is one read.
const BATCH: usize = 64;

/// The search numbers in `bytes`, as read from a pipe.
fn messages(bytes: &[u8]) -> impl Iterator<Item = u64> + '_ {
    bytes.chunks_exact(MESSAGE).map(|m| {
        let mut search = [0; MESSAGE];
        search.copy_from_slice(m);
        u64::from_le_bytes(search)
    })
}

/// Puts a stop for `search` into the inbox `to`, without ever waiting.
///
/// Errors are the kernel's: `AGAIN` when the inbox is full (its reader has
/// left a pipe's worth unread: 8,192 messages in Linux's default 64 KiB),
/// `PIPE` when nobody can read it any more.
/// Each caller decides what those mean to it.
fn send(to: BorrowedFd<'_>, search: u64) -> rustix::io::Result<()> {
    rustix::io::write(to, &search.to_le_bytes()).map(drop)
}
// ANCHOR_END: message

// ANCHOR: create
/// The mail of one run: an inbox per worker, and the supervisor's.
struct Pipes {
    /// Read ends of the workers' inboxes, in worker order. Inherited by
    /// every worker (each then keeps its own and closes the rest).
    inboxes: Vec<OwnedFd>,
    /// Write ends of the workers' inboxes: the supervisor's alone. Marked
    /// close-on-exec, so no worker can write to another's inbox.
    to_workers: Vec<OwnedFd>,
    /// Read end of the supervisor's inbox: the parent's alone.
    supervisor_inbox: OwnedFd,
    /// Write end of the supervisor's inbox, inherited by every worker: the
    /// one address a worker knows besides its own.
    to_supervisor: OwnedFd,
}

impl Pipes {
    /// Makes the pipes for `workers` workers, each end marked for who will
    /// hold it.
    fn create(workers: usize) -> anyhow::Result<Pipes> {
        let mut inboxes = Vec::with_capacity(workers);
        let mut to_workers = Vec::with_capacity(workers);
        // A worker never waits on its inbox: it looks, and searches on.
        // The supervisor never waits on a worker's full inbox either.
        for _ in 0..workers {
            let (read, write) = pipe()?;
            inboxes.push(inherited(nonblocking(read)?)?);
            to_workers.push(nonblocking(write)?);
        }
        // The supervisor waits for mail: it has nothing else to do. A
        // finder never waits on it.
        let (supervisor_inbox, write) = pipe()?;
        Ok(Pipes {
            inboxes,
            to_workers,
            supervisor_inbox,
            to_supervisor: inherited(nonblocking(write)?)?,
        })
    }
}

/// A pipe whose ends no started process inherits unless told to:
/// `pipe_with` marks both close-on-exec in the same step that makes them.
fn pipe() -> anyhow::Result<(OwnedFd, OwnedFd)> {
    rustix::pipe::pipe_with(PipeFlags::CLOEXEC).context(
        "cannot make a pipe (out of file descriptors?): raise `ulimit -n` or \
         start fewer workers",
    )
}

/// `fd`, kept open across the workers' exec.
fn inherited(fd: OwnedFd) -> anyhow::Result<OwnedFd> {
    rustix::io::fcntl_setfd(&fd, FdFlags::empty())
        .context("cannot let the workers inherit a pipe")?;
    Ok(fd)
}

/// `fd`, whose reads and writes answer at once (`EAGAIN`) rather than wait.
fn nonblocking(fd: OwnedFd) -> anyhow::Result<OwnedFd> {
    rustix::fs::fcntl_setfl(&fd, OFlags::NONBLOCK)
        .context("cannot make a pipe non-blocking")?;
    Ok(fd)
}
// ANCHOR_END: create

// ANCHOR: supervisor
/// The supervisor: a thread of the parent that sleeps until a stop arrives
/// in its inbox, then sends one to every worker's inbox. It ends when every
/// process that could write to it (the workers, the parent) has let go.
fn supervise(inbox: OwnedFd, workers: Vec<OwnedFd>) -> anyhow::Result<()> {
    // Its own state, which nobody else reads: the last search it stopped.
    // A second stop for the same search is news to nobody.
    let mut stopped = 0;
    let mut mail = [0; MESSAGE * BATCH];
    loop {
        // Sleep until someone writes: waiting here costs nobody anything.
        let n = match rustix::io::read(&inbox, &mut mail) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e).context("the supervisor cannot read its inbox"),
        };
        for search in messages(&mail[..n]) {
            if search <= stopped {
                continue;
            }
            stopped = search;
            for to in &workers {
                match send(to.as_fd(), search) {
                    Ok(()) => {}
                    // Full: a pipe's worth unread, so its owner is not
                    // reading (paused, say; the pool's silence check names
                    // it). Waiting for it would hold up everyone else.
                    Err(Errno::AGAIN) => {}
                    // Nobody reads it: the worker died, and the pool says so.
                    Err(Errno::PIPE) => {}
                    Err(e) => {
                        return Err(e).context("the supervisor cannot send a stop");
                    }
                }
            }
        }
    }
}

/// The parent's side of the mail: the supervisor's thread, and the
/// supervisor's address, through which the parent asks for a stop itself.
struct Supervisor {
    /// Write end of the supervisor's inbox, like each worker's: the stop
    /// latency trials raise the stop here, the way a finder does.
    inbox: OwnedFd,
    /// The search under way, counted as the workers count it (see
    /// [`Mailbox::search`]).
    search: Cell<u64>,
    thread: JoinHandle<anyhow::Result<()>>,
}

impl Supervisor {
    /// Starts the supervisor's thread with its inbox and the workers'.
    fn start(inbox: OwnedFd, to_workers: Vec<OwnedFd>, address: OwnedFd) -> Self {
        let thread = std::thread::spawn(move || supervise(inbox, to_workers));
        Supervisor {
            inbox: address,
            search: Cell::new(0),
            thread,
        }
    }

    /// Lets go of the supervisor's address and waits for its thread, which
    /// ends once the workers, which held the address too, have exited.
    fn finish(self) -> anyhow::Result<()> {
        drop(self.inbox);
        let deadline = Instant::now() + Duration::from_secs(2);
        while !self.thread.is_finished() {
            ensure!(
                Instant::now() < deadline,
                "the supervisor did not end: a process still holds its inbox"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        match self.thread.join() {
            Ok(result) => result,
            Err(_) => bail!("the supervisor's thread panicked"),
        }
    }
}

impl StopFlag for Supervisor {
    /// Only workers have inboxes; the parent never looks.
    fn is_set(&self) -> anyhow::Result<bool> {
        bail!("the parent has no inbox: only workers look for a stop")
    }

    /// Asks the supervisor to stop the current search, as a finder does.
    fn raise(&self) -> anyhow::Result<()> {
        ask_for_stop(self.inbox.as_fd(), self.search.get())
    }

    /// A message cannot be unsent: lowering is moving on to the next search.
    /// The shared `measure` lowers once before each search, and sends each
    /// worker one `Search` order, so both counts agree.
    fn lower(&self) -> anyhow::Result<()> {
        self.search.set(self.search.get() + 1);
        Ok(())
    }
}

/// Sends the supervisor a stop for `search`; an error if it cannot take it.
fn ask_for_stop(supervisor: BorrowedFd<'_>, search: u64) -> anyhow::Result<()> {
    match send(supervisor, search) {
        Ok(()) => Ok(()),
        // Never wait: a supervisor with a pipe's worth unread is not reading.
        Err(Errno::AGAIN) => {
            bail!(
                "the supervisor's inbox is full: the parent has stopped reading it"
            )
        }
        Err(Errno::PIPE) => bail!("the supervisor is gone: nobody reads its inbox"),
        Err(e) => Err(e).context("cannot send the supervisor a stop"),
    }
}
// ANCHOR_END: supervisor

// ANCHOR: mailbox
/// A worker's mail: its own inbox, and the supervisor's address.
struct Mailbox {
    /// Read end of this worker's pipe. No other process holds it, so what
    /// arrives is for this worker alone, and is gone once read.
    inbox: OwnedFd,
    /// Write end of the supervisor's pipe.
    supervisor: OwnedFd,
    /// The search under way, counted from the `Search` orders this worker
    /// has had. A stop can arrive after its search is over (a worker that
    /// finished its share before the stop came); the number tells it apart.
    search: Cell<u64>,
}

impl Mailbox {
    /// Takes worker `me`'s inbox from `inboxes` and the supervisor's
    /// address, descriptors this process inherited, after checking each is
    /// the end of a pipe it should be; closes the other workers' inboxes:
    /// their mail is not this worker's to read.
    fn open(
        me: usize,
        inboxes: &[RawFd],
        supervisor: RawFd,
    ) -> anyhow::Result<Self> {
        ensure!(me < inboxes.len(), "worker {me} has no inbox");
        let mut all = [inboxes, &[supervisor]].concat();
        all.sort_unstable();
        all.dedup();
        ensure!(
            all.len() == inboxes.len() + 1,
            "the parent sent a descriptor's number twice"
        );
        let [mut inbox, mut address] = [None, None];
        for (fd, mode) in inboxes
            .iter()
            .map(|&fd| (fd, OFlags::RDONLY))
            .chain([(supervisor, OFlags::WRONLY)])
        {
            // SAFETY: the parent made these descriptors without close-on-exec
            // before it started this process, and sent their numbers; this
            // process opened nothing under those numbers, and takes
            // ownership of each exactly once, here, after checking it.
            let fd = unsafe {
                is_pipe_end(BorrowedFd::borrow_raw(fd), mode)?;
                OwnedFd::from_raw_fd(fd)
            };
            if fd.as_raw_fd() == inboxes[me] {
                inbox = Some(fd);
            } else if fd.as_raw_fd() == supervisor {
                address = Some(fd);
            } // else: another worker's inbox, closed as `fd` drops.
        }
        Ok(Mailbox {
            inbox: inbox.context("no inbox")?,
            supervisor: address.context("no supervisor")?,
            search: Cell::new(0),
        })
    }

    /// A new search has begun: from now on a stop for an earlier one is
    /// stale.
    fn next_search(&self) {
        self.search.set(self.search.get() + 1);
    }
}

/// Fails unless `fd` is a non-blocking pipe end open for `mode`.
fn is_pipe_end(fd: BorrowedFd<'_>, mode: OFlags) -> anyhow::Result<()> {
    let stat = rustix::fs::fstat(fd);
    let pipe =
        stat.is_ok_and(|s| FileType::from_raw_mode(s.st_mode) == FileType::Fifo);
    let flags = rustix::fs::fcntl_getfl(fd).unwrap_or(OFlags::empty());
    ensure!(
        pipe && flags & OFlags::RWMODE == mode && flags.contains(OFlags::NONBLOCK),
        "descriptor {} is not the non-blocking pipe end the parent made",
        fd.as_raw_fd()
    );
    Ok(())
}
// ANCHOR_END: mailbox

// ANCHOR: check
impl StopFlag for Mailbox {
    /// One look: a read that does not wait. An empty inbox answers at once
    /// (`EAGAIN`): one system call, and no other process involved. Stops
    /// for an earlier search are read and dropped.
    fn is_set(&self) -> anyhow::Result<bool> {
        let mut mail = [0; MESSAGE * BATCH];
        match rustix::io::read(&self.inbox, &mut mail) {
            Ok(0) => {
                bail!("the supervisor is gone: nobody can send this worker a stop")
            }
            Ok(n) => Ok(messages(&mail[..n]).any(|s| s == self.search.get())),
            Err(Errno::AGAIN | Errno::INTR) => Ok(false),
            Err(e) => Err(e).context("cannot read this worker's inbox"),
        }
    }

    /// The finder's one message: "this search is over", to the supervisor.
    fn raise(&self) -> anyhow::Result<()> {
        ask_for_stop(self.supervisor.as_fd(), self.search.get())
    }

    /// A message cannot be unsent: lowering is moving on to the next search.
    fn lower(&self) -> anyhow::Result<()> {
        self.next_search();
        Ok(())
    }
}
// ANCHOR_END: check

// ANCHOR: main
fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.role {
        Some(Role::Worker(link)) => workers::run_worker(|| worker(&link)),
        None => workers::run_parent(|| parent(&cli)),
    }
}

fn parent(cli: &Cli) -> anyhow::Result<()> {
    // Room for two pipe ends per worker besides its channels, or one line
    // saying there is none, before anything is made.
    let workers = cli.timing.workers();
    workers::pool::ensure_descriptors(workers, "worker")?;
    // Make the mail: an inbox per worker and one for the supervisor. Pipes
    // have no names: nothing is left behind, whatever ends this process.
    let pipes = Pipes::create(workers)?;
    // Start the supervisor, a thread of this process that forwards stops.
    let handle = (
        pipes
            .inboxes
            .iter()
            .map(|fd| fd.as_raw_fd())
            .collect::<Vec<_>>(),
        pipes.to_supervisor.as_raw_fd(),
    );
    let supervisor = Supervisor::start(
        pipes.supervisor_inbox,
        pipes.to_workers,
        pipes.to_supervisor,
    );
    // Start the workers, which inherit every inbox and the supervisor's
    // address; tell each the numbers, and wait until each has kept its own
    // inbox and closed the others'.
    let mut pool = flag::Pool::start(&cli.search, &cli.timing)?;
    pool.open_flag(&handle)?;
    // Now let go of the parent's copies: each inbox has one reader.
    drop(pipes.inboxes);
    // Search: released together; the finder tells the supervisor, which
    // tells every worker. Timed over repeats, with the cost of one look and
    // the time from a stop asked for to every worker stopped.
    let measured = pool.measure(&supervisor, &cli.search, &cli.timing)?;
    // The poison pill for every worker, then reap them; then the supervisor.
    pool.finish()?;
    supervisor.finish()?;
    let report = measured.report(WHAT, &cli.search, &cli.timing, None)?;
    report.print(cli.search.json)
}
// ANCHOR_END: main

// ANCHOR: worker
fn worker(link: &WorkerArgs) -> anyhow::Result<()> {
    // Meet the parent; its first message lists the inboxes this process
    // inherited, in worker order, and the supervisor's address.
    let (parent, (inboxes, supervisor)) =
        Parent::<(Vec<RawFd>, RawFd)>::connect(link)?;
    // Keep this worker's inbox, close the others', and tell the parent how
    // that went: no search starts until every worker has.
    let mailbox = parent.opened(Mailbox::open(link.index, &inboxes, supervisor))?;
    // Search when released, or time looks at the inbox, until the pill.
    while let Some(order) = parent.next_order()? {
        if let Order::Search { .. } = order {
            mailbox.next_search();
        }
        parent.obey(order, &mailbox)?;
    }
    Ok(())
}
// ANCHOR_END: worker

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// A worker's mailbox over fresh pipes, and the far ends: where to
    /// write to its inbox, where to read what it sends the supervisor.
    fn mailbox() -> (Mailbox, OwnedFd, OwnedFd) {
        let (inbox, to_inbox) = pipe().unwrap();
        let (from_worker, to_supervisor) = pipe().unwrap();
        let mailbox = Mailbox {
            inbox: nonblocking(inbox).unwrap(),
            supervisor: nonblocking(to_supervisor).unwrap(),
            search: Cell::new(1),
        };
        (
            mailbox,
            nonblocking(to_inbox).unwrap(),
            nonblocking(from_worker).unwrap(),
        )
    }

    /// Writes into `to` until it is full; how many messages went in.
    fn fill(to: BorrowedFd<'_>) -> usize {
        let mut n = 0;
        while send(to, 0).is_ok() {
            n += 1;
        }
        n
    }

    #[test]
    fn a_look_sees_a_stop_for_this_search_once_and_drops_stale_ones() {
        let (mailbox, to_inbox, _) = mailbox();
        assert!(!mailbox.is_set().unwrap(), "an empty inbox holds no stop");
        send(to_inbox.as_fd(), 1).unwrap();
        assert!(mailbox.is_set().unwrap());
        assert!(!mailbox.is_set().unwrap(), "a stop is read once");
        // A stop that comes after its search is over stops nothing.
        send(to_inbox.as_fd(), 1).unwrap();
        mailbox.next_search();
        assert!(!mailbox.is_set().unwrap());
        send(to_inbox.as_fd(), 2).unwrap();
        assert!(mailbox.is_set().unwrap());
    }

    #[test]
    fn a_finder_never_waits_on_a_full_supervisor_inbox() {
        let (mailbox, _, from_worker) = mailbox();
        mailbox.raise().unwrap();
        let mut mail = [0; MESSAGE];
        rustix::io::read(&from_worker, &mut mail).unwrap();
        assert_eq!(messages(&mail).collect::<Vec<_>>(), [1]);
        // Nobody reads: the inbox fills, and the next stop is an error at
        // once, not a wait (a wait would hang this test).
        assert!(fill(mailbox.supervisor.as_fd()) >= 4096 / MESSAGE);
        let e = mailbox.raise().unwrap_err();
        assert!(e.to_string().contains("inbox is full"), "{e}");
    }

    #[test]
    fn the_supervisor_stops_every_worker_once_per_search_and_never_waits() {
        let (inbox, address) = pipe().unwrap();
        let (reads, writes): (Vec<_>, Vec<_>) = (0..3)
            .map(|_| {
                let (r, w) = pipe().unwrap();
                (nonblocking(r).unwrap(), nonblocking(w).unwrap())
            })
            .unzip();
        // Worker 2 reads nothing: its inbox is full before the stops come.
        fill(writes[2].as_fd());
        let (done, ended) = mpsc::channel();
        std::thread::spawn(move || done.send(supervise(inbox, writes)));
        for search in [1, 1, 2, 1] {
            send(address.as_fd(), search).unwrap();
        }
        // Every sender gone: the supervisor ends.
        drop(address);
        let result = ended.recv_timeout(Duration::from_secs(10));
        assert!(matches!(result, Ok(Ok(()))), "{result:?}");
        for inbox in &reads[..2] {
            let mut mail = [0; MESSAGE * BATCH];
            let n = rustix::io::read(inbox, &mut mail).unwrap();
            assert_eq!(messages(&mail[..n]).collect::<Vec<_>>(), [1, 2]);
        }
    }
}
