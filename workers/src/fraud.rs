//! The fraud scan: the text's own scenario, run for real (`--workload fraud`).
//!
//! A month of card transactions, generated once per run by the parent into a
//! sealed memory file that every worker maps read-only (the text's "immutable
//! inputs"), and one rule that a scan checks on each pair of adjacent records:
//! the same card used in person in two countries less than a minute apart,
//! which no traveller can do. The generator plants exactly one such pair where
//! `--case` says (none for `prime`) and checks, as it writes, that no other
//! pair anywhere matches. Workers scan their slices of the pairs and look at
//! the stop flag every `--check-every` pairs, as they do for divisors.
//!
//! A look at a record is a few compares on bytes that stream in from memory:
//! unlike a division, its cost is set by memory bandwidth, which the cores
//! share.

use crate::search::Case;
use anyhow::{Context, bail, ensure};
use memmap2::{Mmap, MmapOptions};
use rand_pcg::Pcg64Mcg;
use rand_pcg::rand_core::Rng;
use rustix::fs::{MemfdFlags, SealFlags};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::ops::Range;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

// ANCHOR: record
/// Bytes per transaction in the file: a fixed-size record, so that record `k`
/// starts at byte `32 * k` and a worker can go straight to its slice.
pub const RECORD: usize = 32;

/// One card transaction. In the file, its fields in this order, little-endian,
/// with no padding: 8 + 4 + 4 + 4 + 4 + 2 + 2 + 3 + 1 = 32 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    /// Its number in the file, from 0.
    pub id: u64,
    /// Seconds since the start of the period scanned.
    pub time: u32,
    /// The card, by an opaque number.
    pub card: u32,
    /// The merchant, by an opaque number.
    pub merchant: u32,
    /// The amount in cents of `currency`.
    pub amount_cents: u32,
    /// Merchant category code (ISO 18245): 5411 groceries, 6011 cash, ...
    pub mcc: u16,
    /// Where it took place: ISO 3166 alpha-2, such as `DE`.
    #[serde(with = "code")]
    pub country: [u8; 2],
    /// ISO 4217, such as `EUR`.
    #[serde(with = "code")]
    pub currency: [u8; 3],
    /// How the card was used: [`IN_PERSON`], [`ONLINE`] or [`ATM`].
    pub channel: u8,
}

/// The card was in the shop: chip, contactless or swipe.
pub const IN_PERSON: u8 = 0;
/// The card's number was typed in a website: it says nothing of where the
/// card is.
pub const ONLINE: u8 = 1;
/// Cash from a machine: the card was there.
pub const ATM: u8 = 2;
// ANCHOR_END: record

impl Transaction {
    /// Decodes record bytes. Compiled inline into the scan, only the fields
    /// the rule reads are ever loaded.
    #[inline]
    pub fn read(r: &[u8; RECORD]) -> Transaction {
        let u32_at =
            |i: usize| u32::from_le_bytes([r[i], r[i + 1], r[i + 2], r[i + 3]]);
        Transaction {
            id: u64::from_le_bytes(r[0..8].try_into().expect("8 bytes")),
            time: u32_at(8),
            card: u32_at(12),
            merchant: u32_at(16),
            amount_cents: u32_at(20),
            mcc: u16::from_le_bytes([r[24], r[25]]),
            country: [r[26], r[27]],
            currency: [r[28], r[29], r[30]],
            channel: r[31],
        }
    }

    /// Encodes the record, as [`Transaction::read`] decodes it.
    pub fn write(&self, r: &mut [u8; RECORD]) {
        r[0..8].copy_from_slice(&self.id.to_le_bytes());
        r[8..12].copy_from_slice(&self.time.to_le_bytes());
        r[12..16].copy_from_slice(&self.card.to_le_bytes());
        r[16..20].copy_from_slice(&self.merchant.to_le_bytes());
        r[20..24].copy_from_slice(&self.amount_cents.to_le_bytes());
        r[24..26].copy_from_slice(&self.mcc.to_le_bytes());
        r[26..28].copy_from_slice(&self.country);
        r[28..31].copy_from_slice(&self.currency);
        r[31] = self.channel;
    }

    /// Was the card itself there (in a shop or at a cash machine)?
    #[inline]
    pub fn card_present(&self) -> bool {
        self.channel != ONLINE
    }
}

// ANCHOR: rule
/// Closer together than this, one card cannot be in two countries.
pub const WINDOW_S: u32 = 60;

