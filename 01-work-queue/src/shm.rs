//! `--queue shm`: the queue lives in memory that every process maps. A ring
//! of tasks that every worker takes from, a ring of results that every worker
//! puts to (`work_queue::ring`), and a futex to sleep on when there is
//! nothing to do. Taking a task is a compare-and-swap on a shared counter: no
//! system call, no copy through the kernel, no process woken on the way.
//!
//! The memory is a memory file (`memfd_create`) with no name, which the
//! workers inherit as a descriptor across `exec`, as in chapter 5: nothing is
//! left behind however the run ends.

use crate::SLOW_DELAY;
use crate::shared::{Buried, Medium, SharedQueue, Want};
use crate::task::{Done, Job, check};
use anyhow::Context;
use memmap2::{MmapOptions, MmapRaw};
use rustix::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use rustix::fs::{FallocateFlags, MemfdFlags, SealFlags};
use rustix::thread::futex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::SeqCst};
use std::time::Duration;
use work_queue::ring::{Intent, Message, Recovered, Ring};
use workers::pool::{Liveness, Pool, WorkerArgs, WorkerEnd};

/// Slots in each ring: also the most tasks out at once, so the result ring
/// always has room for every result.
const SLOTS: usize = 1024;
/// The most workers `--workers` accepts.
pub const MAX_WORKERS: usize = 256;
/// Looks at an empty ring before going to sleep: a few microseconds, about
/// what a futex round trip costs, so a worker that is about to get work does
/// not pay for sleeping.
const SPINS: u32 = 2_000;

// ANCHOR: layout
/// Everything the processes share, at the start of the memory file.
#[repr(C)]
struct Shared {
    tasks: Ring<SLOTS>,
    results: Ring<SLOTS>,
    /// Workers sleep on it while `tasks` is empty.
    work: Bell,
    /// The parent sleeps on it while it has nothing to do...
    news: Bell,
    /// ...until the task ring holds fewer tasks than this (time to refill)...
    wake_below: AtomicU64,
    /// ...or the result ring holds this many results.
    wake_at: AtomicU64,
    /// What each worker is doing, for the parent to read if it dies.
    workers: [WorkerWords; MAX_WORKERS],
}

/// One worker's words, on a cache line of its own.
#[repr(C, align(64))]
struct WorkerWords {
    /// Its intent on the task ring.
    taking: Intent,
    /// Its intent on the result ring.
    putting: Intent,
    /// The task it holds (sequence number), from before the slot is freed
    /// until it takes the next one.
    holding: AtomicU64,
}
// ANCHOR_END: layout

// ANCHOR: bell
/// A futex to sleep on, and a count of who sleeps there, so that the side
/// that has news makes a system call only when somebody is asleep.
#[repr(C, align(64))]
struct Bell {
    rings: AtomicU32,
    sleepers: AtomicU32,
}

impl Bell {
    /// Sleeps until rung, or `timeout`, unless `ready()` turns true first.
    fn sleep(&self, timeout: Duration, ready: impl Fn() -> bool) {
        let seen = self.rings.load(SeqCst);
        self.sleepers.fetch_add(1, SeqCst);
        // Checked after saying we sleep: news put before this look is seen
        // here; news put after it sees a sleeper and rings.
        if !ready() {
            let timeout = rustix::time::Timespec::try_from(timeout).ok();
            // Flags::empty(), not PRIVATE: the futex is shared between
            // processes, so the kernel keys it by the page, not the address.
            // Any error (woken, timed out, rung before we slept) means: look.
            let _ = futex::wait(
                &self.rings,
                futex::Flags::empty(),
                seen,
                timeout.as_ref(),
            );
        }
        self.sleepers.fetch_sub(1, SeqCst);
    }

    /// Wakes every sleeper, if there is one.
    fn ring(&self) {
        if self.sleepers.load(SeqCst) > 0 {
            self.rings.fetch_add(1, SeqCst);
            let _ = futex::wake(&self.rings, futex::Flags::empty(), u32::MAX);
        }
    }
}
// ANCHOR_END: bell

impl Shared {
    /// What the parent asked to be woken for has happened.
    fn parent_has_news(&self) -> bool {
        self.tasks.len() < self.wake_below.load(SeqCst)
            || self.results.len() >= self.wake_at.load(SeqCst)
    }
}

