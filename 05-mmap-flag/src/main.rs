//! Chapter 5: the stop flag is one byte of a file that every worker maps.
//!
//! Run it: `cargo run --bin 05-mmap-flag` (or `cargo run -p mmap-flag`).
//! Try `--case prime` (no early exit: every look at the flag is overhead),
//! `--case early`, `--check-every 10`, `--help`.
//!
//! Each worker maps the same small file into its address space. The kernel
//! backs every mapping with the same page of memory, so a byte one process
//! stores is the byte every other process loads: no system call, no message,
//! just memory. The file lives in `/dev/shm` (memory, not disk) where it exists.

use anyhow::Context;
use clap::{Parser, Subcommand};
use memmap2::{MmapOptions, MmapRaw};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU8, Ordering};
use workers::WorkerArgs;
use workers::flag::{self, Parent, SearchArgs, Timing};
use workers::interrupt::OnSignal;
use workers::search::StopFlag;

/// What the flag is, for the report.
const WHAT: &str = "a byte of a memory-mapped file";

/// Workers search for a factor and stop early on a shared flag: a byte of a
/// memory-mapped file.
#[derive(Debug, Parser)]
#[command(args_conflicts_with_subcommands = true)]
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
/// The flag's file, as the parent created it; removed once every worker has
/// mapped it, or when dropped.
struct FlagFile {
    path: PathBuf,
    /// Removes the file if Ctrl-C ends the run before that.
    _on_signal: OnSignal,
}

impl FlagFile {
    fn create() -> anyhow::Result<FlagFile> {
        let dir = ["/dev/shm"].iter().map(PathBuf::from).find(|d| d.is_dir());
        let dir = dir.unwrap_or_else(std::env::temp_dir);
        // Unique per run, and `create_new` refuses a name that already
        // exists: another run's flag is never reused or clobbered.
        let path = dir.join(format!(
            "05-mmap-flag-{}-{}",
            std::process::id(),
            workers::clock::now_ns()
        ));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| {
                format!("cannot create the flag file {}", path.display())
            })?;
        let doomed = path.clone();
        let _on_signal = OnSignal::new(move || {
            let _ = std::fs::remove_file(doomed);
        });
        let flag_file = FlagFile { path, _on_signal };
        // A new file is empty, and a mapping past its end raises SIGBUS on
        // access: give it its one byte (zero: the flag is down) first.
        file.set_len(1)?;
        Ok(flag_file)
    }
}

impl Drop for FlagFile {
    /// Every worker has mapped the file, or the run failed: either way the
    /// name can go. The page lives on until the last mapping is gone.
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
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
    fn open(path: &Path) -> anyhow::Result<MmapFlag> {
        let file = File::options()
            .read(true)
            .write(true)
            .open(path)
            .with_context(|| {
                format!("cannot open the flag file {}", path.display())
            })?;
        // `map_raw` maps the file MAP_SHARED: stores reach every mapping.
        let map = MmapOptions::new().len(1).map_raw(&file)?;
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
        // flag would see the answer too. On x86-64 both compile to plain moves.
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
    // Create the flag: a new file of one zero byte, mapped here too.
    let file = FlagFile::create()?;
    let flag = MmapFlag::open(&file.path)?;
    // Start the workers, send each the file's path, and wait until every
    // one has mapped it.
    let mut pool = flag::Pool::start(cli.timing.workers())?;
    pool.open_flag(&file.path)?;
    // Now the name can go: no crash, not even a SIGKILL of this process,
    // can leave the file behind.
    drop(file);
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
    // Meet the parent; its first message is the flag file's path.
    let (parent, path) = Parent::<PathBuf>::connect(link)?;
    // Map the file, and say so: no search starts until every worker has.
    let flag = MmapFlag::open(&path)?;
    parent.opened()?;
    // Search when released, or time looks at the flag, until the pill.
    parent.serve(&flag)
}
// ANCHOR_END: worker
