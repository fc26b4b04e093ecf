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
//! behaviour.

use anyhow::Context;
use shared_memory::{Shmem, ShmemConf};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use workers::coop::{Counter, NoArgs, SharedFlag};
use workers::interrupt::OnSignal;
use workers::search::StopFlag;

/// Bytes in the segment: one cache line. The flag is byte 0; a counter for
/// the lost-update demonstration is the u64 at byte 8.
const SEGMENT: usize = 64;

// ANCHOR: create
/// The parent's segment: created under a name unique to this run.
struct RawFlag {
    /// The segment's name, as workers open it (`/dev/shm/<name>` on Linux).
    name: String,
    /// The owning handle: dropping it unlinks the name. Dropped as soon as
    /// every worker has opened the segment.
    owner: Option<Shmem>,
    /// Unlinks the name if Ctrl-C ends the run before that.
    _on_signal: OnSignal,
}

impl RawFlag {
    fn new() -> anyhow::Result<Self> {
        let name = format!(
            "04-rawvalue-flag-{}-{}",
            std::process::id(),
            workers::clock::now_ns()
        );
        // `create` opens with O_CREAT | O_EXCL: an existing segment of the
        // same name is an error, never reused. A new segment is all zeros,
        // so the flag starts down.
        let owner = ShmemConf::new()
            .os_id(&name)
            .size(SEGMENT)
            .create()
            .with_context(|| {
                format!("cannot create shared memory segment {name}")
            })?;
        let doomed = name.clone();
        let _on_signal = OnSignal::new(move || {
            let _ = rustix::shm::unlink(doomed.as_str());
        });
        Ok(RawFlag {
            name,
            owner: Some(owner),
            _on_signal,
        })
    }
}
// ANCHOR_END: create

// ANCHOR: view
/// One process's mapping of the segment.
struct RawView {
    /// The mapping. `Shmem` is neither `Send` nor `Sync`, and its `as_slice` is
    /// unsafe for good reason: other processes write this memory. We only
    /// ever take a raw pointer to it.
    shmem: Shmem,
}

impl RawView {
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
impl StopFlag for RawView {
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
}
// ANCHOR_END: check

// ANCHOR: counter
/// What "race conditions possible" means: `+= 1` as two steps loses updates.
impl Counter for RawView {
    /// Two atomic steps are not one: between this load and this store another
    /// worker may store its own `v + 1`, and one of the two additions is lost.
    fn bump_racy(&self) -> anyhow::Result<()> {
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
    fn bump_atomic(&self) -> anyhow::Result<()> {
        self.counter().fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn count(&self) -> anyhow::Result<u64> {
        Ok(self.counter().load(Ordering::Relaxed))
    }

    fn reset(&self) -> anyhow::Result<()> {
        self.counter().store(0, Ordering::Relaxed);
        Ok(())
    }
}
// ANCHOR_END: counter

// ANCHOR: share
impl SharedFlag for RawFlag {
    const WHAT: &'static str = "an atomic byte in POSIX shared memory";
    /// Workers open the segment by name.
    type Handle = String;
    type View = RawView;
    type Args = NoArgs;
    const HAS_COUNTER: bool = true;

    fn create(_: &NoArgs) -> anyhow::Result<Self> {
        RawFlag::new()
    }

    fn handle(&self) -> String {
        self.name.clone()
    }

    fn open(name: String) -> anyhow::Result<RawView> {
        let shmem = ShmemConf::new()
            .os_id(&name)
            .open()
            .with_context(|| format!("cannot open shared memory segment {name}"))?;
        anyhow::ensure!(shmem.len() >= SEGMENT, "segment {name} is too small");
        Ok(RawView { shmem })
    }

    fn lower(mine: &RawView) -> anyhow::Result<()> {
        mine.flag().store(0, Ordering::Relaxed);
        Ok(())
    }

    /// Every worker has mapped the segment: unlink its name now. The memory
    /// lives until the last mapping goes, and even a SIGKILL of the parent
    /// can no longer leave `/dev/shm/04-rawvalue-flag-*` behind.
    fn all_opened(&mut self) -> anyhow::Result<()> {
        drop(self.owner.take());
        Ok(())
    }
}
// ANCHOR_END: share

fn main() -> std::process::ExitCode {
    workers::coop::main::<RawFlag>()
}
