//! A flag worker's side: meet the parent, open the flag, obey until the pill.

use super::{Order, Reply};
use crate::clock;
use crate::fraud::Transactions;
use crate::pool::{WorkerArgs, WorkerEnd};
use crate::search::{LocalFlag, StopFlag, Task};
use anyhow::bail;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::cell::{Cell, OnceCell};
use std::ops::Range;
use std::os::fd::BorrowedFd;

/// A worker's link to its parent.
#[derive(Debug)]
pub struct Parent<H: Serialize + DeserializeOwned> {
    end: WorkerEnd<Reply, Order<H>>,
    /// The run's transactions, once the parent has said where they are
    /// (`--workload fraud` only).
    data: OnceCell<Transactions>,
}

impl<H: Serialize + DeserializeOwned> Parent<H> {
    /// Connects to the parent and receives what opens the flag.
    pub fn connect(link: &WorkerArgs) -> anyhow::Result<(Self, H)> {
        let end = WorkerEnd::connect(link)?;
        match end.down.recv() {
            Ok(Order::Open(handle)) => {
                let data = OnceCell::new();
                Ok((Parent { end, data }, handle))
            }
            Ok(_) => bail!("the parent broke the protocol: no flag first"),
            // The parent is gone before it said anything: nobody to tell.
            Err(_) => std::process::exit(1),
        }
    }

    /// Tells the parent whether this worker opened the flag: passes the
    /// flag on, or sends the parent why not (it reports that in one line
    /// and ends the run) and exits.
    pub fn opened<F>(&self, flag: anyhow::Result<F>) -> anyhow::Result<F> {
        match flag {
            Ok(flag) => {
                self.reply(Reply::Opened)?;
                Ok(flag)
            }
            Err(e) => self.fail(e),
        }
    }

    /// Sends the parent why this worker cannot go on (it reports that in
    /// one line and ends the run) and exits: the worker prints nothing, so
    /// the run's one error line is the parent's.
    pub fn fail(&self, e: anyhow::Error) -> ! {
        let _ = self.reply(Reply::Failed(format!("{e:#}")));
        std::process::exit(1)
    }

    /// Sends the parent a reply.
    pub fn reply(&self, reply: Reply) -> anyhow::Result<()> {
        self.end.up.send(reply)
    }

    /// The parent's next order; `None` after the pill (answered here) or
    /// when the parent is gone.
    pub fn next_order(&self) -> anyhow::Result<Option<Order<H>>> {
        match self.end.down.recv() {
            Ok(Order::Stop) => {
                self.reply(Reply::Finished)?;
                Ok(None)
            }
            Ok(order) => Ok(Some(order)),
            // The parent is gone: nobody is left to answer.
            Err(_) => Ok(None),
        }
    }

    /// Obeys every order with `flag` until the pill.
    pub fn serve(&self, flag: &impl StopFlag) -> anyhow::Result<()> {
        while let Some(order) = self.next_order()? {
            self.obey(order, flag)?;
        }
        Ok(())
    }

    /// Carries out one order with `flag` and answers it. A flag that fails
    /// is reported to the parent, and the worker exits with status 1.
    pub fn obey(&self, order: Order<H>, flag: &impl StopFlag) -> anyhow::Result<()> {
        let reply = match order {
            Order::Load { fd, records } => {
                // SAFETY: the parent made this descriptor without close-on-exec
                // before starting us, so it is open here, and this process
                // never closes it.
                let fd = unsafe { BorrowedFd::borrow_raw(fd) };
                match Transactions::open(fd, records) {
                    Ok(data) => {
                        let _ = self.data.set(data);
                        Reply::Loaded
                    }
                    Err(e) => Reply::Failed(format!("{e:#}")),
                }
            }
            Order::Search {
                task,
                ks,
                check_every,
            } => {
                // The start barrier: nobody searches before everyone is ready.
                self.reply(Reply::Ready)?;
                let data = self.data.get();
                match self.end.down.recv() {
                    Ok(Order::Go) => timed_search(task, data, ks, check_every, flag),
                    Ok(_) => bail!("the parent broke the protocol: expected Go"),
                    Err(_) => return Ok(()), // the parent is gone
                }
            }
            Order::Bench {
                iters,
                samples,
                local,
            } => {
                let timed = if local {
                    bench(&LocalFlag::default(), iters, samples)
                } else {
                    bench(flag, iters, samples)
                };
                timed.map_or_else(|e| Reply::Failed(format!("{e:#}")), Reply::Bench)
            }
            Order::Ping => Reply::Pong,
            Order::Count { .. } => Reply::Failed("this flag has no counter".into()),
            Order::Open(_) | Order::Go | Order::Stop => {
                bail!("the parent broke the protocol: an order out of place")
            }
        };
        let failed = matches!(reply, Reply::Failed(_));
        self.reply(reply)?;
        if failed {
            // The parent prints why; this process has nothing to add.
            std::process::exit(1);
        }
        Ok(())
    }
}

