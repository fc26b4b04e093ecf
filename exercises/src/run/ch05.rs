//! Exercise 5.B's run: the flag chapters' measured search, over real worker
//! processes, with the student's eventfd flag.

use crate::ch05_eventfd::{EventFdFlag, create};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use workers::flag::{self, Parent, SearchArgs, Timing};
use workers::pool::Liveness;
use workers::search::{Case, Workload};

/// Searches `case` with `workers` workers stopping on the eventfd flag, as
/// a flag chapter does (with fewer repeats), and prints the report as JSON.
///
/// `measure` fails if a stop trial ends without the flag (it is never seen
/// as raised), or a search is stopped with no factor found (it is seen as
/// raised when it is not, or was never lowered); `report`, if the factor
/// found is wrong. Which worker stops first depends on the scheduler, so
/// nothing here asserts it.
pub fn parent(case: Case, workers: u16) -> anyhow::Result<()> {
    let fd = create()?;
    let flag = EventFdFlag { fd: fd.as_fd() };
    let search = SearchArgs::<1000> {
        case,
        check_every: 1000,
        json: true,
        workload: Workload::Prime,
        transactions: flag::TRANSACTIONS,
    };
    let timing = Timing {
        workers: Some(workers),
        repeats: 1,
        trials: 5,
        liveness: Liveness::default(),
    };
    let mut pool =
        flag::Pool::<RawFd>::start_with(&search, &timing, |_| super::role("ch05"))?;
    pool.open_flag(&fd.as_raw_fd())?;
    let measured = pool.measure(&flag, &search, &timing)?;
    pool.finish()?;
    let report = measured.report("an eventfd", &search, &timing, None)?;
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
