//! Exercise 5.B, solved: a fifth stop flag, on an `eventfd`.
//!
//! Every look is a system call (`poll` with a zero timeout), where chapter
//! 5's look is one load from a shared page: compare `cost of one look` in
//! the two reports. In exchange a worker could also *sleep* on this flag
//! (`poll` with a timeout), which a byte in memory cannot offer without a
//! futex.

use anyhow::Context;
use rustix::event::{EventfdFlags, PollFd, PollFlags, eventfd, poll};
use std::os::fd::{BorrowedFd, OwnedFd};
use workers::search::StopFlag;

/// Creates the flag's eventfd, at zero, inherited by the workers.
pub fn create() -> anyhow::Result<OwnedFd> {
    // No EFD_CLOEXEC: the descriptor must survive the workers' exec.
    // NONBLOCK: `lower` on a flag already down finds nothing to read, and
    // must not wait for someone to raise it.
    eventfd(0, EventfdFlags::NONBLOCK).context("cannot create an eventfd")
}

/// One process's view of the flag: a descriptor of the eventfd.
#[derive(Debug)]
pub struct EventFdFlag<'fd> {
    /// The eventfd, created by the parent (inherited, in a worker).
    pub fd: BorrowedFd<'fd>,
}

impl StopFlag for EventFdFlag<'_> {
    /// Readable means the counter is above zero; a zero timeout makes
    /// `poll` answer at once instead of waiting.
    fn is_set(&self) -> anyhow::Result<bool> {
        let mut fds = [PollFd::new(&self.fd, PollFlags::IN)];
        let zero = rustix::event::Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        let ready = poll(&mut fds, Some(&zero)).context("poll on the eventfd")?;
        Ok(ready > 0 && fds[0].revents().contains(PollFlags::IN))
    }

    /// Adds one to the counter: above zero, whoever else raised it too.
    fn raise(&self) -> anyhow::Result<()> {
        rustix::io::write(self.fd, &1u64.to_ne_bytes())
            .context("write to the eventfd")?;
        Ok(())
    }

    /// Reading returns the counter and sets it to zero; with nothing to
    /// read (already zero), the nonblocking read fails with EAGAIN.
    fn lower(&self) -> anyhow::Result<()> {
        let mut buf = [0u8; 8];
        match rustix::io::read(self.fd, &mut buf) {
            Ok(_) | Err(rustix::io::Errno::AGAIN) => Ok(()),
            Err(e) => Err(e).context("read from the eventfd"),
        }
    }
}
