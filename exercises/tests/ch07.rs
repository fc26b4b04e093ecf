//! Exercise 7.B: `cargo test -p exercises -- --ignored ch07`.

mod common;

#[test]
#[ignore = "exercise 7.B: run with --ignored"]
fn ch07_the_supervisor_forwards_each_stop_once_and_never_waits() {
    // Three workers, the last with a full inbox; stops for searches
    // 1, 1, 2, 1, 3, 2 go through `forward` (the program fails unless the two
    // reading workers find 1, 2, 3 and the full inbox held up nobody).
    let out = common::exercise(&["ch07", "--workers", "3"]);
    assert!(out.contains("found each search's stop once"), "{out}");
}
