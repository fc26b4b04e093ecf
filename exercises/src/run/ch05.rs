//! Exercise 5.B's run: the flag chapters' measured search, over real worker
//! processes, with the student's eventfd flag.

use crate::ch05_eventfd::{EventFdFlag, create};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use workers::flag::{self, Parent, SearchArgs, Timing};
use workers::pool::Liveness;
use workers::search::{Case, Outcome};

/// Searches `case` with `workers` workers stopping on the eventfd flag, as
/// a flag chapter does (with fewer repeats), and prints the report as JSON.
/// Fails if a worker never sees the flag, or the factor found is wrong.
pub fn parent(case: Case, workers: u16) -> anyhow::Result<()> {
    let fd = create()?;
    let flag = EventFdFlag { fd: fd.as_fd() };
    let search = SearchArgs::<1000> {
        case,
        check_every: 1000,
        json: true,
    };
    let timing = Timing {
        workers: Some(workers),
        repeats: 1,
        trials: 5,
        liveness: Liveness::default(),
    };
    let mut pool =
        flag::Pool::<RawFd>::spawn(timing.workers(), timing.liveness, |_| {
            super::role("ch05")
        })?;
    pool.open_flag(&fd.as_raw_fd())?;
    let measured = pool.measure(&flag, &search, &timing)?;
    pool.finish()?;
    let report = measured.report("an eventfd", &search, &timing, None)?;
    let stopped = (report.per_worker.iter())
        .filter(|w| w.searched.outcome == Outcome::Stopped)
        .count();
    if case != Case::Prime && workers > 1 {
        anyhow::ensure!(stopped > 0, "a factor was found, but no worker stopped");
    }
    report.print(true)
}

/// A worker: opens the inherited eventfd and serves the parent's orders.
pub fn worker(link: &workers::WorkerArgs) -> anyhow::Result<()> {
    let (parent, fd) = Parent::<RawFd>::connect(link)?;
    // SAFETY: the parent made this descriptor without close-on-exec before
    // starting us, so it is open here, and this process never closes it.
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    let flag = parent.opened(Ok(EventFdFlag { fd }))?;
    parent.serve(&flag)
}
