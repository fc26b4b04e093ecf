//! Chapter 5: the stop flag is one byte of a memory file that every worker maps.
//!
//! Run it: `cargo run --bin 05-mmap-flag` (or `cargo run -p mmap-flag`).
//! Try `--case prime` (no early exit: every look at the flag is overhead),
//! `--case early`, `--check-every 10`, `--help`.
//!
//! Python's `mmap.mmap(-1, 1)` is an anonymous shared mapping: children made
//! by `fork` inherit it, page and all. Our workers are made by running this
//! program again (`exec`, like Python's *spawn*), which keeps no mapping, only
//! open file descriptors. So the flag is a memory file (`memfd_create`) with
//! no name anywhere: the parent creates it, the workers inherit its
//! descriptor, and each maps it. The kernel backs every mapping with the same
//! page, so a byte one process stores is the byte every other loads.

use anyhow::Context;
use clap::{Parser, Subcommand};
use memmap2::{MmapOptions, MmapRaw};
use rustix::fs::{FallocateFlags, MemfdFlags, SealFlags};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU8, Ordering};
use workers::WorkerArgs;
use workers::flag::{self, Parent, SearchArgs, Timing};
use workers::search::StopFlag;

/// What the flag is, for the report.
const WHAT: &str = "a byte of a memory-mapped file";

/// Workers search for a factor and stop early on a shared flag: a byte of a
/// memory-mapped file.
#[derive(Debug, Parser)]
#[command(name = "05-mmap-flag", args_conflicts_with_subcommands = true)]
struct Cli {
    // A look is one load from memory: looking every 1000 candidates (about
    // 2 µs of division) costs next to nothing.
    #[command(flatten)]
    search: SearchArgs<1000>,
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

// ANCHOR: create
/// Creates the flag's memory: one zero byte, reserved, sealed at that size,
/// and inherited by every process this one starts.
fn create_memory() -> anyhow::Result<OwnedFd> {
    // No MFD_CLOEXEC: the descriptor must survive the workers' exec.
    // ALLOW_SEALING: so that its size can be fixed for good below.
    let fd = rustix::fs::memfd_create("05-mmap-flag", MemfdFlags::ALLOW_SEALING)
        .context("cannot create the flag's memory file (memfd_create)")?;
    // Reserve the page now: a mapping whose page cannot be had when it is
    // first touched kills the process with SIGBUS. Here it is an error.
    rustix::fs::fallocate(&fd, FallocateFlags::empty(), 0, 1).context(
        "no memory for the flag's page (fallocate): free some memory and retry",
    )?;
    // Seal it: nobody, not even this process, can shrink or grow it now, so
    // no mapping can ever point past its end.
    rustix::fs::fcntl_add_seals(
        &fd,
        SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL,
    )
    .context("cannot seal the flag's memory file")?;
    Ok(fd)
}
// ANCHOR_END: create

// ANCHOR: view
/// One process's mapping of the flag byte.
struct MmapFlag {
    /// The mapping; unmapped when dropped. `MmapRaw` hands out raw pointers
    /// only: a `&[u8]` over memory other processes write would be undefined
    /// behaviour, an atomic is not.
    map: MmapRaw,
}

impl MmapFlag {
    /// Maps the memory file `fd`, after checking it is the sealed one-byte
    /// file `create_memory` makes.
    fn open(fd: BorrowedFd<'_>) -> anyhow::Result<MmapFlag> {
        let sealed = rustix::fs::fcntl_get_seals(fd)
            .is_ok_and(|s| s.contains(SealFlags::SHRINK | SealFlags::GROW));
        let size = rustix::fs::fstat(fd).map(|st| st.st_size).unwrap_or(0);
        anyhow::ensure!(
            sealed && size == 1,
            "descriptor {} is not the flag's sealed memory file",
            fd.as_raw_fd()
        );
        // `map_raw` maps MAP_SHARED: stores reach every mapping.
        let map = MmapOptions::new().len(1).map_raw(&fd)?;
        Ok(MmapFlag { map })
    }

    /// The flag byte as an atomic, living in the shared page.
    fn byte(&self) -> &AtomicU8 {
        // SAFETY: the pointer is valid for reads and writes for as long as
        // `self.map` lives (the borrow ties the reference to it), a u8 needs no
        // alignment, and every process touches this byte only through atomics.
        unsafe { AtomicU8::from_ptr(self.map.as_mut_ptr()) }
    }
}
// ANCHOR_END: view

// ANCHOR: check
impl StopFlag for MmapFlag {
    /// One load from the shared page: no system call, no message.
    fn is_set(&self) -> anyhow::Result<bool> {
        // Acquire pairs with the finder's Release: had the finder written its
        // answer into the mapping before raising the flag, whoever sees the
        // flag would see the answer too (between threads the language says
        // so; between processes the hardware does, since both map the same
        // physical page). On x86-64 both compile to plain moves.
        Ok(self.byte().load(Ordering::Acquire) != 0)
    }

    fn raise(&self) -> anyhow::Result<()> {
        self.byte().store(1, Ordering::Release);
        Ok(())
    }

    fn lower(&self) -> anyhow::Result<()> {
        self.byte().store(0, Ordering::Release);
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
    // Create the flag: a memory file of one zero byte, mapped here too. It
    // has no name: nothing is left behind, whatever ends this process.
    let memory = create_memory()?;
    let flag = MmapFlag::open(memory.as_fd())?;
    // Start the workers, which inherit the descriptor; tell each the
    // descriptor's number, and wait until every one has mapped it.
    // (--workload fraud: first the transactions to scan, in workers::fraud.)
    let mut pool = flag::Pool::start(&cli.search, &cli.timing)?;
    pool.open_flag(&memory.as_raw_fd())?;
    // Search: the workers are released together; the first to find a factor
    // raises the flag, the others see it at their next look and stop. Timed
    // over repeats, with the cost of one look and the time to stop everyone.
    let measured = pool.measure(&flag, &cli.search, &cli.timing)?;
    // The poison pill for every worker, then reap them.
    pool.finish()?;
    let report = measured.report(WHAT, &cli.search, &cli.timing, None)?;
    report.print(cli.search.json)
}
// ANCHOR_END: main

// ANCHOR: worker
fn worker(link: &WorkerArgs) -> anyhow::Result<()> {
    // Meet the parent; its first message is the number of the descriptor
    // this process inherited.
    let (parent, fd) = Parent::<RawFd>::connect(link)?;
    // SAFETY: the parent made this descriptor without close-on-exec before
    // starting us, so it is open here, and this process never closes it.
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    // Map it, and tell the parent how that went: no search starts until
    // every worker has.
    let flag = parent.opened(MmapFlag::open(fd))?;
    // Search when released, or time looks at the flag, until the pill.
    parent.serve(&flag)
}
// ANCHOR_END: worker