/// The rule, on two transactions in a row: the same card, both times
/// present, in two countries, less than [`WINDOW_S`] apart. A card that is
/// in Lyon and in Lisbon within a minute has been copied.
#[inline]
pub fn suspicious(a: &Transaction, b: &Transaction) -> bool {
    a.card == b.card
        && a.country != b.country
        && b.time.wrapping_sub(a.time) < WINDOW_S
        && a.card_present()
        && b.card_present()
}
// ANCHOR_END: rule

/// Where `case` plants the suspicious pair among `records` transactions:
/// the index of its first record, at 55%, 75% or 95% of the pairs as the
/// divisor cases place their factor; none for `prime`.
pub fn planted(case: Case, records: u64) -> Option<u64> {
    let pairs = records.saturating_sub(1);
    let percent = match case {
        Case::Prime => return None,
        Case::Early => 55,
        Case::Mid => 75,
        Case::Late => 95,
    };
    Some(pairs * percent / 100)
}

/// A run's transactions, mapped read-only: in the parent, which made them,
/// and in every worker.
#[derive(Debug)]
pub struct Transactions {
    /// The mapping. Shared pages: every process that maps the file reads the
    /// same physical memory, nothing is copied.
    map: Mmap,
}

impl Transactions {
    /// Maps the memory file `fd` read-only, after checking it is what
    /// [`generate`] makes: sealed against any change, `records` long.
    pub fn open(fd: BorrowedFd<'_>, records: u64) -> anyhow::Result<Transactions> {
        let seals = rustix::fs::fcntl_get_seals(fd).unwrap_or(SealFlags::empty());
        let size = rustix::fs::fstat(fd)
            .map(|st| st.st_size as u64)
            .unwrap_or(0);
        ensure!(
            seals.contains(SealFlags::WRITE | SealFlags::SHRINK | SealFlags::GROW)
                && size == records * RECORD as u64,
            "descriptor {} is not the sealed file of {records} transactions",
            fd.as_raw_fd()
        );
        // `populate`: map every page now, so that no timed scan pays for
        // first touches.
        // SAFETY: memmap2 cannot know whether another process changes or
        // shortens the file under the mapping; here none can. The file is
        // sealed (checked above) against writing, shrinking and growing, and
        // the kernel refuses those to every process, root included: what
        // the mapping shows never changes and never ends early.
        let map = unsafe { MmapOptions::new().populate().map(&fd) }
            .context("cannot map the transactions")?;
        Ok(Transactions { map })
    }

    /// The records, each one fixed-size chunk of bytes.
    #[inline]
    fn records(&self) -> &[[u8; RECORD]] {
        self.map.as_chunks::<RECORD>().0
    }

