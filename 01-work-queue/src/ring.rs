//! A bounded multi-producer multi-consumer queue of fixed-size messages that
//! can live in memory shared by several processes.
//!
//! The algorithm is Dmitry Vyukov's bounded MPMC queue
//! (<https://www.1024cores.net/home/lock-free-algorithms/queues/bounded-mpmc-queue>):
//! an array of `CAP` slots, each with a sequence number, and two counters,
//! `tail` (the next position to put at) and `head` (the next to take from).
//! Slot `pos % CAP` is
//! - free for the producer of position `pos` when its sequence is `pos`,
//! - full, for the consumer of `pos`, when its sequence is `pos + 1`,
//! - free again, for the producer of `pos + CAP`, when its sequence is
//!   `pos + CAP`.
//!
//! Producers race for a position with a compare-and-swap on `tail`, consumers
//! on `head`; the winner alone touches the slot, then publishes it by storing
//! the next sequence number (`Release`), which the other side loads
//! (`Acquire`). No lock, and no process ever waits for another to finish an
//! operation, except for a slot's one owner to publish it.
//!
//! What the textbook version lacks, and processes need: a process can die in
//! the middle of an operation, between winning its position and publishing
//! the slot, and that slot would then stall the queue for good. So every
//! operation first writes what it is about to do in the caller's [`Intent`]
//! word. A process that outlives the dead one (the parent) reads the dead
//! process's intent and, once it is sure no live process is still working on
//! that position, finishes the operation for it with [`Ring::recover`].
//!
//! Every field is an atomic and nothing else, so the type is valid at any
//! address where all bytes are zero ([`Ring::init`] then numbers the slots),
//! and no access is ever a data race whatever another process does.
//! Atomics shared between processes lie outside Rust's memory model, which
//! speaks only of threads of one process; they work because every process
//! maps the same physical memory and the processor keeps its caches coherent
//! for physical addresses, so the same instructions give the same guarantees
//! as between threads. The model-checked test (`tests/ring_loom.rs`) checks
//! the algorithm between threads, where the model does apply.

#[cfg(loom)]
use loom::sync::atomic::{AtomicU64, Ordering::*};
#[cfg(not(loom))]
use std::sync::atomic::{AtomicU64, Ordering::*};

/// Words in one message.
pub const WORDS: usize = 3;

/// One message: three 64-bit words whose meaning the user of the ring picks.
pub type Message = [u64; WORDS];

/// One slot: its sequence number and its message, on a cache line of its
/// own, so that neighbours taken by two processes do not share a line.
#[repr(C, align(64))]
#[derive(Debug)]
struct Slot {
    seq: AtomicU64,
    words: [AtomicU64; WORDS],
}

/// A counter on a cache line of its own: producers hammer `tail` and
/// consumers `head`, and neither should slow the other.
#[repr(C, align(64))]
#[derive(Debug)]
struct Padded(AtomicU64);

/// The ring: `CAP` slots (a power of two) and its two counters.
#[repr(C)]
#[derive(Debug)]
pub struct Ring<const CAP: usize> {
    head: Padded,
    tail: Padded,
    slots: [Slot; CAP],
}

/// What one process is doing on one ring, kept in shared memory so that the
/// parent can finish the operation if the process dies in the middle of it.
///
/// The word is `0` when the process is between operations; `pos + 1` while
/// it is putting or taking at position `pos`, from before it races for the
/// position until the slot is published.
#[derive(Debug, Default)]
#[repr(transparent)]
pub struct Intent(AtomicU64);

impl Intent {
    /// A fresh word: no operation in progress.
    pub fn new() -> Intent {
        Intent(AtomicU64::new(0))
    }

    /// The position this process was working on, if any.
    pub fn position(&self) -> Option<u64> {
        self.0.load(SeqCst).checked_sub(1)
    }

    fn announce(&self, pos: u64) {
        self.0.store(pos + 1, SeqCst);
    }

    fn clear(&self) {
        self.0.store(0, SeqCst);
    }
}

/// How [`Ring::recover`] left a dead process's slot.
#[derive(Debug, PartialEq, Eq)]
pub enum Recovered {
    /// The operation had finished, or the process lost the race for the
    /// position: nothing was left half done.
    Nothing,
    /// It had taken the message and died before freeing the slot: here is the
    /// message, and the slot is free again.
    Taken(Message),
    /// It had won a position to put at and died before publishing it: the
    /// slot now holds `filler`, so that consumers can pass it.
    Filled,
    /// A live process is working on the same position: ask again later.
    Busy,
}

