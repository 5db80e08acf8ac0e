//! The kitchen of the seed notes: Jarvis the cooking robot gets orders for
//! ramen, fried rice and spicy pork (jeyuk bokkeum).
//!
//! Every dish is a fixed sequence of steps. A *prep* step is work for the cook
//! (CPU: chopping, stirring), done with the kernel; a *cook* step is waiting
//! (the water boils by itself), done by sleeping. Waiting overlaps with other
//! orders only if the model waits asynchronously, which is the point of C1;
//! prep work overlaps only across cores, which is the point of C3 and C4.
//!
//! The menu is in milliseconds. A [`KitchenPlan`] turns prep milliseconds into
//! kernel units with the machine's calibration (units per millisecond), which
//! the harness measures and the record keeps, so every model gets the same
//! units and the same checksum.

use crate::Checksum;
use crate::kernel::{task_seed, work};

/// What a step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    /// Work for the cook: CPU time.
    Prep,
    /// Waiting for the stove: no CPU needed.
    Cook,
}

/// One step of a dish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// What the step does, for display.
    pub name: &'static str,
    /// Prep (CPU) or cook (wait).
    pub kind: StepKind,
    /// How long it takes, in milliseconds.
    pub ms: u32,
}

/// A dish: a name and its steps, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dish {
    /// The dish's name.
    pub name: &'static str,
    /// Its steps, done in this order.
    pub steps: &'static [Step],
}

const fn prep(name: &'static str, ms: u32) -> Step {
    Step {
        name,
        kind: StepKind::Prep,
        ms,
    }
}

const fn cook(name: &'static str, ms: u32) -> Step {
    Step {
        name,
        kind: StepKind::Cook,
        ms,
    }
}

/// The menu: about a tenth of every dish is the cook's own work, the rest is waiting.
pub const MENU: [Dish; 3] = [
    Dish {
        name: "ramen",
        steps: &[
            cook("boil water", 30),
            prep("add soup base", 1),
            prep("add noodles", 1),
            cook("simmer noodles", 20),
        ],
    },
    Dish {
        name: "fried rice",
        steps: &[
            prep("chop vegetables", 2),
            cook("heat the pan", 10),
            prep("stir-fry the rice", 2),
            cook("fry until crisp", 15),
        ],
    },
    Dish {
        name: "spicy pork",
        steps: &[
            prep("slice the pork", 2),
            prep("mix the sauce", 1),
            cook("marinate", 25),
            prep("stir-fry the pork", 1),
            cook("braise", 15),
        ],
    },
];

impl Dish {
    /// Total milliseconds of the dish when cooked alone.
    pub fn total_ms(&self) -> u32 {
        self.steps.iter().map(|s| s.ms).sum()
    }

    /// Milliseconds of prep (CPU) in the dish.
    pub fn prep_ms(&self) -> u32 {
        self.steps
            .iter()
            .filter(|s| s.kind == StepKind::Prep)
            .map(|s| s.ms)
            .sum()
    }
}

/// One order: which dish, and its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Order {
    /// Position of the order, from 0.
    pub id: usize,
    /// Index of the dish in [`MENU`].
    pub dish: usize,
}

/// What a model does for one step of an order, with the work resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Run the kernel for `units` from `seed` and add the result to the checksum.
    Prep {
        /// Kernel units.
        units: u64,
        /// Seed of this step's work.
        seed: u64,
    },
    /// Wait for `ms` milliseconds without using the CPU.
    Wait {
        /// Milliseconds to wait.
        ms: u32,
    },
}

impl Action {
    /// Does a prep action's work and returns its result (for the checksum);
    /// `None` for a wait, which the model must do its own way.
    pub fn run_prep(&self) -> Option<u64> {
        match *self {
            Action::Prep { units, seed } => Some(work(seed, units)),
            Action::Wait { .. } => None,
        }
    }
}

/// A set of orders with the machine's calibration applied.
#[derive(Debug, Clone, PartialEq)]
pub struct KitchenPlan {
    /// The orders, in arrival order.
    pub orders: Vec<Order>,
    /// Kernel units per millisecond of prep.
    pub units_per_ms: f64,
    /// Seed of the run.
    pub seed: u64,
}

impl KitchenPlan {
    /// Draws `n` orders from the menu: each group of three holds one of each
    /// dish in a seeded order, so any `n` is as balanced as it can be.
    pub fn new(n: usize, units_per_ms: f64, seed: u64) -> KitchenPlan {
        let orders = (0..n)
            .map(|id| {
                let group = (id / MENU.len()) as u64;
                let rot = (task_seed(seed, group) % MENU.len() as u64) as usize;
                Order {
                    id,
                    dish: (id % MENU.len() + rot) % MENU.len(),
                }
            })
            .collect();
        KitchenPlan {
            orders,
            units_per_ms,
            seed,
        }
    }