    /// How many transactions there are.
    pub fn len(&self) -> u64 {
        self.records().len() as u64
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many pairs of adjacent records there are to check.
    pub fn pairs(&self) -> u64 {
        self.len().saturating_sub(1)
    }

    /// Transaction `k`.
    pub fn get(&self, k: u64) -> Transaction {
        Transaction::read(&self.records()[k as usize])
    }

    // ANCHOR: find
    /// The first pair in `ks` that breaks the rule: `(item, pair)`, where
    /// pair `k` is records `k` and `k + 1`. Items count pairs round and round
    /// modulo `period`, so that a stop-latency trial can scan for as long as
    /// it takes the flag to stop it; a search has `ks` within one round.
    #[inline]
    pub fn find(&self, ks: Range<u64>, period: u64) -> Option<(u64, u64)> {
        let records = self.records();
        let mut k = ks.start;
        while k < ks.end {
            let first = k % period;
            let len = (ks.end - k).min(period - first);
            // Pairs first..first + len read one record past the last pair:
            // the first of the next worker's slice. Read-only data makes that
            // harmless, and every pair is still checked by one worker only.
            let slice = &records[first as usize..=(first + len) as usize];
            let hit = (slice.iter().zip(&slice[1..])).position(|(a, b)| {
                suspicious(&Transaction::read(a), &Transaction::read(b))
            });
            if let Some(i) = hit {
                return Some((k + i as u64, first + i as u64));
            }
            k += len;
        }
        None
    }
    // ANCHOR_END: find
}

/// Every suspicious pair in `data`, by the index of its first record: the
/// generator's promise, checked the slow way (for tests).
pub fn all_suspicious(data: &Transactions) -> Vec<u64> {
    (0..data.pairs())
        .filter(|&k| suspicious(&data.get(k), &data.get(k + 1)))
        .collect()
}

/// The transactions of one run, in the parent: the memory file that holds
/// them, its mapping, and where the suspicious pair was planted.
#[derive(Debug)]
pub struct Dataset {
    /// The sealed memory file. Not close-on-exec: every worker started after
    /// it was made inherits it under the same number, and maps it.
    fd: OwnedFd,
    /// The parent's own mapping, for the serial scan and the report.
    pub data: Transactions,
    /// The first record of the planted pair, if one was planted.
    pub planted: Option<u64>,
    /// Nanoseconds it took to generate, write and seal the file.
    pub generate_ns: u64,
}

impl Dataset {
    /// The descriptor's number, the same in every worker started since.
    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Makes the `fd` of a memory file holding `records` transactions.
///
/// A memory file (`memfd_create`), not a file in the temporary folder: it
/// has no name anywhere, so nothing of it can be left behind, whatever ends
/// the run (even SIGKILL, which runs no clean-up): its memory goes when the
/// last process holding it ends. And it can be sealed: once written, the
/// kernel refuses every write and every change of size, to every process,
/// so the workers' read-only view is truly of immutable data.
fn memory_file(records: u64) -> anyhow::Result<OwnedFd> {
    // No MFD_CLOEXEC: the descriptor must survive the workers' exec.
    let fd =
        rustix::fs::memfd_create("fraud-transactions", MemfdFlags::ALLOW_SEALING)
            .context("cannot create a memory file for the transactions")?;
    let bytes = records * RECORD as u64;
    // Reserve the memory now: a full memory is an error here, not a process
    // killed by SIGBUS when it first touches a page.
    rustix::fs::fallocate(&fd, rustix::fs::FallocateFlags::empty(), 0, bytes)
        .with_context(|| {
            format!(
                "no memory for {} MB of transactions: use fewer --transactions",
                bytes / 1_000_000
            )
        })?;
    Ok(fd)
}

/// Generates `records` transactions for `case` in a sealed memory file, maps
/// it, and times all that.
///
/// The same `records` and `case` give the same bytes on every run and every
/// machine (a fixed seed, and PCG's output is fixed by its specification).
pub fn generate(records: u64, case: Case) -> anyhow::Result<Dataset> {
    ensure!(
        records >= 2,
        "at least two transactions are needed for a pair"
    );
    let start = crate::clock::now_ns();
    let planted = planted(case, records);
    let fd = memory_file(records)?;
    let mut file = std::fs::File::from(fd);
    let mut maker = Generator::new(planted);
    let mut buffer = vec![[0u8; RECORD]; 1 << 15];
    let mut k = 0;
    while k < records {
        let n = (records - k).min(buffer.len() as u64) as usize;
        for r in &mut buffer[..n] {
            maker.next()?.write(r);
        }
        file.write_all(buffer[..n].as_flattened())
            .context("cannot write the transactions")?;
        k += n as u64;
    }
    let fd = OwnedFd::from(file);
    // Seal it: from now on nobody can write, shrink or grow it, nor remove
    // the seals.
    let seals =
        SealFlags::WRITE | SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL;
    rustix::fs::fcntl_add_seals(&fd, seals)
        .context("cannot seal the transactions' memory file")?;
    let data = Transactions::open(fd.as_fd(), records)?;
    Ok(Dataset {
        fd,
        data,
        planted,
        generate_ns: crate::clock::now_ns() - start,
    })
}

/// The seed: every run scans the same month.
const SEED: u128 = 0x7261_6e73_6163_7469_6f6e_732d_3230_3236;

/// Seconds in an hour.
const HOUR: u32 = 3600;

/// Where cards are used, with each country's currency.
const COUNTRIES: [(&[u8; 2], &[u8; 3]); 12] = [
    (b"US", b"USD"),
    (b"GB", b"GBP"),
    (b"DE", b"EUR"),
    (b"FR", b"EUR"),
    (b"ES", b"EUR"),
    (b"IT", b"EUR"),
    (b"NL", b"EUR"),
    (b"PT", b"EUR"),
    (b"CH", b"CHF"),
    (b"CA", b"CAD"),
    (b"JP", b"JPY"),
    (b"BR", b"BRL"),
];

/// Common merchant categories: groceries, restaurants, fuel, fast food,
/// department stores, transit, hotels, airlines, electronics, pharmacies.
const MCCS: [u16; 10] = [5411, 5812, 5541, 5814, 5311, 4111, 7011, 4511, 5732, 5912];

/// Makes transactions one at a time, card after card, each card's in time
/// order: the layout of a per-card ledger, in which the rule needs only a
/// record and the next.
struct Generator {
    rng: Pcg64Mcg,
    /// The first record of the pair to plant.
    planted: Option<u64>,
    /// The last transaction made, if any.
    last: Option<Transaction>,
    /// The index of the next one.
    next_id: u64,
    /// Cards begun so far.
    cards: u32,
    /// Transactions the current card has still to make.
    left: u32,
    /// The country the current card's holder lives in, and is in now.
    home: usize,
    here: usize,
}

impl Generator {
    fn new(planted: Option<u64>) -> Generator {
        Generator {
            rng: Pcg64Mcg::new(SEED),
            planted,
            last: None,
            next_id: 0,
            cards: 0,
            left: 0,
            home: 0,
            here: 0,
        }
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u32) -> u32 {
        ((u64::from(self.rng.next_u32()) * u64::from(n)) >> 32) as u32
    }

