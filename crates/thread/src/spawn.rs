//! `spawn`: the cost of creating a thread, running an empty body and joining it.
//!
//! One sample is one `spawn` + `join` of a thread whose body does nothing but
//! touch a `black_box`. The thread really exists: the kernel creates a task,
//! maps a stack and schedules it; the join waits for it to exit.

use std::hint::black_box;
use std::thread;

use harness::{Common, Outcome, Session, Timer, hist, sample};

harness::models! {
    /// The models of this experiment.
    pub enum Model {
        /// `std::thread` spawn + join.
        StdSpawn = "std-spawn",
        /// Scoped thread spawn + join.
        ScopedSpawn = "scoped-spawn",
    }
}

/// The models of this experiment.
pub const MODELS: &[Model] = Model::ALL;

/// Spawns and joins one `std::thread` with an empty body; returns nanoseconds.
pub fn std_spawn_once() -> anyhow::Result<u64> {
    let t = Timer::start();
    let h = thread::Builder::new()
        .spawn(|| black_box(1u64))
        .map_err(|e| anyhow::anyhow!("thread spawn failed: {e}"))?;
    let v = h
        .join()
        .map_err(|_| anyhow::anyhow!("spawned thread panicked"))?;
    let ns = t.ns();
    anyhow::ensure!(v == 1, "the spawned thread did not run its body");
    Ok(ns)
}

/// Spawns and joins one scoped thread with an empty body; returns nanoseconds.
pub fn scoped_spawn_once() -> anyhow::Result<u64> {
    let t = Timer::start();
    let v = thread::scope(|s| {
        thread::Builder::new()
            .spawn_scoped(s, || black_box(1u64))
            .map_err(|e| anyhow::anyhow!("thread spawn failed: {e}"))?
            .join()
            .map_err(|_| anyhow::anyhow!("spawned thread panicked"))
    })?;
    let ns = t.ns();
    anyhow::ensure!(v == 1, "the spawned thread did not run its body");
    Ok(ns)
}

/// `thread spawn`.
pub fn run(common: &Common) -> anyhow::Result<()> {
    let mut s = Session::start("thread", "spawn", common)?;
    let models = s.select_models(MODELS)?;
    for rep in 0..common.reps {
        for &model in &models {
            let f = match model {
                Model::StdSpawn => std_spawn_once,
                Model::ScopedSpawn => scoped_spawn_once,
            };
            let case = s.case(model.name(), "", rep).param("unit", "thread");
            let mut h = hist::new();
            let done = sample::run_samples(&s.schedule(), &mut h, f)?;
            let out = Outcome::sampled(done, h);
            let r = case.finish(&s, out)?;
            s.emit(r)?;
        }
    }
    s.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_spawn_takes_some_time() {
        assert!(std_spawn_once().unwrap() > 0);
        assert!(scoped_spawn_once().unwrap() > 0);
    }
}
