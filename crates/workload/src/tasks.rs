//! How a fixed amount of CPU work is split into tasks.
//!
//! A [`TaskPlan`] is a list of task sizes, in units of the kernel, that always
//! adds up to exactly the requested total, so every model and every split does
//! the same work and produces the same checksum.
//!
//! - [`Dist::Balanced`]: every task the same size (the remainder spread one
//!   unit at a time over the first tasks).
//! - [`Dist::Skewed`]: sizes drawn from a Pareto law (shape
//!   [`SKEW_ALPHA`], seeded, capped at [`SKEW_CAP`] times the smallest), the
//!   heavy tail that real request costs and image rows have. Splitting such a
//!   list into one contiguous block per core leaves some cores with far more
//!   work than others, and the more cores, the fewer draws each block averages
//!   over; dynamic scheduling (a shared queue, work stealing) does not care.

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};

use crate::Checksum;
use crate::kernel::{SplitMix, task_seed, work};

/// Shape of the Pareto law of skewed task sizes (smaller is heavier-tailed).
pub const SKEW_ALPHA: f64 = 1.1;
/// The largest skewed weight, as a multiple of the smallest possible one.
pub const SKEW_CAP: f64 = 64.0;

/// A task-size distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dist {
    /// All tasks the same size.
    Balanced,
    /// Heavy-tailed sizes (Pareto, seeded).
    Skewed,
}

impl Dist {
    /// Every distribution, in the order experiments run them.
    pub const ALL: [Dist; 2] = [Dist::Balanced, Dist::Skewed];

    /// The name used in records and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Dist::Balanced => "balanced",
            Dist::Skewed => "skewed",
        }
    }
}

/// The work of one run: how many units each task does, and the seed that
/// makes each task's result distinct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskPlan {
    /// Units of work per task; the sum is the total requested.
    pub sizes: Vec<u64>,
    /// The run seed that every task's seed derives from.
    pub seed: u64,
}

impl TaskPlan {
    /// Splits `total_units` into `tasks` tasks drawn from `dist`.
    ///
    /// Every task gets at least one unit when `total_units >= tasks`.
    ///
    /// # Panics
    ///
    /// If `tasks` is zero (callers validate their flags first).
    pub fn new(dist: Dist, tasks: usize, total_units: u64, seed: u64) -> TaskPlan {
        assert!(tasks > 0, "a task plan needs at least one task");
        let sizes = match dist {
            Dist::Balanced => {
                let base = total_units / tasks as u64;
                let extra = (total_units % tasks as u64) as usize;
                (0..tasks).map(|i| base + u64::from(i < extra)).collect()
            }
            Dist::Skewed => {
                let mut rng = SplitMix::new(seed ^ 0x5EED_5EED);
                let weights: Vec<f64> = (0..tasks)
                    .map(|_| rng.next_open01().powf(-1.0 / SKEW_ALPHA).min(SKEW_CAP))
                    .collect();
                apportion(&weights, total_units)
            }
        };
        TaskPlan { sizes, seed }
    }

    /// Number of tasks.
    pub fn len(&self) -> usize {
        self.sizes.len()
    }

    /// True when the plan has no tasks (never, for plans made by [`TaskPlan::new`]).
    pub fn is_empty(&self) -> bool {
        self.sizes.is_empty()
    }

    /// Total units of work in the plan.
    pub fn total_units(&self) -> u64 {
        self.sizes.iter().sum()
    }

    /// Runs task `index` and returns its result, for the checksum.
    pub fn run_task(&self, index: usize) -> u64 {
        work(task_seed(self.seed, index as u64), self.sizes[index])
    }

    /// Claims the next task for a worker of a dynamic split: the index that
    /// `next`, a counter shared by the workers, held (every index is claimed
    /// exactly once), or `None` when every task is taken.
    pub fn claim(&self, next: &AtomicUsize) -> Option<usize> {
        let i = next.fetch_add(1, Ordering::Relaxed);
        (i < self.len()).then_some(i)
    }

    /// Runs the tasks in `range` one after the other and returns their checksum.
    pub fn run_range(&self, range: Range<usize>) -> Checksum {
        range.map(|i| self.run_task(i)).collect()
    }

    /// The checksum every model must reproduce (does all the work, sequentially).
    pub fn expected_checksum(&self) -> Checksum {
        self.run_range(0..self.len())
    }

    /// Splits the task indices into `parts` contiguous blocks of (nearly) equal
    /// task *count*, as a static split does: it knows how many tasks there
    /// are, not how heavy each one is.
    pub fn static_blocks(&self, parts: usize) -> Vec<Range<usize>> {
        let n = self.len();
        let parts = parts.max(1);
        (0..parts)
            .map(|p| (p * n / parts)..((p + 1) * n / parts))
            .collect()
    }

    /// The best efficiency a static split into `parts` blocks can reach: the
    /// mean block's units over the heaviest block's units.
    pub fn static_split_bound(&self, parts: usize) -> f64 {
        let blocks = self.static_blocks(parts);
        let heaviest = blocks
            .iter()
            .map(|r| self.sizes[r.clone()].iter().sum::<u64>())
            .max()
            .unwrap_or(0);
        if heaviest == 0 {
            return 1.0;
        }
        self.total_units() as f64 / parts.max(1) as f64 / heaviest as f64
    }

