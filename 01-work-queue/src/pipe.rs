//! `--queue pipe`: the queue lives in the kernel. One pipe carries tasks from
//! the parent to every worker, another carries results back, as
//! `multiprocessing.Queue` does (a pipe, plus a lock for its readers and a
//! thread that feeds it).
//!
//! Both pipes are in packet mode (`O_DIRECT`, Linux 3.4): each `write` of at
//! most `PIPE_BUF` bytes is one packet, and each `read` returns exactly one
//! packet. So readers need no lock: two workers reading at once each get a
//! whole task, never half of one. The workers inherit their ends across
//! `exec` as plain descriptors.

use crate::SLOW_DELAY;
use crate::shared::{Buried, Medium, SharedQueue, Want};
use crate::task::{Done, Job, check};
use anyhow::Context;
use rustix::event::{PollFd, PollFlags, poll};
use rustix::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use rustix::io::{Errno, FdFlags};
use rustix::pipe::PipeFlags;
use std::time::Duration;
use work_queue::ring::{Message, WORDS};
use workers::pool::{Liveness, Pool, WorkerArgs, WorkerEnd};

/// Bytes in one message: three 64-bit words.
const PACKET: usize = WORDS * 8;

/// What a pipe holds. A packet takes a whole page buffer whatever its size,
/// so a pipe holds as many packets as it has buffers: 16 by default, 256
/// once grown to 1 MiB (the most an unprivileged process may ask, by default).
const PIPE_BYTES: usize = 1 << 20;

/// The parent's ends: tasks in, results out, both non-blocking.
#[derive(Debug)]
pub struct Pipes {
    tasks: OwnedFd,
    results: OwnedFd,
}

/// A packet pipe; the parent's end keeps close-on-exec, the workers' end is
/// cleared of it (so that they inherit it) by `start`.
fn packet_pipe() -> anyhow::Result<(OwnedFd, OwnedFd)> {
    let (r, w) = rustix::pipe::pipe_with(PipeFlags::DIRECT | PipeFlags::CLOEXEC)
        .map_err(|e| match e {
            rustix::io::Errno::INVAL => {
                anyhow::anyhow!(
                    "cannot make a packet pipe: O_DIRECT needs Linux 3.4"
                )
            }
            e => anyhow::anyhow!("cannot make a pipe ({e})"),
        })?;
    // Growing may be refused (pipe-max-size, or the user's pipe pages are
    // used up); the pipe then keeps its default size, which is slower only.
    let _ = rustix::pipe::fcntl_setpipe_size(&w, PIPE_BYTES);
    Ok((r, w))
}

impl Pipes {
    /// Makes the two pipes and starts `workers` processes that inherit the
    /// workers' ends.
    pub fn start(
        workers: usize,
        slow: Option<usize>,
        liveness: Liveness,
    ) -> anyhow::Result<SharedQueue<Pipes>> {
        let (tasks_r, tasks_w) = packet_pipe()?;
        let (results_r, results_w) = packet_pipe()?;
        for fd in [&tasks_r, &results_w] {
            rustix::io::fcntl_setfd(fd, FdFlags::empty())?;
        }
        for fd in [&tasks_w, &results_r] {
            rustix::fs::fcntl_setfl(fd, rustix::fs::OFlags::NONBLOCK)?;
        }
        let fds = [tasks_r.as_fd(), results_w.as_fd()].map(|fd| raw(fd).to_string());
        let pool = Pool::spawn(workers, liveness, |i| {
            let us = if Some(i) == slow {
                SLOW_DELAY.as_micros()
            } else {
                0
            };
            let [tasks, results] = fds.clone();
            [
                "--queue",
                "pipe",
                "--delay-us",
                &us.to_string(),
                "--tasks-fd",
                &tasks,
                "--results-fd",
                &results,
            ]
            .map(String::from)
            .to_vec()
        })?;
        // The workers have their copies; closing ours means that when the
        // last worker dies, reading results says so (end of file).
        drop((tasks_r, results_w));
        Ok(SharedQueue {
            pool,
            medium: Pipes {
                tasks: tasks_w,
                results: results_r,
            },
            alive: vec![true; workers],
            last_seq: 0,
        })
    }
}

fn raw(fd: BorrowedFd<'_>) -> RawFd {
    use std::os::fd::AsRawFd;
    fd.as_raw_fd()
}

fn to_bytes(msg: &Message) -> [u8; PACKET] {
    let mut b = [0; PACKET];
    for (chunk, w) in b.chunks_exact_mut(8).zip(msg) {
        chunk.copy_from_slice(&w.to_ne_bytes());
    }
    b
}

