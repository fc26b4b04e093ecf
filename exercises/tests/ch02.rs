//! Exercise 2.B: `cargo test -p exercises -- --ignored ch02`.

mod common;

use exercises::ch02_merge::{Item, Merge};

#[test]
#[ignore = "exercise 2.B: run with --ignored"]
fn ch02_one_pill_goes_on_after_every_producers_pill() {
    let mut merge = Merge::new(3);
    assert_eq!(merge.on(Item::Number(7)), Some(Item::Number(7)));
    assert_eq!(merge.on(Item::Pill), None, "two producers still send");
    assert_eq!(merge.on(Item::Number(11)), Some(Item::Number(11)));
    assert_eq!(merge.on(Item::Pill), None, "one producer still sends");
    assert_eq!(merge.on(Item::Number(13)), Some(Item::Number(13)));
    assert_eq!(merge.on(Item::Pill), Some(Item::Pill));
}

#[test]
#[ignore = "exercise 2.B: run with --ignored"]
fn ch02_a_stage_fed_by_two_producers_loses_nothing() {
    // Two producer processes, the stage in a third; producer 1 starts once
    // producer 0 has sent its pill.
    let out = common::exercise(&["ch02"]);
    assert!(out.contains("then one pill"), "{out}");
}
