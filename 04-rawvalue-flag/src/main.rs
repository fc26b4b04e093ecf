//! Chapter 4: the stop flag is an atomic byte in a raw shared-memory segment.
//!
//! Run it: `cargo run --bin 04-rawvalue-flag` (or `cargo run -p rawvalue-flag`).
//! Try `--case prime`, `--case early`, `--check-every 10`, `--help`.
//!
//! Python's `multiprocessing.RawValue` is a C value in shared memory with no
//! lock around it. The Rust counterpart is a POSIX shared-memory segment
//! (`shm_open` + `mmap`, through the shared_memory crate) holding an atomic
//! byte that every process loads with `Ordering::Relaxed`: no lock and no
//! fence, the same machine instruction as a plain load, yet no undefined
//! behaviour. (Rust's memory model speaks of threads; between processes the
//! atomics work because every mapping reaches the same physical page and the
//! processor keeps its caches coherent.)

use anyhow::Context;
use clap::{Parser, Subcommand};
use shared_memory::{Shmem, ShmemConf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use workers::WorkerArgs;
use workers::flag::{self, Counter, Order, Parent, SearchArgs, Timing};
use workers::interrupt::OnSignal;
use workers::search::StopFlag;

/// What the flag is, for the report.
const WHAT: &str = "an atomic byte in POSIX shared memory";

/// The start of every segment name this program makes.
const PREFIX: &str = "04-rawvalue-flag-";

/// Bytes in the segment: one cache line. The flag is byte 0; a counter for
/// the lost-update demonstration is the u64 at byte 8.
const SEGMENT: usize = 64;

/// Workers search for a factor and stop early on a shared flag: an atomic byte
/// in POSIX shared memory.
#[derive(Debug, Parser)]
#[command(name = "04-rawvalue-flag", args_conflicts_with_subcommands = true)]
struct Cli {
    // A look is one load from memory: looking every 1000 candidates (about
    // 2 µs of division) costs next to nothing.
    #[command(flatten)]
    search: SearchArgs<1000>,
    #[command(flatten)]
    timing: Timing,
    /// Also have every worker add one to a shared counter this many times,
    /// racily and then atomically, and count the lost updates
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
}

// ANCHOR: create
/// The segment's name, as the parent created it: unlinked once every worker
/// has opened the segment, or when dropped.
struct SegmentName {
    /// `/dev/shm/<name>` on Linux.
    name: String,
    /// The owning handle, kept for its `Drop`: dropping it unlinks the name.
    _owner: Shmem,
    /// Unlinks the name if Ctrl-C ends the run before that.
    _on_signal: OnSignal,
}

impl SegmentName {
    fn create() -> anyhow::Result<SegmentName> {
        // A run killed outright (SIGKILL) while its workers started left its
        // name behind: remove such names first.
        sweep_names_of_dead_runs();
        let name = format!(
            "{PREFIX}{}-{}",
            std::process::id(),
            workers::clock::now_ns()
        );
        // Create the segment and register its clean-up as one step, so that
        // no Ctrl-C falls between the two.
        let (owner, _on_signal) = workers::interrupt::creating(|| {
            // `create` opens with O_CREAT | O_EXCL: an existing segment of the
            // same name is an error, never reused. A new segment is all
            // zeros, so the flag starts down.
            let owner = ShmemConf::new()
                .os_id(&name)
                .size(SEGMENT)
                .create()
                .with_context(|| {
                    format!("cannot create shared memory segment {name}")
                })?;
            let doomed = name.clone();
            let on_signal = OnSignal::new(move || {
                let _ = rustix::shm::unlink(doomed.as_str());
            });
            anyhow::Ok((owner, on_signal))
        })?;
        let segment = SegmentName {
            name,
            _owner: owner,
            _on_signal,
        };
        // The size is set, but the memory is found only when first touched;
        // in a full /dev/shm that touch kills the process (SIGBUS). Reserve
        // it now, so that a full /dev/shm is an error here instead.
        reserve(&segment.name)?;
        Ok(segment)
    }
}

/// Makes the kernel find the segment's memory now (`fallocate`).
fn reserve(name: &str) -> anyhow::Result<()> {
    use rustix::fs::FallocateFlags;
    use rustix::shm::{Mode, OFlags};
    let fd = rustix::shm::open(name, OFlags::RDWR, Mode::empty())
        .with_context(|| format!("cannot reopen shared memory segment {name}"))?;
    match rustix::fs::fallocate(&fd, FallocateFlags::empty(), 0, SEGMENT as u64) {
        Ok(()) => Ok(()),
        Err(rustix::io::Errno::NOSPC) => anyhow::bail!(
            "/dev/shm is full: no room for the flag's {SEGMENT} bytes; free some \
             (see `df -h /dev/shm`) or give it more room"
        ),
        Err(e) => {
            Err(e).context(format!("cannot reserve memory for segment {name}"))
        }
    }
}

/// Unlinks `/dev/shm/04-rawvalue-flag-<pid>-*` names whose process is gone,
/// and says so.
fn sweep_names_of_dead_runs() {
    let Ok(entries) = std::fs::read_dir("/dev/shm") else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('-').next());
        let Some(pid) = pid.and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if !workers::ps::exists(pid) && rustix::shm::unlink(name.as_str()).is_ok() {
            eprintln!(
                "note: removed /dev/shm/{name}, left by a run (pid {pid}) that was killed"
            );
        }
    }
}
// ANCHOR_END: create

