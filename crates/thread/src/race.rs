//! `race`: N threads increment one shared counter M times each.
//!
//! Models:
//! - `fetch-add`: one atomic read-modify-write per increment: nothing is lost.
//! - `mutex`: lock, add, unlock: nothing is lost, at the cost of the lock.
//! - `load-store`: an atomic load, then an atomic store of the value plus one.
//!   Each access is atomic (so this is not undefined behaviour), but the
//!   read-modify-write as a whole is not: two threads that load the same value
//!   both store value + 1 and one increment is lost. This is exactly the
//!   unsynchronised `counter += 1` of the notes (C9).
//!
//! `lost_updates` = expected − final. Cost is wall time per increment over all threads.
//! `load-store` also counts `interleaved`: the increments whose load found a
//! value other than the thread's own last store — another thread wrote in
//! between, so the threads really did meet. A run whose threads never met
//! (on CPUs other programs keep busy they may run one after another) cannot
//! show the race, and C9 then says so instead of "does not hold".

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use harness::claims::c9;
use harness::cli::RaceArgs;
use harness::{Common, Outcome, Session, Verdict};

use crate::workers::timed_workers;

harness::models! {
    /// How the counter is incremented: the models of this experiment, in
    /// the order they run (the losing one last).
    pub enum Increment {
        /// `fetch_add`: one atomic read-modify-write.
        FetchAdd = "fetch-add",
        /// Lock, add, unlock.
        Mutex = "mutex",
        /// Atomic load, then atomic store of the value plus one: not atomic as a whole.
        LoadStore = "load-store",
    }
}

/// The models of this experiment, in the order they run (the losing one last).
pub const MODELS: &[Increment] = Increment::ALL;

/// The shared counter, one representation per model.
#[derive(Debug, Default)]
pub struct Counter {
    atomic: AtomicU64,
    locked: Mutex<u64>,
}

impl Counter {
    /// Adds one `times` times, the way `how` says, and returns how many
    /// loads of `load-store` found another thread's write since this
    /// thread's own last store (0 for the other models). One loop per model,
    /// so the hot loop holds nothing but the increment (and, for
    /// `load-store`, one comparison).
    pub fn add(&self, how: Increment, times: u64) -> u64 {
        match how {
            Increment::FetchAdd => {
                for _ in 0..times {
                    self.atomic.fetch_add(1, Ordering::Relaxed);
                }
                0
            }
            Increment::Mutex => {
                for _ in 0..times {
                    *self.locked.lock().unwrap_or_else(|e| e.into_inner()) += 1;
                }
                0
            }
            Increment::LoadStore => {
                let mut met = 0u64;
                let mut mine = u64::MAX;
                for _ in 0..times {
                    let v = self.atomic.load(Ordering::Relaxed);
                    met += u64::from(v != mine && mine != u64::MAX);
                    mine = v + 1;
                    self.atomic.store(mine, Ordering::Relaxed);
                }
                met
            }
        }
    }

    /// The final count.
    pub fn value(&self, how: Increment) -> u64 {
        match how {
            Increment::Mutex => *self.locked.lock().unwrap_or_else(|e| e.into_inner()),
            Increment::FetchAdd | Increment::LoadStore => self.atomic.load(Ordering::Relaxed),
        }
    }
}

/// What a race came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Raced {
    /// The final count.
    pub count: u64,
    /// Wall time of all increments.
    pub wall: std::time::Duration,
    /// Increments that found another thread's write (see [`Counter::add`]).
    pub interleaved: u64,
}

/// Runs `units` threads (pinned round-robin to `cpus`) adding `increments`
/// each.
pub fn race(
    how: Increment,
    units: usize,
    cpus: &[usize],
    increments: u64,
) -> anyhow::Result<Raced> {
    let counter = Counter::default();
    // With a CPU each, every thread waits (spinning) until all are running
    // before it starts adding: the increments take well under a millisecond,
    // and a thread that a busy machine woke late would otherwise find the
    // others done and race with nobody. Oversubscribed threads take turns on
    // the CPUs anyway, so they start as soon as they are released.
    let running = AtomicUsize::new(0);
    let rendezvous = !cpus.is_empty() && units <= cpus.len();
    let (met, wall) = timed_workers(units, cpus, |_| {
        if rendezvous {
            running.fetch_add(1, Ordering::AcqRel);
            while running.load(Ordering::Acquire) < units {
                std::hint::spin_loop();
            }
        }
        counter.add(how, increments)
    })?;
    Ok(Raced {
        count: counter.value(how),
        wall,
        interleaved: met.into_iter().sum(),
    })
}

