//! Exercise 4.B: `cargo test -p exercises -- --ignored ch04`.

mod common;

use exercises::ch04_claim::claim;
use std::sync::atomic::AtomicU64;

#[test]
#[ignore = "exercise 4.B: run with --ignored"]
fn ch04_every_number_is_claimed_by_exactly_one_worker() {
    // Four worker processes claim 0..2000000 from one shared page.
    let out = common::exercise(&["ch04"]);
    assert!(out.contains("2000000 numbers, each claimed once"), "{out}");
}

#[test]
#[ignore = "exercise 4.B: run with --ignored"]
fn ch04_nothing_is_claimed_past_the_end() {
    let next = AtomicU64::new(0);
    assert_eq!((claim(&next, 2), claim(&next, 2)), (Some(0), Some(1)));
    for _ in 0..3 {
        assert_eq!(claim(&next, 2), None);
    }
}
