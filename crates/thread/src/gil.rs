//! `gil`: the `cpu` work with one global lock held around every task, the way
//! CPython's global interpreter lock serialises bytecode.
//!
//! Models:
//! - `sequential`: one thread, no lock; the baseline.
//! - `gil-threads`: N workers take tasks from a shared counter, and hold one
//!   process-wide mutex while computing each: only one computes at a time.
//! - `no-gil-threads`: the same workers without the lock.
//!
//! With the lock, threads flat-line at a speedup of about 1 whatever the core
//! count; without it they scale. `process gil` runs the same locked work in
//! one process per core, each with its own lock, and scales: that is why
//! Python's rule is "parallelism = multiprocessing" (C11).

use std::sync::Mutex;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use harness::claims::c11;
use harness::cli::CpuArgs;
use harness::work::{Expected, Speedups, Work};
use harness::{Common, Outcome, Session, Verdict};
use workload::{Checksum, TaskPlan};

use crate::cpu::sequential;
use crate::workers::timed_workers;

harness::models! {
    /// The models of this experiment, in the order they run (baseline first).
    pub enum Model {
        /// One thread, no lock.
        Sequential = "sequential",
        /// N workers holding one process-wide lock around every task.
        GilThreads = "gil-threads",
        /// The same workers without the lock.
        NoGilThreads = "no-gil-threads",
    }
}

/// The models of this experiment, in the order they run (baseline first).
pub const MODELS: &[Model] = Model::ALL;

/// N workers (pinned round-robin to `cpus`) share the tasks dynamically;
/// with `gil`, each task runs while holding that one lock.
pub fn workers_with_lock(
    plan: &TaskPlan,
    workers: usize,
    cpus: &[usize],
    gil: Option<&Mutex<()>>,
) -> anyhow::Result<(Checksum, Duration)> {
    let next = AtomicUsize::new(0);
    let (parts, d) = timed_workers(workers, cpus, |_| {
        let mut c = Checksum::default();
        while let Some(i) = plan.claim(&next) {
            let _held = gil.map(|m| m.lock().unwrap_or_else(|e| e.into_inner()));
            c.add(plan.run_task(i));
        }
        c
    })?;
    Ok((
        parts.into_iter().fold(Checksum::default(), Checksum::merge),
        d,
    ))
}

/// `thread gil`.
pub fn run(common: &Common, args: &CpuArgs) -> anyhow::Result<()> {
    let mut s = Session::start("thread", "gil", common)?;
    let models = s.select_models(MODELS)?;
    let workers = s.workers();
    let parallelism = workers.min(s.cores.cpus.len());
    let work = Work::of(&s, args);
    if parallelism == 1 {
        s.note(&format!(
            "{} needs 2 or more CPUs (--cores 2+): on one CPU nothing can scale, lock or no lock",
            harness::Claim::C11
        ));
    }
    let gil = Mutex::new(());
    let names: Vec<&str> = models.iter().map(|m| m.name()).collect();
    for rep in 0..common.reps {
        for dist in args.dist.dists() {
            let plan = work.plan(args, dist, common.seed);
            let mut expected = Expected::new(&plan, &names);
            let mut speedups = Speedups::new(parallelism);
            for (i, &model) in models.iter().enumerate() {
                let case = work.case(&s, args, (model.name(), dist, rep));
                let (sum, wall) = match model {
                    Model::Sequential => sequential(&plan),
                    Model::GilThreads => {
                        workers_with_lock(&plan, workers, &s.cores.cpus, Some(&gil))?
                    }
                    Model::NoGilThreads => workers_with_lock(&plan, workers, &s.cores.cpus, None)?,
                };
                expected.check(model.name(), dist, sum)?;
                let out = Outcome::new(plan.len() as u64).wall(wall).checksum(sum);
                let mut out = speedups.add(model.name(), wall, out);
                if i + 1 == models.len()
                    && dist == workload::Dist::Balanced
                    && let Some(v) = verdict(&speedups, parallelism)
                {
                    out = out.verdict(v);
                }
                let r = case.finish(&s, out)?;
                s.emit(r)?;
            }
        }
    }
    s.finish()
}

/// C11: locked threads stay near 1×, the same threads without the lock scale.
fn verdict(speedups: &Speedups<'_>, parallelism: usize) -> Option<Verdict> {
    let (gil, free) = (
        speedups.of(Model::GilThreads.name())?,
        speedups.of(Model::NoGilThreads.name())?,
    );
    c11::verdict(
        gil,
        ("the same threads without the lock (no-gil-threads)", free),
        "no-gil-threads",
        parallelism,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use workload::Dist;

    #[test]
    fn the_lock_does_not_change_the_work() {
        let plan = TaskPlan::new(Dist::Balanced, 20, 200, 3);
        let m = Mutex::new(());
        let (want, _) = sequential(&plan);
        assert_eq!(workers_with_lock(&plan, 3, &[], Some(&m)).unwrap().0, want);
        assert_eq!(workers_with_lock(&plan, 3, &[], None).unwrap().0, want);
    }

    fn speedups(of: &[(Model, f64)]) -> Speedups<'static> {
        let mut s = Speedups::new(4);
        s.add(
            Model::Sequential.name(),
            Duration::from_millis(100),
            Outcome::new(1),
        );
        for &(m, x) in of {
            s.add(m.name(), Duration::from_secs_f64(0.1 / x), Outcome::new(1));
        }
        s
    }

    #[test]
    fn verdict_needs_both_models_and_two_cpus() {
        let both = speedups(&[(Model::GilThreads, 1.0), (Model::NoGilThreads, 3.8)]);
        assert!(verdict(&both, 1).is_none());
        assert!(verdict(&speedups(&[(Model::GilThreads, 1.0)]), 4).is_none());
        assert!(verdict(&both, 4).unwrap().holds());
        let scaled = speedups(&[(Model::GilThreads, 2.5), (Model::NoGilThreads, 3.8)]);
        assert!(!verdict(&scaled, 4).unwrap().holds());
    }
}
