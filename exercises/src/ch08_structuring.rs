//! Exercise 8.B: a second fraud rule, structuring.
//!
//! Banks must report a cash transaction of 10,000.00 or more. Someone who
//! wants to avoid the report splits the sum: several amounts each just under
//! the threshold, from one card, within a day. Write [`structuring`]: in a
//! per-card ledger (the fraud scan's layout: card after card, each card's
//! transactions in time order), the first [`COUNT`] transactions in a row
//! that
//!
//! - belong to one card,
//! - each have an amount from `THRESHOLD_CENTS - JUST_UNDER_CENTS` up to,
//!   but not including, [`THRESHOLD_CENTS`],
//! - and span less than [`WINDOW_S`] from the first to the last.
//!
//! Return the `id` of the first of them, or `None`.
//!
//! Check: `cargo test -p exercises -- --ignored ch08`. The test generates the
//! fraud scan's own transactions (`workers::fraud::generate`), plants one
//! structured group among near misses (a group that takes too long, one
//! split over two cards, one that touches the threshold, one too far below
//! it), and expects your function to find the planted group and nothing
//! else; on the clean ledger, nothing at all.

use workers::fraud::Transaction;

/// The amount from which a transaction is reported, in cents.
pub const THRESHOLD_CENTS: u32 = 1_000_000;

/// How far under the threshold an amount counts as "just under", in cents.
pub const JUST_UNDER_CENTS: u32 = 100_000;

/// Transactions in a row that make a structured group.
pub const COUNT: usize = 3;

/// The group spans less than this, first to last, in seconds: a day.
pub const WINDOW_S: u32 = 24 * 3600;

/// The `id` of the first transaction of the first structured group in
/// `ledger`, if there is one.
pub fn structuring(ledger: &[Transaction]) -> Option<u64> {
    // Wrong on purpose: any amounts under the threshold, of any card, at any
    // time, "structure".
    ledger
        .windows(COUNT)
        .find(|group| group.iter().all(|t| t.amount_cents < THRESHOLD_CENTS))
        .map(|group| group[0].id)
}
