//! Checksums that prove two models did the same work.
//!
//! A checksum is the wrapping sum of the results of every task plus the number
//! of tasks: the sum is independent of the order in which tasks finish (so a
//! parallel model can combine partial sums in any order), yet a skipped,
//! repeated or altered task changes it.

use serde::{Deserialize, Serialize};

/// An order-independent digest of a set of task results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checksum {
    /// Wrapping sum of the task results.
    pub sum: u64,
    /// How many task results went in.
    pub count: u64,
}

impl Checksum {
    /// Adds one task's result.
    pub fn add(&mut self, result: u64) {
        self.sum = self.sum.wrapping_add(result);
        self.count += 1;
    }

    /// Combines two partial checksums (for example one per worker).
    pub fn merge(self, other: Checksum) -> Checksum {
        Checksum {
            sum: self.sum.wrapping_add(other.sum),
            count: self.count + other.count,
        }
    }

    /// One `u64` for records: the sum mixed with the count.
    pub fn digest(&self) -> u64 {
        self.sum ^ self.count.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    /// The digest as it is written in records: `0x` and 16 hex digits.
    pub fn hex(&self) -> String {
        format!("{:#018x}", self.digest())
    }
}

impl FromIterator<u64> for Checksum {
    fn from_iter<I: IntoIterator<Item = u64>>(iter: I) -> Self {
        let mut c = Checksum::default();
        for r in iter {
            c.add(r);
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_does_not_matter_but_content_does() {
        let a: Checksum = [1u64, 2, 3].into_iter().collect();
        let b: Checksum = [3u64, 1, 2].into_iter().collect();
        let c: Checksum = [1u64, 2, 3, 3].into_iter().collect();
        assert_eq!(a, b);
        assert_ne!(a.digest(), c.digest());
    }

    #[test]
    fn merge_equals_adding_everything() {
        let whole: Checksum = (0..100u64).map(|i| i * 7919).collect();
        let left: Checksum = (0..40u64).map(|i| i * 7919).collect();
        let right: Checksum = (40..100u64).map(|i| i * 7919).collect();
        assert_eq!(left.merge(right), whole);
    }

    #[test]
    fn hex_is_fixed_width() {
        assert_eq!(Checksum::default().hex().len(), 18);
    }
}
