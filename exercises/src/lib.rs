//! The book's build-it exercises, one module per chapter.
//!
//! Each `src/chNN_*.rs` is a stub for you to complete: a function left as
//! `todo!()` or written the wrong way on purpose, with the task in its
//! header. Check your answer with one command, for example for chapter 1:
//!
//! ```text
//! cargo test -p exercises -- --ignored ch01
//! ```
//!
//! The tests are `#[ignore]`d so that `cargo test --workspace` stays green
//! while the stubs are unsolved; `--ignored` runs them. They run real
//! processes (`src/main.rs`, the `exercises` binary, started by the tests),
//! real shared memory and a real `redis-server`.
//!
//! The answers are in `solutions/`. With `--features solutions` every module
//! is compiled from its solution instead of its stub, which is how
//! `cargo xtask ci` checks that each test passes on the answer and fails on
//! the stub.

pub mod run;

#[cfg_attr(feature = "solutions", path = "../solutions/ch01_books.rs")]
pub mod ch01_books;
#[cfg_attr(feature = "solutions", path = "../solutions/ch02_merge.rs")]
pub mod ch02_merge;
#[cfg_attr(feature = "solutions", path = "../solutions/ch03_proxy.rs")]
pub mod ch03_proxy;
#[cfg_attr(feature = "solutions", path = "../solutions/ch04_claim.rs")]
pub mod ch04_claim;
#[cfg_attr(feature = "solutions", path = "../solutions/ch05_eventfd.rs")]
pub mod ch05_eventfd;
#[cfg_attr(feature = "solutions", path = "../solutions/ch06_lease.rs")]
pub mod ch06_lease;
#[cfg_attr(feature = "solutions", path = "../solutions/ch07_forward.rs")]
pub mod ch07_forward;
#[cfg_attr(feature = "solutions", path = "../solutions/ch08_structuring.rs")]
pub mod ch08_structuring;