fn from_bytes(b: &[u8; PACKET]) -> Message {
    std::array::from_fn(|i| {
        u64::from_ne_bytes(b[i * 8..i * 8 + 8].try_into().unwrap())
    })
}

impl Medium for Pipes {
    /// 256 packets: what the pipes hold once grown.
    const WINDOW: usize = 256;

    fn put(&mut self, msg: Message) -> anyhow::Result<bool> {
        match rustix::io::write(&self.tasks, &to_bytes(&msg)) {
            Ok(PACKET) => Ok(true),
            Ok(n) => anyhow::bail!(
                "the task pipe took {n} bytes of a {PACKET}-byte packet"
            ),
            Err(Errno::AGAIN) => Ok(false),
            Err(e) => Err(e).context("cannot write to the task pipe"),
        }
    }

    fn wake_workers(&self) {} // the kernel wakes a reader on every write

    fn take(&mut self) -> anyhow::Result<Option<Message>> {
        let mut b = [0; PACKET];
        match rustix::io::read(&self.results, &mut b) {
            Ok(PACKET) => Ok(Some(from_bytes(&b))),
            // End of file: every worker is gone; the pool says how.
            Ok(0) => Ok(None),
            Ok(n) => anyhow::bail!("a {n}-byte packet on the result pipe"),
            Err(Errno::AGAIN) => Ok(None),
            Err(e) => Err(e).context("cannot read the result pipe"),
        }
    }

    fn wait(&mut self, timeout: Duration, _want: Want) -> anyhow::Result<()> {
        let mut fds = [PollFd::new(&self.results, PollFlags::IN)];
        let timeout = rustix::time::Timespec::try_from(timeout)?;
        match poll(&mut fds, Some(&timeout)) {
            Ok(_) | Err(Errno::INTR) => Ok(()),
            Err(e) => Err(e).context("cannot wait on the result pipe"),
        }
    }

    fn queued(&self) -> anyhow::Result<u64> {
        // FIONREAD counts the bytes in the pipe, whichever end asks.
        let bytes = rustix::io::ioctl_fionread(&self.tasks)?;
        Ok(bytes / PACKET as u64)
    }

    /// A pipe cannot say who read what: every task taken and unfinished is
    /// suspect.
    fn bury(&mut self, _w: usize, _alive: &[bool]) -> Buried {
        Buried::Taken
    }
}

/// The worker's ends, inherited from the parent: checked to be pipes before
/// this process takes them over (and would close them).
fn inherited(fd: RawFd, what: &str) -> anyhow::Result<OwnedFd> {
    anyhow::ensure!(fd >= 0, "the {what} descriptor {fd} is not a descriptor");
    // SAFETY: borrowed only for the checks below; -1 is excluded above.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    let stat = rustix::fs::fstat(borrowed)
        .with_context(|| format!("the {what} descriptor {fd} is not open"))?;
    let kind = rustix::fs::FileType::from_raw_mode(stat.st_mode);
    anyhow::ensure!(
        kind == rustix::fs::FileType::Fifo,
        "the {what} descriptor {fd} is not a pipe"
    );
    // SAFETY: the parent passed this number for a pipe it opened for us and
    // left open across exec; nothing else in this process owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

// ANCHOR: worker
/// A pipe's worker: read a task, check it, write its result, until the pill.
pub fn worker(
    link: &WorkerArgs,
    delay: Duration,
    tasks: RawFd,
    results: RawFd,
) -> anyhow::Result<()> {
    let _parent = WorkerEnd::<(), ()>::connect(link)?; // heartbeats only
    anyhow::ensure!(
        tasks != results,
        "the two pipes cannot be one descriptor ({tasks})"
    );
    let (tasks, results) = (
        inherited(tasks, "task pipe")?,
        inherited(results, "result pipe")?,
    );
    let me = link.index as u32;
    let mut b = [0; PACKET];
    loop {
        // Blocks until a packet comes; 0 bytes: the parent is gone.
        let n =
            rustix::io::read(&tasks, &mut b).context("cannot read the task pipe")?;
        if n == 0 {
            return Ok(());
        }
        anyhow::ensure!(n == PACKET, "a {n}-byte packet on the task pipe");
        let Job::Check { seq, numbers } = Job::decode(from_bytes(&b)) else {
            return Ok(()); // the pill
        };
        let (primes, sum) = check(numbers, delay);
        let done = Done {
            seq,
            worker: me,
            primes,
            sum,
        };
        rustix::io::write(&results, &to_bytes(&done.encode()))
            .context("cannot write to the result pipe")?;
    }
}
// ANCHOR_END: worker
