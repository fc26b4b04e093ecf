//! The prime test every chapter uses as its unit of work.
//!
//! Trial division, as in the source text: cheap for most numbers, expensive for
//! primes (about √n / 2 divisions), so the cost of a task is set by the size of
//! the numbers it checks.

/// Is `n` prime? Trial division by 2 and by odd numbers up to √n.
pub fn is_prime(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    if n.is_multiple_of(2) {
        return n == 2;
    }
    let mut d = 3;
    // `d <= n / d` is `d * d <= n` without overflow near u64::MAX.
    while d <= n / d {
        if n.is_multiple_of(d) {
            return false;
        }
        d += 2;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_numbers() {
        let primes: Vec<u64> = (0..30).filter(|&n| is_prime(n)).collect();
        assert_eq!(primes, [2, 3, 5, 7, 11, 13, 17, 19, 23, 29]);
    }

    #[test]
    fn the_texts_range_has_fifteen_primes() {
        let primes: Vec<u64> = (100_000..100_200).filter(|&n| is_prime(n)).collect();
        assert_eq!(primes.len(), 15);
        assert_eq!(primes[0], 100_003);
        assert_eq!(primes[14], 100_193);
    }

    #[test]
    fn squares_of_primes_and_large_values() {
        assert!(!is_prime(1_000_003 * 1_000_003));
        assert!(is_prime(1_000_003));
        assert!(is_prime(4_294_967_291)); // largest prime below 2^32
        assert!(!is_prime(u64::MAX)); // divisible by 3
    }
}
