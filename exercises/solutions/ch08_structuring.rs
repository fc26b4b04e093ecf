//! Exercise 8.B, a solution: see `src/ch08_structuring.rs` for the task.

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
    let just_under = THRESHOLD_CENTS - JUST_UNDER_CENTS..THRESHOLD_CENTS;
    ledger
        .windows(COUNT)
        .find(|group| {
            let (first, last) = (group[0], group[COUNT - 1]);
            // In a per-card ledger, one card's group is a run of records,
            // in time order: the window is last minus first.
            group.iter().all(|t| t.card == first.card)
                && group.iter().all(|t| just_under.contains(&t.amount_cents))
                && last.time.wrapping_sub(first.time) < WINDOW_S
        })
        .map(|group| group[0].id)
}