/// One process's mapping of the shared memory.
#[derive(Debug)]
pub struct Memory {
    map: MmapRaw,
    /// The parent's intent word. Nobody recovers the parent's operations (if
    /// it dies, the workers die with it), but the ring asks for one.
    intent: Intent,
}

impl Memory {
    fn shared(&self) -> &Shared {
        // SAFETY: the mapping is at least `size_of::<Shared>()` bytes (checked
        // when mapped), page-aligned (so aligned for `Shared`), shared with
        // the other processes and alive as long as `self`. `Shared` holds only
        // atomics, valid at any bit pattern once `init` ran, and every process
        // touches the memory only through them.
        unsafe { &*self.map.as_ptr().cast::<Shared>() }
    }

    /// Maps the memory file `fd`, after checking it is sealed at its size.
    fn open(fd: BorrowedFd<'_>) -> anyhow::Result<Memory> {
        let size = std::mem::size_of::<Shared>();
        let sealed = rustix::fs::fcntl_get_seals(fd)
            .is_ok_and(|s| s.contains(SealFlags::SHRINK | SealFlags::GROW));
        let len = rustix::fs::fstat(fd)
            .map(|st| st.st_size as usize)
            .unwrap_or(0);
        anyhow::ensure!(
            sealed && len == size,
            "descriptor {} is not the queue's sealed memory file",
            fd.as_raw_fd()
        );
        let map = MmapOptions::new().len(size).map_raw(&fd)?;
        Ok(Memory {
            map,
            intent: Intent::new(),
        })
    }

    /// Creates the memory file (inherited by the workers), reserves and seals
    /// it, maps it and numbers the rings' slots.
    fn create() -> anyhow::Result<(Memory, OwnedFd)> {
        let size = std::mem::size_of::<Shared>();
        // No MFD_CLOEXEC: the descriptor must survive the workers' exec.
        let fd =
            rustix::fs::memfd_create("01-work-queue", MemfdFlags::ALLOW_SEALING)
                .context("cannot create the queue's memory file (memfd_create)")?;
        // Reserve the pages now: a page that cannot be had when first touched
        // kills the process with SIGBUS. Here it is an error.
        workers::interrupt::file_size_limit_is_an_error()?;
        match rustix::fs::fallocate(&fd, FallocateFlags::empty(), 0, size as u64) {
            Ok(()) => {}
            Err(rustix::io::Errno::FBIG) => anyhow::bail!(
                "the queue's shared memory ({} KiB) is over this shell's file size \
                 limit: raise it (ulimit -f) and retry",
                size / 1024
            ),
            Err(e) => Err(e).context(
                "no memory for the queue (fallocate): free some memory and retry",
            )?,
        }
        rustix::fs::fcntl_add_seals(
            &fd,
            SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL,
        )
        .context("cannot seal the queue's memory file")?;
        let memory = Memory::open(fd.as_fd())?;
        // The file starts all zeros: valid atomics, each ring's counters at 0,
        // every intent and every bell at rest. Only the slots need numbers.
        memory.shared().tasks.init();
        memory.shared().results.init();
        Ok((memory, fd))
    }

    /// Makes the memory and starts `workers` processes that map it.
    pub fn start(
        workers: usize,
        slow: Option<usize>,
        liveness: Liveness,
    ) -> anyhow::Result<SharedQueue<Memory>> {
        let (memory, fd) = Memory::create()?;
        let fd_arg = fd.as_raw_fd().to_string();
        let pool = Pool::spawn(workers, liveness, |i| {
            let us = if Some(i) == slow {
                SLOW_DELAY.as_micros()
            } else {
                0
            };
            [
                "--queue",
                "shm",
                "--delay-us",
                &us.to_string(),
                "--memory-fd",
                &fd_arg,
            ]
            .map(String::from)
            .to_vec()
        })?;
        drop(fd); // the mapping keeps the memory; the workers have their copies
        Ok(SharedQueue {
            pool,
            medium: memory,
            alive: vec![true; workers],
            last_seq: 0,
        })
    }
}

impl Medium for Memory {
    const WINDOW: usize = SLOTS;

    fn put(&mut self, msg: Message) -> anyhow::Result<bool> {
        Ok(self.shared().tasks.put(msg, &self.intent).is_ok())
    }

    fn wake_workers(&self) {
        self.shared().work.ring();
    }

    fn take(&mut self) -> anyhow::Result<Option<Message>> {
        Ok(self.shared().results.take(&self.intent, |_| {}))
    }

