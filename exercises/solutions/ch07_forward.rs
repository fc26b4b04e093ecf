//! Exercise 7.B, a solution: see `src/ch07_forward.rs` for the task.

use anyhow::Context;
use rustix::io::Errno;
use std::os::fd::BorrowedFd;

/// Bytes in one stop: the number of the search it ends.
pub const MESSAGE: usize = 8;

/// The stop for `search`, as it goes into a pipe: little-endian bytes. A
/// pipe takes a write this short whole or not at all.
pub fn message(search: u64) -> [u8; MESSAGE] {
    search.to_le_bytes()
}

/// Forwards a stop for `search` to every one of `inboxes` (write ends,
/// non-blocking), unless `*stopped` says that search is already stopped;
/// returns how many inboxes took it.
///
/// # Errors
/// Whatever `write` returns other than `EAGAIN` and `EPIPE`.
pub fn forward(
    stopped: &mut u64,
    search: u64,
    inboxes: &[BorrowedFd<'_>],
) -> anyhow::Result<usize> {
    // Searches only go forward: a stop for one already stopped is news to
    // nobody.
    if search <= *stopped {
        return Ok(0);
    }
    *stopped = search;
    let mut sent = 0;
    for to in inboxes {
        match rustix::io::write(to, &message(search)) {
            Ok(_) => sent += 1,
            // Full: its worker is not reading, so it cannot act on a stop
            // anyway. Gone: nobody will read it. Either way, on to the next.
            Err(Errno::AGAIN | Errno::PIPE) => {}
            Err(e) => return Err(e).context("cannot send a worker a stop"),
        }
    }
    Ok(sent)
}
