//! Exercise 3.B's run: worker processes each add one `times` times to a
//! counter that the parent owns and serves, one request at a time, as
//! chapter 3's manager does.

use super::{let_go, news, role};
use crate::ch03_proxy::{Answer, Request, add_one, serve};
use serde::{Deserialize, Serialize};
use std::time::Instant;
use workers::pool::{Heard, Liveness, Pool, WorkerEnd};

/// Parent to worker.
#[derive(Debug, Serialize, Deserialize)]
pub enum Down {
    /// Every worker has connected: add one `times` times.
    Go { times: u64 },
    /// The answer to the worker's last request.
    Answer(Answer),
}

/// Worker to parent.
#[derive(Debug, Serialize, Deserialize)]
pub enum Up {
    Ask(Request),
    /// Done adding.
    Finished,
}

/// Runs `workers` workers adding `times` each; fails unless the counter
/// ends at `workers * times`.
pub fn parent(workers: usize, times: u64) -> anyhow::Result<()> {
    let start = Instant::now();
    let mut pool: Pool<Down, Up> =
        Pool::spawn(workers, Liveness::default(), |_| role("ch03"))?;
    // Released together, so that their requests interleave.
    for w in 0..workers {
        pool.send(w, Down::Go { times })?;
    }
    let (mut counter, mut finished) = (0u64, 0);
    while finished < workers {
        for heard in news(&mut pool, start)? {
            match heard {
                Heard::Message(w, Up::Ask(request)) => {
                    pool.send(w, Down::Answer(serve(&mut counter, request)))?;
                }
                Heard::Message(_, Up::Finished) => finished += 1,
                Heard::Gone(w) => {
                    anyhow::bail!("worker {w} died before it finished")
                }
                Heard::Silent(..) => unreachable!("news() fails on silence"),
            }
        }
    }
    let_go(pool)?;
    let expected = workers as u64 * times;
    anyhow::ensure!(
        counter == expected,
        "{workers} workers added one {times} times each, but the counter is \
         {counter}, not {expected}: {} updates were lost",
        expected.saturating_sub(counter)
    );
    println!("the counter is {counter}: no update lost");
    Ok(())
}

/// A worker: on `Go`, adds one `times` times through [`add_one`].
pub fn worker(link: &workers::WorkerArgs) -> anyhow::Result<()> {
    let end = WorkerEnd::<Up, Down>::connect(link)?;
    let Ok(Down::Go { times }) = end.down.recv() else {
        return Ok(()); // the parent is gone
    };
    let mut ask = |request: Request| -> anyhow::Result<Answer> {
        end.up.send(Up::Ask(request))?;
        match end.down.recv() {
            Ok(Down::Answer(answer)) => Ok(answer),
            Ok(other) => anyhow::bail!("expected an answer, got {other:?}"),
            Err(e) => anyhow::bail!("the manager is gone ({e:?})"),
        }
    };
    for _ in 0..times {
        add_one(&mut ask)?;
    }
    end.up.send(Up::Finished)?;
    while end.down.recv().is_ok() {}
    Ok(())
}
