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
use memmap2::{MmapOptions, MmapRaw};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, Ordering};
use workers::coop::{NoArgs, SharedFlag};
use workers::interrupt::OnSignal;
use workers::search::StopFlag;

// ANCHOR: create
/// The parent's flag: a new one-byte file, removed when no longer needed.
struct MmapFlag {
    /// Where the file is, until every worker has mapped it.
    path: Option<PathBuf>,
    /// Removes the file if Ctrl-C ends the run before the workers mapped it.
    _on_signal: OnSignal,
}

impl MmapFlag {
    fn new() -> anyhow::Result<Self> {
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
        // A new file is empty, and a mapping past its end raises SIGBUS on
        // access: give it its one byte (zero: the flag is down) first.
        file.set_len(1)?;
        let doomed = path.clone();
        let _on_signal = OnSignal::new(move || {
            let _ = std::fs::remove_file(doomed);
        });
        Ok(MmapFlag {
            path: Some(path),
            _on_signal,
        })
    }
}
// ANCHOR_END: create

// ANCHOR: view
/// One process's mapping of the flag byte.
struct MappedFlag {
    /// The mapping; unmapped when dropped. `MmapRaw` hands out raw pointers
    /// only: a `&[u8]` over memory other processes write would be undefined
    /// behaviour, an atomic is not.
    map: MmapRaw,
}

impl MappedFlag {
    fn open(path: &PathBuf) -> anyhow::Result<Self> {
        let file = File::options()
            .read(true)
            .write(true)
            .open(path)
            .with_context(|| {
                format!("cannot open the flag file {}", path.display())
            })?;
        // `map_raw` maps the file MAP_SHARED: stores reach every mapping.
        let map = MmapOptions::new().len(1).map_raw(&file)?;
        Ok(MappedFlag { map })
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
impl StopFlag for MappedFlag {
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
}
// ANCHOR_END: check

/// No counter here: chapter 4 shows what racing on shared memory loses, and
/// this one adds nothing new to it. (`--count` says so and exits 2.)
impl workers::coop::Counter for MappedFlag {}

// ANCHOR: share
impl SharedFlag for MmapFlag {
    const WHAT: &'static str = "a byte of a memory-mapped file";
    /// Workers find the file by its path.
    type Handle = PathBuf;
    type View = MappedFlag;
    type Args = NoArgs;

    fn create(_: &NoArgs) -> anyhow::Result<Self> {
        MmapFlag::new()
    }

    fn handle(&self) -> PathBuf {
        self.path
            .clone()
            .expect("the handle is only needed before the file is removed")
    }

    fn open(path: PathBuf) -> anyhow::Result<MappedFlag> {
        MappedFlag::open(&path)
    }

    fn lower(mine: &MappedFlag) -> anyhow::Result<()> {
        mine.byte().store(0, Ordering::Release);
        Ok(())
    }

    /// Every worker has mapped the file, so its name can go now: the pages
    /// live on until the last mapping is gone, and a crash, even a SIGKILL of
    /// the parent, leaves no file behind.
    fn all_opened(&mut self) -> anyhow::Result<()> {
        if let Some(path) = self.path.take() {
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot remove {}", path.display()))?;
        }
        Ok(())
    }
}
// ANCHOR_END: share

fn main() -> std::process::ExitCode {
    workers::coop::main::<MmapFlag>()
}