    /// The largest task's units over the mean task's units.
    pub fn max_over_mean(&self) -> f64 {
        let max = self.sizes.iter().copied().max().unwrap_or(0) as f64;
        let mean = self.total_units() as f64 / self.len().max(1) as f64;
        if mean == 0.0 { 0.0 } else { max / mean }
    }
}

/// Scales `weights` to whole units that add up to exactly `total`, each at
/// least one unit while the total allows it (largest-remainder rounding).
fn apportion(weights: &[f64], total: u64) -> Vec<u64> {
    let n = weights.len() as u64;
    let floor_each = u64::from(total >= n);
    let spread = total - floor_each * n;
    let sum: f64 = weights.iter().sum();
    let exact: Vec<f64> = weights.iter().map(|w| w / sum * spread as f64).collect();
    let mut sizes: Vec<u64> = exact.iter().map(|e| e.floor() as u64).collect();
    let mut left = spread - sizes.iter().sum::<u64>();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| {
        let ra = exact[a] - exact[a].floor();
        let rb = exact[b] - exact[b].floor();
        rb.total_cmp(&ra).then(a.cmp(&b))
    });
    for &i in order.iter().cycle() {
        if left == 0 {
            break;
        }
        sizes[i] += 1;
        left -= 1;
    }
    sizes.iter_mut().for_each(|s| *s += floor_each);
    sizes
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cv(plan: &TaskPlan) -> f64 {
        let n = plan.len() as f64;
        let mean = plan.total_units() as f64 / n;
        let var = plan
            .sizes
            .iter()
            .map(|&s| (s as f64 - mean).powi(2))
            .sum::<f64>()
            / n;
        var.sqrt() / mean
    }

    #[test]
    fn every_task_is_claimed_once() {
        let plan = TaskPlan::new(Dist::Balanced, 3, 30, 1);
        let next = AtomicUsize::new(0);
        let claimed: Vec<_> = std::iter::from_fn(|| plan.claim(&next)).collect();
        assert_eq!(claimed, [0, 1, 2]);
        assert_eq!(plan.claim(&next), None);
    }

    #[test]
    fn balanced_is_flat() {
        let p = TaskPlan::new(Dist::Balanced, 1024, 1_000_000, 42);
        assert_eq!(p.total_units(), 1_000_000);
        assert!(p.max_over_mean() < 1.01);
        assert!(cv(&p) < 0.01);
        assert!(p.static_split_bound(16) > 0.99);
    }

    #[test]
    fn skewed_has_the_intended_mean_and_a_heavy_tail() {
        let p = TaskPlan::new(Dist::Skewed, 1024, 1_000_000, 42);
        // The mean is exact: the same total work as the balanced plan.
        assert_eq!(p.total_units(), 1_000_000);
        // Heavy tail: the biggest task is many times the mean, sizes vary more than they average.
        assert!(p.max_over_mean() > 8.0, "max/mean {}", p.max_over_mean());
        assert!(cv(&p) > 1.0, "cv {}", cv(&p));
        // A static split into 16 blocks is visibly unbalanced...
        assert!(
            p.static_split_bound(16) < 0.85,
            "bound {}",
            p.static_split_bound(16)
        );
        // ...yet no single task is too big for dynamic scheduling to even out.
        let per_core = p.total_units() as f64 / 16.0;
        assert!((*p.sizes.iter().max().unwrap() as f64) < 0.25 * per_core);
    }

    #[test]
    fn skew_depends_on_the_seed_only() {
        let a = TaskPlan::new(Dist::Skewed, 256, 50_000, 1);
        let b = TaskPlan::new(Dist::Skewed, 256, 50_000, 1);
        let c = TaskPlan::new(Dist::Skewed, 256, 50_000, 2);
        assert_eq!(a, b);
        assert_ne!(a.sizes, c.sizes);
    }

    #[test]
    fn checksums_are_stable_and_distinct_per_work_amount() {
        let a = TaskPlan::new(Dist::Balanced, 8, 40, 42).expected_checksum();
        let again = TaskPlan::new(Dist::Balanced, 8, 40, 42).expected_checksum();
        let more = TaskPlan::new(Dist::Balanced, 8, 41, 42).expected_checksum();
        let other_split = TaskPlan::new(Dist::Skewed, 8, 40, 42).expected_checksum();
        assert_eq!(a, again);
        assert_ne!(a.digest(), more.digest());
        assert_ne!(a.digest(), other_split.digest());
    }

    #[test]
    fn blocks_cover_every_task_once() {
        let p = TaskPlan::new(Dist::Balanced, 10, 100, 0);
        let blocks = p.static_blocks(3);
        let covered: Vec<usize> = blocks.into_iter().flatten().collect();
        assert_eq!(covered, (0..10).collect::<Vec<_>>());
        let sum = p
            .static_blocks(4)
            .into_iter()
            .fold(Checksum::default(), |c, r| c.merge(p.run_range(r)));
        assert_eq!(sum, p.expected_checksum());
    }

    proptest! {
        #[test]
        fn plans_always_add_up(tasks in 1usize..300, total in 0u64..100_000, seed in any::<u64>(), skewed in any::<bool>()) {
            let dist = if skewed { Dist::Skewed } else { Dist::Balanced };
            let p = TaskPlan::new(dist, tasks, total, seed);
            prop_assert_eq!(p.len(), tasks);
            prop_assert_eq!(p.total_units(), total);
            if total >= tasks as u64 {
                prop_assert!(p.sizes.iter().all(|&s| s >= 1));
            }
        }
    }
}