    /// One chance in `n`.
    fn one_in(&mut self, n: u32) -> bool {
        self.below(n) == 0
    }

    /// A country other than `not`.
    fn other_country(&mut self, not: usize) -> usize {
        (not + 1 + self.below(COUNTRIES.len() as u32 - 1) as usize) % COUNTRIES.len()
    }

    /// The next transaction. It fails only if the rule would fire anywhere
    /// but at the planted pair: a bug in this generator, never a result.
    fn next(&mut self) -> anyhow::Result<Transaction> {
        let id = self.next_id;
        self.next_id += 1;
        let fraud = self.planted.is_some_and(|p| id == p + 1);
        let (card, mut time) = match self.last {
            // The planted pair's second half: the same card, whoever holds
            // the last one (it may have been its card's last).
            Some(last) if fraud => (last.card, last.time),
            Some(last) if self.left > 0 => (last.card, last.time),
            _ => {
                // A new card: odd multiplier, so every card number is new.
                self.cards += 1;
                self.left = 5 + self.below(70);
                self.home = self.below(COUNTRIES.len() as u32) as usize;
                self.here = self.home;
                (self.cards.wrapping_mul(0x9e37_79b1), self.below(72 * HOUR))
            }
        };
        if !fraud {
            self.left -= 1;
        }
        let channel = match self.below(100) {
            _ if fraud || self.planted == Some(id) => IN_PERSON,
            0..70 => IN_PERSON,
            70..75 => ATM,
            _ => ONLINE,
        };
        // Now and then the holder travels, and shops where they are.
        if channel != ONLINE && self.one_in(40) {
            self.here = self.other_country(self.here);
        }
        let country = match (fraud, channel) {
            // The copy of the card, used abroad while the holder is at home.
            (true, _) => self.other_country(self.last.map_or(0, |l| {
                COUNTRIES
                    .iter()
                    .position(|c| *c.0 == l.country)
                    .unwrap_or(0)
            })),
            (false, ONLINE) if self.one_in(5) => {
                self.below(COUNTRIES.len() as u32) as usize
            }
            (false, ONLINE) => self.home,
            (false, _) => self.here,
        };
        // Mostly hours apart; now and then a burst of seconds (a second
        // coffee, a split bill).
        time += match fraud || self.one_in(10) {
            true => 5 + self.below(50),
            false => 10 * 60 + self.below(36 * HOUR),
        };
        let mcc = match channel {
            ATM => 6011,
            _ => MCCS[self.below(MCCS.len() as u32) as usize],
        };
        // Cents: from a euro to a few thousand, most purchases small.
        let magnitude = 8 + self.below(12);
        let amount_cents = 100 + self.below(1 << magnitude);
        let mut t = Transaction {
            id,
            time,
            card,
            merchant: self.below(250_000),
            amount_cents,
            mcc,
            country: *COUNTRIES[country].0,
            currency: *COUNTRIES[country].1,
            channel,
        };
        if let Some(last) = self.last {
            // The promise: the rule fires at the planted pair and nowhere
            // else. A chance match (a burst right after a border crossing)
            // is moved a few hours on: the holder took a train.
            if !fraud && suspicious(&last, &t) {
                t.time = last.time + 3 * HOUR + self.below(HOUR);
            }
            if suspicious(&last, &t) != fraud {
                bail!("the generator broke its rule at transaction {id}: a bug");
            }
        }
        self.last = Some(t);
        Ok(t)
    }
}

/// What a fraud scan found and how big its data was: the `scan` part of a
/// flag program's report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Scan {
    /// Transactions scanned.
    pub transactions: u64,
    /// Bytes of the file: `transactions` times [`RECORD`].
    pub bytes: u64,
    /// Nanoseconds the parent took to generate, write and seal them, once,
    /// before any worker started: not part of any scan's time.
    pub generate_ns: u64,
    /// The first record of the planted pair, if one was planted.
    pub planted: Option<u64>,
    /// The pair found, if any: the planted one, or the run fails.
    pub found: Option<[Transaction; 2]>,
}

impl Scan {
    /// What `data` is and what a scan found in it.
    pub fn of(set: &Dataset, found: Option<u64>) -> Scan {
        Scan {
            transactions: set.data.len(),
            bytes: set.data.len() * RECORD as u64,
            generate_ns: set.generate_ns,
            planted: set.planted,
            found: found.map(|k| [set.data.get(k), set.data.get(k + 1)]),
        }
    }