impl<const CAP: usize> Ring<CAP> {
    const CAP_IS_A_POWER_OF_TWO: () =
        assert!(CAP.is_power_of_two(), "the capacity must be a power of two");

    /// A ring in this process's memory (for tests; processes share theirs
    /// through [`Ring::init`]).
    #[cfg(not(loom))]
    pub fn new() -> Box<Ring<CAP>> {
        let ring = Box::new(Ring {
            head: Padded(AtomicU64::new(0)),
            tail: Padded(AtomicU64::new(0)),
            slots: std::array::from_fn(|_| Slot {
                seq: AtomicU64::new(0),
                words: Default::default(),
            }),
        });
        ring.init();
        ring
    }

    /// A ring in this thread's memory, built inside loom's model.
    #[cfg(loom)]
    pub fn new() -> Box<Ring<CAP>> {
        let ring = Box::new(Ring {
            head: Padded(AtomicU64::new(0)),
            tail: Padded(AtomicU64::new(0)),
            slots: std::array::from_fn(|_| Slot {
                seq: AtomicU64::new(0),
                words: std::array::from_fn(|_| AtomicU64::new(0)),
            }),
        });
        ring.init();
        ring
    }

    /// Makes an all-zero ring ready: slot `i` starts free for position `i`.
    /// Call it once, before any process uses the ring.
    pub fn init(&self) {
        let () = Self::CAP_IS_A_POWER_OF_TWO;
        for (i, slot) in self.slots.iter().enumerate() {
            slot.seq.store(i as u64, Relaxed);
        }
        self.head.0.store(0, Relaxed);
        self.tail.0.store(0, Release);
    }

    /// Messages put and not yet taken (a snapshot: others move on meanwhile).
    pub fn len(&self) -> u64 {
        let head = self.head.0.load(SeqCst);
        self.tail.0.load(SeqCst).saturating_sub(head)
    }

    /// True when no message is waiting (a snapshot).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn slot(&self, pos: u64) -> &Slot {
        &self.slots[(pos % CAP as u64) as usize]
    }

    /// Puts `msg` at the tail, or gives it back if the ring is full.
    /// `me` is the calling process's intent word for this ring.
    pub fn put(&self, msg: Message, me: &Intent) -> Result<(), Message> {
        loop {
            let pos = self.tail.0.load(Relaxed);
            let seq = self.slot(pos).seq.load(Acquire);
            if seq < pos {
                // Its last message, from a lap ago, is still unread.
                return Err(msg);
            }
            if seq > pos {
                backoff(); // another producer took `pos`: look again
                continue;
            }
            me.announce(pos);
            if self
                .tail
                .0
                .compare_exchange_weak(pos, pos + 1, SeqCst, Relaxed)
                .is_ok()
            {
                let slot = self.slot(pos);
                for (w, v) in slot.words.iter().zip(msg) {
                    w.store(v, Relaxed);
                }
                slot.seq.store(pos + 1, Release);
                me.clear();
                return Ok(());
            }
            me.clear();
            backoff();
        }
    }

    // ANCHOR: take
    /// Takes the message at the head, if there is one. Before the slot is
    /// freed, `hold` sees the message: the caller records there what it now
    /// holds, so that a process that dies right after is known to have had it.
    pub fn take(&self, me: &Intent, hold: impl FnOnce(&Message)) -> Option<Message> {
        loop {
            let pos = self.head.0.load(Relaxed);
            let seq = self.slot(pos).seq.load(Acquire);
            if seq < pos + 1 {
                return None; // nothing put at `pos` yet: empty
            }
            if seq > pos + 1 {
                backoff(); // another consumer took `pos`: look again
                continue;
            }
            me.announce(pos);
            if self
                .head
                .0
                .compare_exchange_weak(pos, pos + 1, SeqCst, Relaxed)
                .is_ok()
            {
                let slot = self.slot(pos);
                let msg: Message =
                    std::array::from_fn(|w| slot.words[w].load(Relaxed));
                hold(&msg);
                slot.seq.store(pos + CAP as u64, Release);
                me.clear();
                return Some(msg);
            }
            me.clear();
            backoff();
        }
    }
    // ANCHOR_END: take

    // ANCHOR: recover
    /// Finishes the operation a dead process left at `pos` (from its intent
    /// word), if it had won that position. `filler` is what a slot it won to
    /// put at and never wrote is given, so that consumers can pass it.
    /// `busy` says whether a live process's intent word names `pos` now.
    ///
    /// Call it only once the process is certainly dead (reaped). A live
    /// process may have won the position instead; it announced that before
    /// winning and finishes the operation itself, so while one is `busy` the
    /// answer is [`Recovered::Busy`]: ask again later.
    pub fn recover(
        &self,
        pos: u64,
        filler: Message,
        busy: impl Fn() -> bool,
    ) -> Recovered {
        // Order matters. First: has anyone won `pos` at all? After this load,
        // nobody else can (the counter only grows), and whoever did had
        // announced it before.
        let taken = self.head.0.load(SeqCst) > pos;
        let put = self.tail.0.load(SeqCst) > pos;
        if !taken && !put {
            return Recovered::Nothing; // it died before winning: nothing to do
        }
        // Then: is a live process still on it? If so it may be the winner.
        if busy() {
            return Recovered::Busy;
        }
        // No live process is on `pos`, so a half-done slot is the dead one's.
        let slot = self.slot(pos);
        let seq = slot.seq.load(Acquire);
        if taken && seq == pos + 1 {
            // Won by a consumer, and never freed: the message is still here.
            let msg = std::array::from_fn(|w| slot.words[w].load(Relaxed));
            slot.seq.store(pos + CAP as u64, Release);
            Recovered::Taken(msg)
        } else if put && seq == pos {
            // Won by a producer, and never written.
            for (w, v) in slot.words.iter().zip(filler) {
                w.store(v, Relaxed);
            }
            slot.seq.store(pos + 1, Release);
            Recovered::Filled
        } else {
            Recovered::Nothing
        }
    }
    // ANCHOR_END: recover
}