// ANCHOR: view
/// One process's mapping of the segment.
struct RawFlag {
    /// The mapping. `Shmem` is neither `Send` nor `Sync`, and its `as_slice` is
    /// unsafe for good reason: other processes write this memory. We only
    /// ever take a raw pointer to it.
    shmem: Shmem,
}

impl RawFlag {
    fn open(name: &str) -> anyhow::Result<RawFlag> {
        let shmem = ShmemConf::new()
            .os_id(name)
            .open()
            .with_context(|| format!("cannot open shared memory segment {name}"))?;
        anyhow::ensure!(shmem.len() >= SEGMENT, "segment {name} is too small");
        Ok(RawFlag { shmem })
    }

    fn flag(&self) -> &AtomicU8 {
        // SAFETY: the pointer is valid for `SEGMENT` bytes for as long as
        // `self.shmem` is mapped (the borrow ties the reference to it), a u8
        // needs no alignment, and every process accesses it only atomically.
        unsafe { AtomicU8::from_ptr(self.shmem.as_ptr()) }
    }

    fn counter(&self) -> &AtomicU64 {
        // SAFETY: bytes 8..16 lie inside the segment and live as long as the
        // mapping; mappings start on a page boundary, so byte 8 is 8-aligned;
        // every process accesses these bytes only atomically.
        unsafe { AtomicU64::from_ptr(self.shmem.as_ptr().add(8).cast()) }
    }
}
// ANCHOR_END: view

// ANCHOR: check
impl StopFlag for RawFlag {
    /// "Raw": a relaxed load. It promises only that we read some value that
    /// was stored, whole, never a torn or invented one: all a one-way stop
    /// flag needs. Nothing else is published with it, so nothing else needs
    /// ordering.
    fn is_set(&self) -> anyhow::Result<bool> {
        Ok(self.flag().load(Ordering::Relaxed) != 0)
    }

    fn raise(&self) -> anyhow::Result<()> {
        self.flag().store(1, Ordering::Relaxed);
        Ok(())
    }

    fn lower(&self) -> anyhow::Result<()> {
        self.flag().store(0, Ordering::Relaxed);
        Ok(())
    }
}
// ANCHOR_END: check

// ANCHOR: counter
/// What "race conditions possible" means: `+= 1` as two steps loses updates.
impl Counter for RawFlag {
    /// Two atomic steps are not one: between this load and this store another
    /// worker may store its own `v + 1`, and one of the two additions is lost.
    fn add_racy(&self) -> anyhow::Result<()> {
        let v = self.counter().load(Ordering::Relaxed);
        // The window is a few nanoseconds. On two free cores the other worker
        // lands in it by itself; yielding here lets it do so on a busy or
        // single core too, as a preemption at this instant would.
        std::thread::yield_now();
        self.counter().store(v + 1, Ordering::Relaxed);
        Ok(())
    }

    /// One read-modify-write instruction (`lock xadd` on x86-64): no worker
    /// can come between its read and its write.
    fn add_atomic(&self) -> anyhow::Result<()> {
        self.counter().fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn get(&self) -> anyhow::Result<u64> {
        Ok(self.counter().load(Ordering::Relaxed))
    }

    fn reset(&self) -> anyhow::Result<()> {
        self.counter().store(0, Ordering::Relaxed);
        Ok(())
    }
}
// ANCHOR_END: counter

// ANCHOR: main
fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.role {
        Some(Role::Worker(link)) => workers::run_worker(|| worker(&link)),
        None => workers::run_parent(|| parent(&cli)),
    }
}

fn parent(cli: &Cli) -> anyhow::Result<()> {
    // Create the flag: a new segment of zeros, mapped here too.
    let segment = SegmentName::create()?;
    let flag = RawFlag::open(&segment.name)?;
    // Start the workers, send each the segment's name, and wait until every
    // one has mapped it.
    // (--workload fraud: first the transactions to scan, in workers::fraud.)
    let mut pool = flag::Pool::start(&cli.search, &cli.timing)?;
    pool.open_flag(&segment.name)?;
    // Now unlink the name: the memory lives until the last mapping goes, and
    // not even a SIGKILL of this process can leave the name behind.
    drop(segment);
    // Search: released together, stopped by the first to find a factor.
    // Timed over repeats, with the cost of one look and the time to stop all.
    let measured = pool.measure(&flag, &cli.search, &cli.timing)?;
    // With --count: every worker adds to the counter beside the flag.
    let counted = match cli.count {
        Some(times) => Some(pool.count(&flag, times)?),
        None => None,
    };
    // The poison pill for every worker, then reap them.
    pool.finish()?;
    let report = measured.report(WHAT, &cli.search, &cli.timing, counted)?;
    report.print(cli.search.json)
}
// ANCHOR_END: main

// ANCHOR: worker
fn worker(link: &WorkerArgs) -> anyhow::Result<()> {
    // Meet the parent; its first message is the segment's name.
    let (parent, name) = Parent::<String>::connect(link)?;
    // Map the segment, and tell the parent how that went: no search starts
    // until every worker has.
    let flag = parent.opened(RawFlag::open(&name))?;
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