    /// The report's opening lines: what was scanned, by whom, and what was
    /// found.
    pub fn story(&self, workers: usize, check_every: u64, flag: &str) -> String {
        let mut s = format!(
            "Scanning {} card transactions ({} MB, generated in {}) for a card used\n\
             in person in two countries less than {WINDOW_S} s apart. {workers} worker \
             processes check\neach its own slice of adjacent pairs, looking at the stop \
             flag every {check_every} pairs.\nThe flag: {flag}.\n\n",
            self.transactions,
            self.bytes / 1_000_000,
            crate::report::human_ns(self.generate_ns as f64),
        );
        match &self.found {
            Some([a, b]) => {
                s += &format!(
                    "Found: card {:08x} at transactions {} and {}:\n",
                    a.card, a.id, b.id
                );
                for t in [a, b] {
                    s += &format!(
                        "  {}  {}  {} {}.{:02}  {}\n",
                        when(t.time),
                        String::from_utf8_lossy(&t.country),
                        String::from_utf8_lossy(&t.currency),
                        t.amount_cents / 100,
                        t.amount_cents % 100,
                        if t.channel == ATM {
                            "cash machine"
                        } else {
                            "in person"
                        },
                    );
                }
                s += "\n";
            }
            None => {
                s += "Nothing suspicious. Every look at the flag was overhead.\n\n"
            }
        }
        s
    }