/// What to do between two tries of a race just lost.
fn backoff() {
    #[cfg(loom)]
    loom::thread::yield_now();
    #[cfg(not(loom))]
    std::hint::spin_loop();
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn first_in_first_out_until_full_then_empty() {
        let ring = Ring::<4>::new();
        let me = Intent::new();
        for i in 1..=4 {
            assert_eq!(ring.put([i, 0, 0], &me), Ok(()));
        }
        assert_eq!(ring.put([5, 0, 0], &me), Err([5, 0, 0]));
        assert_eq!(ring.len(), 4);
        for i in 1..=4 {
            assert_eq!(ring.take(&me, |_| {}), Some([i, 0, 0]));
        }
        assert_eq!(ring.take(&me, |_| {}), None);
        assert_eq!(me.position(), None);
    }

    #[test]
    fn recovery_frees_a_slot_taken_by_a_dead_process() {
        let ring = Ring::<2>::new();
        let me = Intent::new();
        ring.put([7, 8, 9], &me).unwrap();
        // A consumer that wins position 0 and dies before freeing the slot.
        ring.head.0.store(1, SeqCst);
        let dead = Intent::new();
        dead.announce(0);
        let pos = dead.position().unwrap();
        assert_eq!(ring.recover(pos, [0; WORDS], || true), Recovered::Busy);
        assert_eq!(
            ring.recover(pos, [0; WORDS], || false),
            Recovered::Taken([7, 8, 9])
        );
        // The slot is free again: two more messages fit.
        ring.put([1, 0, 0], &me).unwrap();
        ring.put([2, 0, 0], &me).unwrap();
        assert_eq!(ring.recover(pos, [0; WORDS], || false), Recovered::Nothing);
    }

    #[test]
    fn recovery_fills_a_slot_a_dead_process_won_and_never_wrote() {
        let ring = Ring::<2>::new();
        let me = Intent::new();
        // A producer that wins position 0 and dies before publishing it.
        ring.tail.0.store(1, SeqCst);
        ring.put([5, 0, 0], &me).unwrap();
        assert_eq!(ring.take(&me, |_| {}), None, "stalled behind position 0");
        assert_eq!(ring.recover(0, [0; WORDS], || false), Recovered::Filled);
        assert_eq!(ring.take(&me, |_| {}), Some([0; WORDS]));
        assert_eq!(ring.take(&me, |_| {}), Some([5, 0, 0]));
    }
}
