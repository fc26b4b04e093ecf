//! Exercise 7.B's run: worker processes each hold their own inbox, a
//! non-blocking pipe, as in chapter 7; one of them has stopped reading, and
//! the parent forwards stops to all of them with the student's `forward`.

use super::{let_go, news, role};
use crate::ch07_forward::{MESSAGE, forward, message};
use anyhow::{Context, bail, ensure};
use rustix::io::{Errno, FdFlags};
use rustix::pipe::PipeFlags;
use serde::{Deserialize, Serialize};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use workers::pool::{Heard, Liveness, Pool, WorkerEnd};

/// The stops the parent forwards, in order: repeats and a late one among
/// them, as a supervisor gets them from several finders and trials.
pub const STOPS: [u64; 6] = [1, 1, 2, 1, 3, 2];

/// Parent to worker.
#[derive(Debug, Serialize, Deserialize)]
pub enum Down {
    /// Every stop has been forwarded: read your inbox.
    Read,
}

/// Worker to parent.
#[derive(Debug, Serialize, Deserialize)]
pub enum Up {
    /// The search numbers found in the inbox, in order.
    Mail(Vec<u64>),
}

/// How long `forward` may take over the few stops of the run.
const FORWARD: Duration = Duration::from_secs(10);

/// Runs `workers` workers, the last of which reads nothing until its inbox
/// is full; forwards [`STOPS`] through `forward`; fails unless each reading
/// worker found each search's stop exactly once and the full inbox held up
/// nobody.
pub fn parent(workers: usize) -> anyhow::Result<()> {
    let start = Instant::now();
    // An inbox per worker: the read end inherited by the workers, the write
    // end the parent's alone; neither ever waits.
    let (mut reads, mut writes) = (Vec::new(), Vec::new());
    for _ in 0..workers {
        let (read, write) =
            rustix::pipe::pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK)
                .context("cannot make a pipe: raise `ulimit -n`")?;
        rustix::io::fcntl_setfd(&read, FdFlags::empty())
            .context("cannot let the workers inherit a pipe")?;
        reads.push(read);
        writes.push(write);
    }
    let inbox_of = |w: usize| {
        let mut args = role("ch07");
        args.extend(["--inbox".into(), reads[w].as_raw_fd().to_string()]);
        args
    };
    let mut pool: Pool<Down, Up> =
        Pool::spawn(workers, Liveness::default(), inbox_of)?;
    // The workers hold the read ends now.
    drop(reads);
    // The last worker's inbox fills up with stale stops (search 0) that it
    // never reads before the real ones come.
    let stuck = workers - 1;
    let mut unread = 0;
    while rustix::io::write(&writes[stuck], &message(0)).is_ok() {
        unread += 1;
    }
    // Forward the stops in a thread of their own, so that a `forward` that
    // waits is caught instead of hanging the run.
    let (done, result) = mpsc::channel();
    std::thread::spawn(move || {
        let inboxes: Vec<BorrowedFd<'_>> = writes.iter().map(AsFd::as_fd).collect();
        let mut stopped = 0;
        let sent: anyhow::Result<Vec<usize>> = STOPS
            .iter()
            .map(|&search| forward(&mut stopped, search, &inboxes))
            .collect();
        let _ = done.send(sent);
    });
    let sent = match result.recv_timeout(FORWARD) {
        Ok(sent) => sent.context("`forward` failed")?,
        Err(_) => bail!(
            "`forward` did not return within {} s: it waits for an inbox that \
             is full",
            FORWARD.as_secs()
        ),
    };
    // What every worker found.
    for w in 0..workers {
        pool.send(w, Down::Read)?;
    }
    let mut mail = vec![None; workers];
    while mail.iter().any(Option::is_none) {
        for heard in news(&mut pool, start)? {
            match heard {
                Heard::Message(w, Up::Mail(m)) => mail[w] = Some(m),
                Heard::Gone(w) => bail!("worker {w} died before it read its inbox"),
                Heard::Silent(..) => unreachable!("news() fails on silence"),
            }
        }
    }
    let_go(pool)?;
    let mail: Vec<Vec<u64>> = mail.into_iter().flatten().collect();
    let expected: Vec<u64> = vec![1, 2, 3];
    for (w, found) in mail[..stuck].iter().enumerate() {
        ensure!(
            *found == expected,
            "worker {w} found stops for {found:?}, not {expected:?}: each search \
             must be stopped once, and a stale stop forwarded to nobody"
        );
    }
    ensure!(
        mail[stuck].len() == unread && mail[stuck].iter().all(|&s| s == 0),
        "worker {stuck}'s inbox was full, yet it holds {} stops, not {unread}",
        mail[stuck].len()
    );
    let per_stop: Vec<usize> = STOPS
        .iter()
        .scan(0, |last, &s| {
            let new = s > *last;
            *last = (*last).max(s);
            Some(if new { stuck } else { 0 })
        })
        .collect();
    ensure!(
        sent == per_stop,
        "`forward` said it sent the stops {STOPS:?} to {sent:?} inboxes; \
         they went into {per_stop:?}"
    );
    println!(
        "each of {stuck} reading workers found each search's stop once; the full \
         inbox was skipped"
    );
    Ok(())
}

/// A worker: holds its inbox unread until told to read it, then reads it
/// empty without waiting and sends the parent what it found.
pub fn worker(link: &workers::WorkerArgs, inbox: RawFd) -> anyhow::Result<()> {
    let end = WorkerEnd::<Up, Down>::connect(link)?;
    // SAFETY: the parent made this descriptor without close-on-exec before
    // starting us and sent its number, so it is open here; this process
    // never closes it.
    let inbox = unsafe { BorrowedFd::borrow_raw(inbox) };
    let Ok(Down::Read) = end.down.recv() else {
        return Ok(()); // the parent is gone
    };
    let (mut found, mut bytes) = (Vec::new(), [0u8; 4096]);
    loop {
        match rustix::io::read(inbox, &mut bytes) {
            Ok(0) | Err(Errno::AGAIN) => break,
            Ok(n) => found.extend(bytes[..n].chunks_exact(MESSAGE).map(|m| {
                u64::from_le_bytes(m.try_into().expect("a whole message"))
            })),
            Err(Errno::INTR) => {}
            Err(e) => return Err(e).context("cannot read this worker's inbox"),
        }
    }
    end.up.send(Up::Mail(found))?;
    while end.down.recv().is_ok() {}
    Ok(())
}
