//! Exercise 5.B: a fifth stop flag, on an `eventfd`.
//!
//! An eventfd is a counter inside the kernel behind a file descriptor:
//! `write` adds to it, `read` takes it back to zero, and `poll` says
//! whether it is above zero without changing it. Like chapter 5's memory
//! file it has no name, and a worker started by `exec` inherits it if it is
//! not close-on-exec. Build a [`StopFlag`] on one:
//!
//! - [`create`]: an eventfd starting at zero, that the workers inherit;
//! - `is_set`: is the counter above zero? (Do not `read` it: that lowers
//!   the flag for everyone.)
//! - `raise`: make it above zero; `lower`: take it back to zero.
//!
//! `rustix::event::{eventfd, poll}` and `rustix::io::{read, write}` do the
//! system calls. Check: `cargo test -p exercises -- --ignored ch05`. The
//! test runs `exercises ch05`: the shared search of the flag chapters, over
//! real worker processes, with your flag. What its errors mean:
//!
//! - "Bad file descriptor" in a worker: the descriptor did not survive
//!   `exec` (it was created close-on-exec);
//! - "a latency trial ended without the flag": the workers never saw the
//!   flag the parent raised (`is_set` or `raise`);
//! - "stopped from outside": the workers saw the flag up when nobody had
//!   raised it (`is_set`, or a `lower` that does not lower).

use std::os::fd::{BorrowedFd, OwnedFd};
use workers::search::StopFlag;

/// Creates the flag's eventfd, at zero, inherited by the workers.
pub fn create() -> anyhow::Result<OwnedFd> {
    todo!("exercise 5.B: create an eventfd that survives exec")
}

/// One process's view of the flag: a descriptor of the eventfd.
#[derive(Debug)]
pub struct EventFdFlag<'fd> {
    /// The eventfd, created by the parent (inherited, in a worker).
    pub fd: BorrowedFd<'fd>,
}

impl StopFlag for EventFdFlag<'_> {
    fn is_set(&self) -> anyhow::Result<bool> {
        todo!("exercise 5.B: is the eventfd's counter above zero?")
    }

    fn raise(&self) -> anyhow::Result<()> {
        todo!("exercise 5.B: make the counter above zero")
    }

    fn lower(&self) -> anyhow::Result<()> {
        todo!("exercise 5.B: take the counter back to zero")
    }
}