    fn wait(&mut self, timeout: Duration, want: Want) -> anyhow::Result<()> {
        let sh = self.shared();
        // Say what is worth waking for, so that workers do not wake the parent
        // for every result: a wake-up costs a system call, and on a busy
        // machine a core taken from a worker.
        let (below, at) = if want.refill {
            ((sh.tasks.len() / 2).max(1), SLOTS as u64 / 2)
        } else {
            (0, want.out as u64) // every result still out: the round's end
        };
        sh.wake_below.store(below, SeqCst);
        sh.wake_at.store(at.max(1), SeqCst);
        sh.news.sleep(timeout, || sh.parent_has_news());
        Ok(())
    }

    fn queued(&self) -> anyhow::Result<u64> {
        Ok(self.shared().tasks.len())
    }

    // ANCHOR: bury
    /// The ring knows exactly what a dead worker had: the slot it was in the
    /// middle of (its intents), and the task it held.
    fn bury(&mut self, w: usize, alive: &[bool]) -> Buried {
        let sh = self.shared();
        let me = &sh.workers[w];
        let live = || {
            alive
                .iter()
                .enumerate()
                .filter(|(_, a)| **a)
                .map(|(v, _)| &sh.workers[v])
        };
        let mut held = vec![me.holding.load(SeqCst)];
        if let Some(pos) = me.taking.position() {
            let busy = || live().any(|v| v.taking.position() == Some(pos));
            match sh.tasks.recover(pos, [0; 3], busy) {
                Recovered::Busy => return Buried::Busy,
                // It won the slot and died before freeing it: the task is
                // still there, and is lost unless answered.
                Recovered::Taken(msg) => held.push(msg[0]),
                Recovered::Filled | Recovered::Nothing => {}
            }
        }
        if let Some(pos) = me.putting.position() {
            let busy = || live().any(|v| v.putting.position() == Some(pos));
            // A result slot it won and never wrote gets a filler (sequence
            // number 0) that the parent passes over.
            if sh.results.recover(pos, [0; 3], busy) == Recovered::Busy {
                return Buried::Busy;
            }
        }
        // Nobody will act on these words again; clear them so a second look
        // finds nothing to do.
        me.holding.store(0, SeqCst);
        Buried::Held(held.into_iter().filter(|&s| s != 0).collect())
    }
    // ANCHOR_END: bury
}

// ANCHOR: worker
/// A shared-memory worker: take a task from the ring, check it, put its
/// result on the other ring, until the pill.
pub fn worker(link: &WorkerArgs, delay: Duration, fd: RawFd) -> anyhow::Result<()> {
    let _parent = WorkerEnd::<(), ()>::connect(link)?; // heartbeats only
    anyhow::ensure!(fd >= 0, "--memory-fd {fd} is not a descriptor");
    // SAFETY: the parent passed this number for the memory file it left open
    // across exec for us; `open` checks it is that file before mapping it.
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    let memory = Memory::open(fd)?;
    let sh = memory.shared();
    anyhow::ensure!(
        link.index < MAX_WORKERS,
        "worker index {} too large",
        link.index
    );
    let me = &sh.workers[link.index];
    loop {
        let Job::Check { seq, numbers } = Job::decode(next_task(sh, me)) else {
            return Ok(()); // the pill
        };
        let (primes, sum) = check(numbers, delay);
        let done = Done {
            seq,
            worker: link.index as u32,
            primes,
            sum,
        };
        while sh.results.put(done.encode(), &me.putting).is_err() {
            // Full: cannot happen while the parent keeps at most SLOTS tasks
            // out, but if it does, wait for the parent to make room.
            std::thread::sleep(Duration::from_micros(50));
        }
        // Wake the parent only for what it asked to be woken for.
        if sh.parent_has_news() {
            sh.news.ring();
        }
    }
}

/// The next message on the task ring: spin a little, then sleep on the bell.
fn next_task(sh: &Shared, me: &WorkerWords) -> Message {
    loop {
        for _ in 0..SPINS {
            // Record the task as held before its slot is freed: if this
            // process dies the moment after, the parent knows it had it.
            let hold = |m: &Message| me.holding.store(m[0], SeqCst);
            if let Some(msg) = sh.tasks.take(&me.taking, hold) {
                return msg;
            }
            std::hint::spin_loop();
        }
        sh.work
            .sleep(Duration::from_millis(100), || !sh.tasks.is_empty());
    }
}
// ANCHOR_END: worker
