//! The CPU kernel: one *unit* is a fixed number of dependent integer mixing
//! steps, so its cost is the same on every model and every core.
//!
//! The chain is latency-bound (each step needs the previous result) and touches
//! no memory, so it scales with cores without memory-bandwidth effects, and it
//! runs at nearly full speed on both hyperthreads of one physical core.
//! `black_box` after every unit stops the compiler from folding the loop.

use std::hint::black_box;

/// Mixing steps in one unit of work (3.5 µs on the 2-vCPU EPYC VM, 5.4 µs on the 16-vCPU Xeon VM: 288 and 186 units/ms).
pub const ITERS_PER_UNIT: u32 = 1024;

/// One step of the splitmix64 finaliser: a bijection on `u64` with good avalanche.
#[inline(always)]
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Does `units` units of work starting from `seed` and returns a value that
/// depends on every step. Zero units return the seed unchanged.
pub fn work(seed: u64, units: u64) -> u64 {
    let mut x = seed;
    for _ in 0..units {
        for _ in 0..ITERS_PER_UNIT {
            x = mix(x);
        }
        x = black_box(x);
    }
    x
}

/// The seed of task `index` in a run seeded with `run_seed`: distinct tasks
/// get unrelated seeds, so a model that skipped or repeated one would be caught
/// by the checksum.
pub fn task_seed(run_seed: u64, index: u64) -> u64 {
    mix(mix(run_seed) ^ index.wrapping_mul(0xD6E8_FEB8_6659_FD93))
}

/// A small deterministic generator (splitmix64) for seeded draws in this crate.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix(u64);

impl SplitMix {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1]: never zero, so it can be raised to a negative power.
    pub(crate) fn next_open01(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_is_deterministic_and_depends_on_units_and_seed() {
        assert_eq!(work(7, 3), work(7, 3));
        assert_ne!(work(7, 3), work(7, 4));
        assert_ne!(work(7, 3), work(8, 3));
        assert_eq!(work(7, 0), 7);
    }

    #[test]
    fn work_composes_unit_by_unit() {
        // Doing 2 units then 3 more equals doing 5: a unit is a fixed step.
        assert_eq!(work(work(11, 2), 3), work(11, 5));
    }

    #[test]
    fn task_seeds_are_distinct() {
        let seeds: std::collections::HashSet<u64> = (0..10_000).map(|i| task_seed(42, i)).collect();
        assert_eq!(seeds.len(), 10_000);
    }

    #[test]
    fn open01_stays_in_range() {
        let mut r = SplitMix::new(1);
        for _ in 0..10_000 {
            let u = r.next_open01();
            assert!(u > 0.0 && u <= 1.0);
        }
    }
}
