//! The ring's algorithm, model-checked: loom runs each test under every
//! interleaving of its threads (and every value a relaxed load may return)
//! that the C++/Rust memory model allows, up to its bounds.
//!
//! Run it: `RUSTFLAGS="--cfg loom" cargo test -p work-queue --test ring_loom --release`
//! (`cargo xtask ci` does). Without `--cfg loom` this file is empty.
#![cfg(loom)]

use loom::sync::Arc;
use loom::thread;
use work_queue::ring::{Intent, Recovered, Ring};

/// Every interleaving with up to three preemptions: enough for the races
/// below (two operations on one position), and bounded in time.
fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(f);
}

fn msg(v: u64) -> [u64; 3] {
    [v, v * 10, v * 100]
}

/// Takes every message left, once no other thread touches the ring.
fn drain<const C: usize>(ring: &Ring<C>, me: &Intent, into: &mut Vec<u64>) {
    while let Some(m) = ring.take(me, |_| {}) {
        assert_eq!(m, msg(m[0]), "a message arrived torn");
        into.push(m[0]);
    }
}

#[test]
fn two_consumers_and_a_producer_lapping_the_ring() {
    model(|| {
        // Two slots: the third message reuses slot 0 while consumers race.
        let ring = Arc::new(Ring::<2>::new());
        let parent = Intent::new();
        ring.put(msg(1), &parent).unwrap();
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let ring = ring.clone();
                thread::spawn(move || {
                    let me = Intent::new();
                    let taken = ring.take(&me, |_| {});
                    assert_eq!(me.position(), None, "an intent left behind");
                    taken
                })
            })
            .collect();
        // Put while the consumers take: the second always fits; the third
        // only once a consumer has freed slot 0.
        ring.put(msg(2), &parent).unwrap();
        let third = ring.put(msg(3), &parent).is_ok();
        let mut all = Vec::new();
        for c in consumers {
            if let Some(m) = c.join().unwrap() {
                assert_eq!(m, msg(m[0]), "a message arrived torn");
                all.push(m[0]);
            }
        }
        if !third {
            ring.put(msg(3), &parent).unwrap();
        }
        drain(&ring, &parent, &mut all);
        all.sort_unstable();
        assert_eq!(all, [1, 2, 3], "each message exactly once");
    });
}

#[test]
fn two_producers_lose_nothing_and_keep_their_own_order() {
    model(|| {
        let ring = Arc::new(Ring::<4>::new());
        let producers: Vec<_> = (0..2u64)
            .map(|p| {
                let ring = ring.clone();
                thread::spawn(move || {
                    let me = Intent::new();
                    ring.put(msg(p * 10 + 1), &me).unwrap();
                    ring.put(msg(p * 10 + 2), &me).unwrap();
                })
            })
            .collect();
        let me = Intent::new();
        let mut got = Vec::new();
        if let Some(m) = ring.take(&me, |_| {}) {
            assert_eq!(m, msg(m[0]), "a message arrived torn");
            got.push(m[0]);
        }
        for p in producers {
            p.join().unwrap();
        }
        drain(&ring, &me, &mut got);
        for p in 0..2 {
            let mine: Vec<u64> =
                got.iter().copied().filter(|v| v / 10 == p).collect();
            assert_eq!(mine, [p * 10 + 1, p * 10 + 2], "got {got:?}");
        }
    });
}

/// Runs `op` and stops it dead at the panic inside, as a process killed at
/// that moment stops: nothing after the panic in the ring's code runs.
fn dies_during(op: impl FnOnce()) {
    let quiet = std::panic::AssertUnwindSafe(op);
    assert!(
        std::panic::catch_unwind(quiet).is_err(),
        "it was meant to die"
    );
}

#[test]
fn a_consumer_that_dies_holding_a_slot_is_recovered_exactly_once() {
    std::panic::set_hook(Box::new(|_| {})); // the deaths below are on purpose
    model(|| {
        let ring = Arc::new(Ring::<2>::new());
        let parent = Intent::new();
        ring.put(msg(1), &parent).unwrap();
        ring.put(msg(2), &parent).unwrap();
        // The victim wins a slot and dies before freeing it.
        let dead = Arc::new(Intent::new());
        let victim = {
            let (ring, dead) = (ring.clone(), dead.clone());
            thread::spawn(move || {
                dies_during(|| {
                    ring.take(&dead, |_| panic!("killed"));
                })
            })
        };
        // Meanwhile a live consumer takes what it can.
        let live = Arc::new(Intent::new());
        let other = {
            let (ring, live) = (ring.clone(), live.clone());
            thread::spawn(move || ring.take(&live, |_| {}).map(|m| m[0]))
        };
        victim.join().unwrap();
        // The parent recovers while the live consumer may still be running.
        let mut all = Vec::new();
        if let Some(pos) = dead.position() {
            let busy = || live.position() == Some(pos);
            loop {
                match ring.recover(pos, [0; 3], &busy) {
                    Recovered::Busy => thread::yield_now(),
                    Recovered::Taken(m) => {
                        all.push(m[0]);
                        break;
                    }
                    Recovered::Nothing | Recovered::Filled => break,
                }
            }
        }
        all.extend(other.join().unwrap());
        drain(&ring, &parent, &mut all);
        all.sort_unstable();
        assert_eq!(all, [1, 2], "every message once, the dead one's recovered");
    });
}