/// Runs the search with a flag that notes when it was raised, and says how
/// it ended and when.
fn timed_search(
    task: Task,
    data: Option<&Transactions>,
    ks: Range<u64>,
    check_every: u64,
    flag: &impl StopFlag,
) -> Reply {
    let flag = Timed {
        flag,
        raised_ns: Cell::new(None),
    };
    let r = task.run(data, ks, check_every, &flag);
    let stop_ns = clock::now_ns();
    match r {
        Ok(searched) => Reply::Done {
            searched,
            stop_ns,
            raised_ns: flag.raised_ns.get(),
        },
        Err(e) => Reply::Failed(format!("{e:#}")),
    }
}

/// A flag that stamps the moment it is raised, just before raising it.
struct Timed<'a, V> {
    flag: &'a V,
    raised_ns: Cell<Option<u64>>,
}

impl<V: StopFlag> StopFlag for Timed<'_, V> {
    fn is_set(&self) -> anyhow::Result<bool> {
        self.flag.is_set()
    }
    fn raise(&self) -> anyhow::Result<()> {
        self.raised_ns.set(Some(clock::now_ns()));
        self.flag.raise()
    }
    fn lower(&self) -> anyhow::Result<()> {
        self.flag.lower()
    }
}

/// Nanoseconds per `is_set`, over `samples` runs of `iters` calls.
fn bench(
    flag: &impl StopFlag,
    iters: u64,
    samples: u32,
) -> anyhow::Result<Vec<f64>> {
    let mut out = Vec::with_capacity(samples as usize);
    for _ in 0..samples {
        let t = clock::now_ns();
        for _ in 0..iters {
            std::hint::black_box(std::hint::black_box(flag).is_set()?);
        }
        out.push((clock::now_ns() - t) as f64 / iters as f64);
    }
    Ok(out)
}

/// A counter beside the flag (chapters 3 and 4), to show what "race
/// conditions possible" means for shared state: with `--count N` every worker
/// adds one N times, first in two steps, then in one.
pub trait Counter {
    /// Reads the counter, then writes back one more: another process can come
    /// between the two steps, and then one of the two additions is lost.
    fn add_racy(&self) -> anyhow::Result<()>;
    /// Adds one in a single step no other process can come between.
    fn add_atomic(&self) -> anyhow::Result<()>;
    /// The counter's value.
    fn get(&self) -> anyhow::Result<u64>;
    /// Sets it back to zero.
    fn reset(&self) -> anyhow::Result<()>;
}

impl<H: Serialize + DeserializeOwned> Parent<H> {
    /// Obeys `Order::Count`: adds one `times` times to `counter`, then answers.
    pub fn count(
        &self,
        counter: &impl Counter,
        times: u64,
        racy: bool,
    ) -> anyhow::Result<()> {
        let add = || match racy {
            true => counter.add_racy(),
            false => counter.add_atomic(),
        };
        let reply = match (0..times).try_for_each(|_| add()) {
            Ok(()) => Reply::Counted,
            Err(e) => Reply::Failed(format!("{e:#}")),
        };
        self.reply(reply)
    }
}
