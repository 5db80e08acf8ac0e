//! Byte patterns for the `share` experiment: the producer fills a buffer with
//! a pattern that changes every round, the consumer reads every byte and
//! returns their sum, and the two sums must agree. A consumer that skipped
//! bytes, or a transport that lost or altered them, is caught; so is one that
//! returned last round's answer, because the pattern depends on the round.

/// Fills `buf` with a pattern that depends on `round`; returns the sum of its bytes.
pub fn fill(buf: &mut [u8], round: u64) -> u64 {
    let k = round as u8;
    let mut sum = 0u64;
    for (i, b) in buf.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(31).wrapping_add(k);
        sum += u64::from(*b);
    }
    sum
}

/// Reads every byte and returns their sum: the consumer's side of every `share` model.
pub fn sum(buf: &[u8]) -> u64 {
    buf.iter().map(|&b| u64::from(b)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sum_of_what_was_filled_is_what_fill_returned() {
        for len in [0usize, 1, 255, 256, 10_000] {
            let mut buf = vec![0u8; len];
            let want = fill(&mut buf, 7);
            assert_eq!(sum(&buf), want);
        }
    }

    #[test]
    fn the_pattern_changes_every_round() {
        let (mut a, mut b) = ([0u8; 100], [0u8; 100]);
        assert_ne!(fill(&mut a, 1), fill(&mut b, 2));
        assert_ne!(a, b);
    }
}
