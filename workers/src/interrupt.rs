//! Ctrl-C and `kill`: leave nothing behind, exit 130.
//!
//! A signal's default action kills the parent on the spot: no destructor runs,
//! so the guards that reap children and unlink shared segments never get their
//! chance. Instead a thread waits for SIGINT, SIGTERM and SIGHUP, kills every
//! worker this process started, runs the registered clean-ups, and exits with
//! the shell's convention of 128 + the signal number.

use rustix::process::{Pid, Signal, WaitOptions, kill_process, waitpid};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Mutex, Once};

/// Set by the signal thread before it kills anything: from then on the
/// workers' deaths are its doing, not faults for the main thread to report.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Set inside the signal handler itself, the moment a signal arrives, before
/// the signal thread has woken up. A terminal's Ctrl-C reaches the workers
/// too, and one that has not yet learnt to ignore it dies at once: the main
/// thread may hear of that death before the signal thread has set
/// [`INTERRUPTED`], and this tells it to wait and see.
static ARRIVED: std::sync::LazyLock<std::sync::Arc<AtomicBool>> =
    std::sync::LazyLock::new(Default::default);

/// Set by [`install_graceful`]: the first signal asks, the second kills.
static GRACEFUL: AtomicBool = AtomicBool::new(false);
/// The signal a graceful stop was asked with; 0 while none was.
static REQUESTED: AtomicI32 = AtomicI32::new(0);

/// Children alive now, so the signal thread can kill them.
static CHILDREN: Mutex<Vec<Pid>> = Mutex::new(Vec::new());
/// A clean-up with the id its [`OnSignal`] guard removes it by.
type Cleanup = (u64, Box<dyn FnOnce() + Send>);
/// Clean-ups to run on a signal: unlinking a segment, deleting a file or key.
static CLEANUPS: Mutex<Vec<Cleanup>> = Mutex::new(Vec::new());

/// The signals caught by [`catch`], until [`install`] hands them to its thread.
static CAUGHT: Mutex<Option<Signals>> = Mutex::new(None);

/// Catches SIGINT, SIGTERM and SIGHUP from now on, without starting a thread:
/// a signal that arrives before [`install`] is kept, not lost, and no longer
/// kills the process on the spot. Call it first thing in the parent.
pub fn catch() -> anyhow::Result<()> {
    static ONCE: Once = Once::new();
    let mut result = Ok(());
    ONCE.call_once(|| {
        let caught = Signals::new([SIGINT, SIGTERM, SIGHUP]);
        match caught {
            Ok(signals) => *lock(&CAUGHT) = Some(signals),
            Err(e) => result = Err(e.into()),
        }
        for signal in [SIGINT, SIGTERM, SIGHUP] {
            if let Err(e) = signal_hook::flag::register(signal, ARRIVED.clone()) {
                result = Err(e.into());
            }
        }
    });
    result
}

/// Starts the signal thread once per process (and [`catch`]es first, if that
/// was not done yet). Signals caught since [`catch`] are handled at once.
pub fn install() -> anyhow::Result<()> {
    catch()?;
    let Some(mut signals) = lock(&CAUGHT).take() else {
        return Ok(()); // the thread runs already
    };
    std::thread::spawn(move || {
        for signal in signals.forever() {
            // A graceful program hears the first signal as a request
            // and winds down itself; a second one means "now".
            let first = REQUESTED
                .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok();
            if first && GRACEFUL.load(Ordering::SeqCst) {
                continue;
            }
            INTERRUPTED.store(true, Ordering::SeqCst);
            tear_down();
            std::process::exit(128 + signal);
        }
    });
    Ok(())
}

/// Like [`install`], but the first SIGINT, SIGTERM or SIGHUP only asks the
/// program to stop: [`stop_requested`] says so from then on, and the program
/// winds down in its own way (stop feeding work, let workers finish the task
/// in hand). A second signal kills everything at once, as [`install`] does.
pub fn install_graceful() -> anyhow::Result<()> {
    GRACEFUL.store(true, Ordering::SeqCst);
    install()
}

/// The signal that asked a graceful program to stop, if one has.
pub fn stop_requested() -> Option<i32> {
    match REQUESTED.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}

