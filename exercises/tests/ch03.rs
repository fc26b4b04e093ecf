//! Exercise 3.B: `cargo test -p exercises -- --ignored ch03`.

mod common;

#[test]
#[ignore = "exercise 3.B: run with --ignored"]
fn ch03_no_update_is_lost_through_the_manager() {
    // Four worker processes add one 3000 times each, all at once.
    let out = common::exercise(&["ch03"]);
    assert!(out.contains("the counter is 12000"), "{out}");
}