/// `thread race`.
pub fn run(common: &Common, args: &RaceArgs) -> anyhow::Result<()> {
    let mut s = Session::start("thread", "race", common)?;
    let models = s.select_models(MODELS)?;
    let units = args.tasks.map_or(s.workers().max(2), |t| t as usize);
    if units < 2 {
        s.note("one unit cannot race with itself: pass --tasks 2 or more to see lost updates");
    }
    let expected = units as u64 * args.increments;
    for rep in 0..common.reps {
        let mut seen: Vec<(Increment, u64, f64)> = Vec::new();
        let mut interleaved = 0;
        for (i, &model) in models.iter().enumerate() {
            let case = s
                .case(model.name(), "", rep)
                .param("tasks", units)
                .param("increments", args.increments);
            let r = race(model, units, &s.cores.cpus, args.increments)?;
            let (fin, wall) = (r.count, r.wall);
            if model == Increment::LoadStore {
                interleaved = r.interleaved;
            }
            anyhow::ensure!(
                fin <= expected,
                "{model} counted {fin}, more than the {expected} increments made"
            );
            let lost = expected - fin;
            let ns_per = wall.as_nanos() as f64 / expected as f64;
            seen.push((model, lost, ns_per));
            let mut out = Outcome::new(expected)
                .wall(wall)
                .figure("lost_updates", lost as f64)
                .figure("lost_fraction", lost as f64 / expected as f64)
                .figure("final_count", fin as f64)
                .figure("wall_ns_per_increment", ns_per)
                .figure("interleaved_increments", r.interleaved as f64);
            if i + 1 == models.len()
                && let Some(v) = verdict(
                    &seen,
                    interleaved,
                    units,
                    s.cores.cpus.len().min(units),
                    expected,
                )
            {
                out = out.verdict(v);
            }
            let r = case.finish(&s, out)?;
            s.emit(r)?;
        }
    }
    s.finish()
}

/// C9 from the models of one repetition, `None` until all three ran.
fn verdict(
    seen: &[(Increment, u64, f64)],
    interleaved: u64,
    units: usize,
    parallel: usize,
    expected: u64,
) -> Option<Verdict> {
    let get = |m: Increment| {
        seen.iter().find(|x| x.0 == m).map(|x| c9::Raced {
            lost: x.1,
            ns_per_increment: x.2,
        })
    };
    let (racy, atomic, mutex) = (
        get(Increment::LoadStore)?,
        get(Increment::FetchAdd)?,
        get(Increment::Mutex)?,
    );
    Some(c9::verdict(
        racy,
        atomic,
        mutex,
        interleaved,
        units,
        parallel,
        expected,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synchronised_models_lose_nothing() {
        for m in [Increment::FetchAdd, Increment::Mutex] {
            let fin = race(m, 4, &[], 20_000).unwrap().count;
            assert_eq!(fin, 80_000, "{m:?}");
        }
        let r = race(Increment::LoadStore, 1, &[], 20_000).unwrap();
        let fin = r.count;
        assert_eq!(r.interleaved, 0, "a lone thread meets nobody");
        assert_eq!(fin, 20_000, "a lone thread cannot lose updates");
    }

    #[test]
    fn verdict_reads_the_losses() {
        let seen = [
            (Increment::FetchAdd, 0, 10.0),
            (Increment::Mutex, 0, 30.0),
            (Increment::LoadStore, 500, 2.0),
        ];
        assert!(verdict(&seen, 10, 2, 2, 1000).unwrap().holds());
        let seen = [
            (Increment::FetchAdd, 0, 10.0),
            (Increment::Mutex, 0, 30.0),
            (Increment::LoadStore, 0, 2.0),
        ];
        assert!(!verdict(&seen, 10, 2, 2, 1000).unwrap().holds());
        assert_eq!(
            verdict(&seen, 0, 2, 2, 1000).unwrap().outcome,
            harness::claims::Outcome::Inconclusive
        );
    }
}
