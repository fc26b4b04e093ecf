//! Exercise 1.B: `cargo test -p exercises -- --ignored ch01`.

mod common;

use exercises::ch01_books::Books;

#[test]
#[ignore = "exercise 1.B: run with --ignored"]
fn ch01_a_dead_workers_number_is_checked_by_another() {
    // Three worker processes; worker 1 dies holding its 50th number.
    let out = common::exercise(&["ch01"]);
    assert!(out.contains("once each"), "{out}");
}

#[test]
#[ignore = "exercise 1.B: run with --ignored"]
fn ch01_an_answer_counts_once_even_when_it_comes_twice() {
    let mut books = Books::new(10..12);
    // Worker 0 takes 10, then is judged dead.
    assert_eq!(books.hand_out(0), Some(10));
    books.lost(0);
    // What it held goes out again, before anything new.
    assert_eq!(books.hand_out(1), Some(10), "a lost number goes out first");
    books.result(1, 10, false);
    // The "dead" worker's answer arrives after all: no news.
    books.result(0, 10, false);
    assert_eq!(
        books.answered(),
        1,
        "one number, answered twice, counts once"
    );
    assert!(!books.done(), "11 is still to do");
    assert_eq!(books.hand_out(1), Some(11));
    assert!(!books.done(), "11 is out, not answered");
    books.result(1, 11, true);
    assert!(books.done());
    assert_eq!((books.answered(), books.primes()), (2, 1));
}