    /// Fails unless `found` is where the pair was planted (or nothing, where
    /// none was): a scan that gets it wrong is a bug, never a result.
    pub fn confirm(planted: Option<u64>, found: Option<u64>) -> anyhow::Result<()> {
        ensure!(
            found == planted,
            "found a pair at {found:?} but it was planted at {planted:?}: a bug"
        );
        Ok(())
    }
}

/// A country's or currency's letters as text in JSON (`"DE"`), not as
/// numbers.
mod code {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer, const N: usize>(
        code: &[u8; N],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(&String::from_utf8_lossy(code))
    }

    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<[u8; N], D::Error> {
        let text = String::deserialize(d)?;
        (text.as_bytes().try_into())
            .map_err(|_| D::Error::custom(format!("{text:?} is not {N} letters")))
    }
}

/// "day 3, 14:05:09": seconds since the start of the period.
fn when(s: u32) -> String {
    let (day, s) = (s / 86_400, s % 86_400);
    format!(
        "day {:>2}, {:02}:{:02}:{:02}",
        day + 1,
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_letters_in_json() {
        let t = generate(10, Case::Prime).unwrap().data.get(3);
        let json = serde_json::to_value(t).unwrap();
        assert_eq!(json["country"].as_str().unwrap().len(), 2, "{json}");
        assert_eq!(serde_json::from_value::<Transaction>(json).unwrap(), t);
    }

    #[test]
    fn a_record_reads_back_as_written() {
        let t = Transaction {
            id: 1 << 40,
            time: 123_456,
            card: 0xdead_beef,
            merchant: 77,
            amount_cents: 1999,
            mcc: 5411,
            country: *b"PT",
            currency: *b"EUR",
            channel: ATM,
        };
        let mut r = [0u8; RECORD];
        t.write(&mut r);
        assert_eq!(Transaction::read(&r), t);
    }

    #[test]
    fn the_rule_needs_every_one_of_its_parts() {
        let a = Transaction {
            id: 0,
            time: 1000,
            card: 7,
            merchant: 1,
            amount_cents: 500,
            mcc: 5411,
            country: *b"FR",
            currency: *b"EUR",
            channel: IN_PERSON,
        };
        let b = Transaction {
            id: 1,
            time: 1000 + WINDOW_S - 1,
            country: *b"PT",
            channel: ATM,
            ..a
        };
        assert!(suspicious(&a, &b));
        assert!(!suspicious(&a, &Transaction { card: 8, ..b }));
        assert!(!suspicious(
            &a,
            &Transaction {
                country: a.country,
                ..b
            }
        ));
        assert!(!suspicious(
            &a,
            &Transaction {
                time: 1000 + WINDOW_S,
                ..b
            }
        ));
        assert!(!suspicious(
            &a,
            &Transaction {
                channel: ONLINE,
                ..b
            }
        ));
        assert!(!suspicious(
            &Transaction {
                channel: ONLINE,
                ..a
            },
            &b
        ));
    }

    /// Every case, at sizes that put the planted pair at a card's start, in
    /// its middle, near the end: the rule fires at the planted pair and
    /// nowhere else.
    #[test]
    fn the_pattern_is_where_it_was_planted_and_nowhere_else() {
        for records in [2, 3, 1000, 10_007, 250_000] {
            for case in Case::ALL {
                let set = generate(records, case).unwrap();
                let expected: Vec<u64> = set.planted.into_iter().collect();
                assert_eq!(
                    all_suspicious(&set.data),
                    expected,
                    "{records} {case:?}"
                );
            }
        }
    }

    #[test]
    fn every_run_generates_the_same_bytes() {
        let (a, b) = (generate(5000, Case::Mid), generate(5000, Case::Mid));
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.data.map[..], b.data.map[..]);
        // And the data looks like a ledger: many cards, several countries,
        // every channel, each card's transactions in time order.
        let all: Vec<Transaction> =
            (0..a.data.len()).map(|k| a.data.get(k)).collect();
        let cards: std::collections::BTreeSet<u32> =
            all.iter().map(|t| t.card).collect();
        let countries: std::collections::BTreeSet<[u8; 2]> =
            all.iter().map(|t| t.country).collect();
        assert!(cards.len() > 50 && countries.len() == COUNTRIES.len());
        assert!(
            [IN_PERSON, ONLINE, ATM]
                .iter()
                .all(|c| all.iter().any(|t| t.channel == *c))
        );
        for w in all.windows(2) {
            assert!(w[0].card != w[1].card || w[0].time <= w[1].time, "{w:?}");
        }
    }

    #[test]
    fn the_cases_plant_where_the_divisor_cases_put_their_factor() {
        assert_eq!(planted(Case::Prime, 1001), None);
        assert_eq!(planted(Case::Early, 1001), Some(550));
        assert_eq!(planted(Case::Mid, 1001), Some(750));
        assert_eq!(planted(Case::Late, 1001), Some(950));
    }

    #[test]
    fn find_goes_round_and_finds_the_first_pair_of_its_range() {
        let set = generate(10_000, Case::Early).unwrap();
        let p = set.planted.unwrap();
        let data = &set.data;
        assert_eq!(data.find(0..data.pairs(), data.pairs()), Some((p, p)));
        assert_eq!(data.find(p + 1..data.pairs(), data.pairs()), None);
        // Round and round the pairs before the planted one: never found.
        assert_eq!(data.find(0..10 * p, p), None);
        // Round the whole file: found on the second lap.
        let pairs = data.pairs();
        assert_eq!(data.find(p + 1..pairs + p + 1, pairs), Some((pairs + p, p)));
    }

    #[test]
    fn only_the_sealed_file_of_the_right_size_is_mapped() {
        let set = generate(100, Case::Prime).unwrap();
        assert!(Transactions::open(set.fd.as_fd(), 100).is_ok());
        assert!(Transactions::open(set.fd.as_fd(), 99).is_err());
        let unsealed = memory_file(100).unwrap();
        assert!(Transactions::open(unsealed.as_fd(), 100).is_err());
        // Sealed means sealed: not even this process can write or shrink it.
        let file = std::fs::File::from(set.fd.try_clone().unwrap());
        assert!(file.set_len(0).is_err());
        assert!((&file).write_all(b"x").is_err());
    }
}