    /// The dish of order `i`.
    pub fn dish(&self, i: usize) -> &'static Dish {
        &MENU[self.orders[i].dish]
    }

    /// The actions of order `i`, in order.
    pub fn actions(&self, i: usize) -> Vec<Action> {
        self.dish(i)
            .steps
            .iter()
            .enumerate()
            .map(|(s, step)| match step.kind {
                StepKind::Prep => Action::Prep {
                    units: (f64::from(step.ms) * self.units_per_ms).round() as u64,
                    seed: task_seed(self.seed, (i as u64) << 8 | s as u64),
                },
                StepKind::Cook => Action::Wait { ms: step.ms },
            })
            .collect()
    }

    /// Cooks order `i` synchronously, calling `wait` for every cook step;
    /// returns the checksum of its prep work.
    pub fn cook_blocking(&self, i: usize, mut wait: impl FnMut(u32)) -> Checksum {
        let mut sum = Checksum::default();
        for a in self.actions(i) {
            match a {
                Action::Prep { .. } => sum.add(a.run_prep().unwrap_or_default()),
                Action::Wait { ms } => wait(ms),
            }
        }
        sum
    }

    /// The checksum of all prep work of all orders (what every model must report).
    pub fn expected_checksum(&self) -> Checksum {
        (0..self.orders.len()).fold(Checksum::default(), |c, i| {
            c.merge(self.cook_blocking(i, |_| ()))
        })
    }

    /// Milliseconds of the longest single order: the best any model can do.
    pub fn longest_order_ms(&self) -> u32 {
        (0..self.orders.len())
            .map(|i| self.dish(i).total_ms())
            .max()
            .unwrap_or(0)
    }

    /// Milliseconds of all orders one after the other: what a sequential cook takes.
    pub fn sum_ms(&self) -> u64 {
        (0..self.orders.len())
            .map(|i| u64::from(self.dish(i).total_ms()))
            .sum()
    }

    /// Milliseconds of prep (CPU) in all orders: what `n` cores need at least, divided by `n`.
    pub fn total_prep_ms(&self) -> u64 {
        (0..self.orders.len())
            .map(|i| u64::from(self.dish(i).prep_ms()))
            .sum()
    }

    /// Lower bound on the makespan with `cores` cores and unlimited overlap of waiting.
    pub fn ideal_makespan_ms(&self, cores: usize) -> f64 {
        let cpu = self.total_prep_ms() as f64 / cores.max(1) as f64;
        cpu.max(f64::from(self.longest_order_ms()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn menu_is_mostly_waiting() {
        for d in MENU {
            assert!(d.prep_ms() * 5 < d.total_ms(), "{} is too busy", d.name);
        }
        assert_eq!(MENU[0].total_ms(), 52);
    }

    #[test]
    fn three_orders_are_one_of_each_dish() {
        let p = KitchenPlan::new(3, 10.0, 42);
        let mut dishes: Vec<usize> = p.orders.iter().map(|o| o.dish).collect();
        dishes.sort();
        assert_eq!(dishes, vec![0, 1, 2]);
        assert_eq!(p.longest_order_ms(), 52);
        assert_eq!(p.sum_ms(), 52 + 29 + 44);
    }

    #[test]
    fn three_hundred_orders_are_balanced() {
        let p = KitchenPlan::new(300, 10.0, 7);
        for d in 0..3 {
            assert_eq!(p.orders.iter().filter(|o| o.dish == d).count(), 100);
        }
        assert_eq!(p.total_prep_ms(), 100 * (2 + 4 + 4));
    }

    #[test]
    fn prep_units_follow_the_calibration() {
        let p = KitchenPlan::new(1, 100.0, 1);
        let units: u64 = p
            .actions(0)
            .iter()
            .filter_map(|a| match a {
                Action::Prep { units, .. } => Some(*units),
                Action::Wait { .. } => None,
            })
            .sum();
        assert_eq!(units, u64::from(p.dish(0).prep_ms()) * 100);
    }

    #[test]
    fn cooking_waits_for_every_cook_step_and_checksums_prep() {
        let p = KitchenPlan::new(3, 2.0, 5);
        let mut waited = 0;
        let sum = (0..3).fold(Checksum::default(), |c, i| {
            c.merge(p.cook_blocking(i, |ms| waited += ms))
        });
        assert_eq!(u64::from(waited), p.sum_ms() - p.total_prep_ms());
        assert_eq!(sum, p.expected_checksum());
        assert_ne!(sum, KitchenPlan::new(3, 3.0, 5).expected_checksum());
    }
}