/// Call before `main` returns or reports an error: if a signal is being
/// handled, the workers' deaths the main thread saw are the signal thread's
/// doing, so wait here while it finishes and exits with 128 + the signal,
/// instead of reporting a crash and exiting 1 first.
pub fn defer_to_signal() {
    if ARRIVED.load(Ordering::SeqCst) && !INTERRUPTED.load(Ordering::SeqCst) {
        // A signal arrived and the signal thread has not decided yet what it
        // means (a graceful program hears the first one as a request only).
        let start = std::time::Instant::now();
        let decided = || {
            INTERRUPTED.load(Ordering::SeqCst)
                || (REQUESTED.load(Ordering::SeqCst) != 0
                    && GRACEFUL.load(Ordering::SeqCst))
        };
        while !decided() && start.elapsed() < std::time::Duration::from_millis(500) {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
    if INTERRUPTED.load(Ordering::SeqCst) {
        loop {
            std::thread::park();
        }
    }
}

/// Kills and reaps every registered child, then runs every clean-up.
fn tear_down() {
    // Wait for any resource being made right now to be made and registered
    // (see `creating`), and let no other start.
    let _gate = GATE.write().unwrap_or_else(|e| e.into_inner());
    let children = std::mem::take(&mut *lock(&CHILDREN));
    for &pid in &children {
        // The child may already be gone; either way it is not running after this.
        let _ = kill_process(pid, Signal::KILL);
    }
    for pid in children {
        let _ = waitpid(Some(pid), WaitOptions::empty());
    }
    for (_, cleanup) in std::mem::take(&mut *lock(&CLEANUPS)) {
        cleanup();
    }
}

/// Locks a registry even if a panicking thread poisoned it: the data (a list of
/// pids or closures) is still sound.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Has a signal kill and reap child `pid`, until [`unwatch_child`]: for
/// children started without a [`crate::Pool`], which registers its own.
pub fn watch_child(pid: u32) {
    if let Some(pid) = Pid::from_raw(pid as i32) {
        register_child(pid);
    }
}

/// The child was reaped: a signal need not kill it any more.
pub fn unwatch_child(pid: u32) {
    if let Some(pid) = Pid::from_raw(pid as i32) {
        forget_child(pid);
    }
}

pub(crate) fn register_child(pid: Pid) {
    lock(&CHILDREN).push(pid);
}

pub(crate) fn forget_child(pid: Pid) {
    lock(&CHILDREN).retain(|&p| p != pid);
}

/// Held (shared) while a resource is made and its clean-up registered, and
/// (exclusive) by the signal thread while it cleans up.
static GATE: std::sync::RwLock<()> = std::sync::RwLock::new(());

/// Runs `make`, which creates something outside the process (a segment, a
/// key) and registers its [`OnSignal`] clean-up, so that a signal cannot
/// fall between the two: the clean-up either runs after `make` is done, or
/// `make` never starts (the process is ending).
pub fn creating<T>(make: impl FnOnce() -> T) -> T {
    let gate = GATE.read().unwrap_or_else(|e| e.into_inner());
    if INTERRUPTED.load(Ordering::SeqCst) {
        drop(gate);
        defer_to_signal();
    }
    make()
}

/// A clean-up that runs if a signal ends the process, until it is dropped.
///
/// Keep it beside the resource's own guard: the guard cleans up on normal exit
/// and on errors; this covers the signal path, where no destructor runs.
#[derive(Debug)]
pub struct OnSignal(u64);

impl OnSignal {
    /// Registers `cleanup` to run if SIGINT, SIGTERM or SIGHUP ends the process.
    pub fn new(cleanup: impl FnOnce() + Send + 'static) -> OnSignal {
        static NEXT: std::sync::atomic::AtomicU64 =
            std::sync::atomic::AtomicU64::new(0);
        let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        lock(&CLEANUPS).push((id, Box::new(cleanup)));
        OnSignal(id)
    }
}

impl Drop for OnSignal {
    fn drop(&mut self) {
        lock(&CLEANUPS).retain(|(id, _)| *id != self.0);
    }
}

/// Makes growing a file past the size limit (`ulimit -f`) an error
/// (`EFBIG`) rather than death by SIGXFSZ, whose default action ends the
/// process with no word and no clean-up. A handler that does nothing is
/// enough: the system call then fails instead.
pub fn file_size_limit_is_an_error() -> anyhow::Result<()> {
    signal_hook::flag::register(
        signal_hook::consts::SIGXFSZ,
        std::sync::Arc::default(),
    )?;
    Ok(())
}

/// In a worker: let the parent decide about Ctrl-C.
///
/// A terminal's Ctrl-C reaches every process in the foreground group. If the
/// workers died of it, the parent would see them vanish and report a crash
/// instead of an interruption; so workers ignore SIGINT and the parent kills
/// them. Workers also die with their parent (`PR_SET_PDEATHSIG`), so a parent
/// killed by SIGKILL, which no handler can catch, still leaves none behind.
pub fn worker_defers_to_parent() -> anyhow::Result<()> {
    rustix::process::set_parent_process_death_signal(Some(Signal::KILL))?;
    // The parent may have died before that call took effect: then this
    // process was handed to init already, and nobody waits for it.
    if std::os::unix::process::parent_id() == 1 {
        std::process::exit(1);
    }
    // Registering a flag replaces the default action (terminate) for SIGINT.
    signal_hook::flag::register(SIGINT, std::sync::Arc::default())?;
    Ok(())
}
