//! Exercise 8.B: `cargo test -p exercises -- --ignored ch08`.

use exercises::ch08_structuring::{
    COUNT, JUST_UNDER_CENTS, THRESHOLD_CENTS, WINDOW_S, structuring,
};
use workers::fraud::{Transaction, generate};
use workers::search::Case;

const HOUR: u32 = 3600;

/// The fraud scan's own transactions, with nothing planted, as a ledger.
fn ledger(records: u64) -> Vec<Transaction> {
    let set = generate(records, Case::Prime).expect("the transactions");
    (0..set.data.len()).map(|k| set.data.get(k)).collect()
}

/// The first of the last `COUNT` records of a card, the first such card
/// from record `from` on: times set from there on keep the card in order.
fn last_of_card(ledger: &[Transaction], from: usize) -> usize {
    (from..ledger.len() - COUNT)
        .find(|&k| {
            let card = ledger[k].card;
            ledger[k..k + COUNT].iter().all(|t| t.card == card)
                && ledger[k + COUNT].card != card
        })
        .expect("a card with that many transactions")
}

/// Gives records `k..` these amounts, `gaps[i]` seconds after the record
/// before, keeping the ledger in time order for the card.
fn set(ledger: &mut [Transaction], k: usize, amounts: &[u32], gaps: &[u32]) {
    for (i, &amount) in amounts.iter().enumerate() {
        ledger[k + i].amount_cents = amount;
        if i > 0 {
            ledger[k + i].time = ledger[k + i - 1].time + gaps[i - 1];
        }
    }
}

const UNDER: u32 = THRESHOLD_CENTS - 1;
const LOW: u32 = THRESHOLD_CENTS - JUST_UNDER_CENTS;

#[test]
#[ignore = "exercise 8.B: run with --ignored"]
fn ch08_a_clean_ledger_holds_no_structuring() {
    assert_eq!(structuring(&ledger(200_000)), None);
}

#[test]
#[ignore = "exercise 8.B: run with --ignored"]
fn ch08_the_planted_group_is_found_and_no_near_miss() {
    let mut ledger = ledger(200_000);
    let n = ledger.len();
    let three = |low: u32| [low, UNDER, LOW + 50_000];
    // Near misses, before the planted group, so that a rule that takes one
    // finds it first. Too slow: the last comes a day after the first.
    let slow = last_of_card(&ledger, n / 10);
    set(
        &mut ledger,
        slow,
        &three(LOW),
        &[WINDOW_S / 2, WINDOW_S / 2],
    );
    // Over two cards: the last two of one card and the first of the next.
    let split = (n / 5..n - COUNT)
        .find(|&k| {
            ledger[k].card == ledger[k + 1].card
                && ledger[k + 1].card != ledger[k + 2].card
        })
        .expect("a card boundary");
    set(&mut ledger, split, &three(LOW), &[HOUR, HOUR]);
    // One at the threshold: reported anyway, so not a way around it.
    let at = last_of_card(&ledger, 3 * n / 10);
    set(
        &mut ledger,
        at,
        &[LOW, THRESHOLD_CENTS, UNDER],
        &[HOUR, HOUR],
    );
    // One too far below it to be "just under".
    let below = last_of_card(&ledger, 2 * n / 5);
    set(&mut ledger, below, &three(LOW - 1), &[HOUR, HOUR]);
    // The real thing: three just under, within a day, from one card.
    let planted = last_of_card(&ledger, 3 * n / 5);
    set(&mut ledger, planted, &three(LOW), &[2 * HOUR, 5 * HOUR]);
    assert_eq!(
        structuring(&ledger),
        Some(ledger[planted].id),
        "the planted group starts at transaction {planted}; near misses at \
         {slow} (too slow), {split} (two cards), {at} (at the threshold), \
         {below} (too far under)"
    );
}
