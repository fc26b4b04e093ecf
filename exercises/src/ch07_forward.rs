//! Exercise 7.B: a supervisor that never waits, and forwards each stop once.
//!
//! Chapter 7's supervisor reads stops from its inbox and forwards them to
//! every worker's inbox, a non-blocking pipe. Write [`forward`], what it
//! does with one stop it has read:
//!
//! - a stop for a search it has already stopped, or an earlier one (`search`
//!   not above `*stopped`), is stale: it goes nowhere;
//! - a new one is remembered in `*stopped` and written, as [`message`]
//!   makes it, into every inbox;
//! - an inbox that is full (`EAGAIN`: its worker has stopped reading) or
//!   that nobody can read any more (`EPIPE`) is skipped: never wait on one,
//!   and never let it keep the stop from the inboxes after it. Any other
//!   error is returned.
//!
//! It returns how many inboxes the stop went into.
//!
//! `rustix::io::write` does the system call; `rustix::io::Errno` names its
//! errors. Check: `cargo test -p exercises -- --ignored ch07`. The test runs
//! `exercises ch07`: three worker processes, each holding the read end of
//! its own inbox. The last one reads nothing, and its inbox is full before
//! any stop comes. The parent passes stops for searches 1, 1, 2, 1, 3, 2 to
//! your `forward`, then every worker reads its inbox and says what it found.
//! What its errors mean:
//!
//! - "Resource temporarily unavailable": `forward` gave up at the full inbox
//!   instead of skipping it;
//! - "worker 0 found stops for [1, 1, 2, ...]": stale stops were forwarded;
//! - "`forward` did not return": it waited for the full inbox.

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
    // Wrong on purpose: every stop goes out, stale ones too, and the first
    // inbox that does not take it ends the forwarding.
    *stopped = search;
    for to in inboxes {
        rustix::io::write(to, &message(search))?;
    }
    Ok(inboxes.len())
}
