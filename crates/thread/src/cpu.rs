//! `cpu`: a fixed amount of CPU work, split into tasks, on N threads.
//!
//! The work is the kernel's units, split by a [`TaskPlan`] (balanced or
//! skewed sizes); every model must produce the sequential model's checksum or
//! the run fails. Speedup and efficiency are against the `sequential` model
//! of the same repetition.
//!
//! Models:
//! - `sequential`: the main thread runs every task; the baseline.
//! - `static-split`: N workers, each runs one contiguous block of tasks.
//! - `pool`: N workers take the next task from a shared atomic counter (dynamic).
//! - `rayon`: a local rayon pool of N threads, work stealing over the tasks.
//! - `spawn-per-task`: one OS thread per task, all started at once: pure
//!   concurrency, which on one core cannot beat sequential (C2).

use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use harness::claims::c3;
use harness::cli::CpuArgs;
use harness::work::{Expected, Speedups, Work, cpu_outcome};
use harness::{Common, Session, Timer, limits};
use rayon::prelude::*;
use workload::{Checksum, TaskPlan};

use crate::workers::timed_workers;

harness::models! {
    /// The models of this experiment, in the order they run (baseline first).
    pub enum Model {
        /// The main thread runs every task.
        Sequential = "sequential",
        /// One contiguous block of tasks per worker.
        StaticSplit = "static-split",
        /// Workers take the next task from a shared counter.
        Pool = "pool",
        /// Work stealing on a local rayon pool.
        Rayon = "rayon",
        /// One OS thread per task, all at once.
        SpawnPerTask = "spawn-per-task",
    }
}

/// The models of this experiment, in the order they run (baseline first).
pub const MODELS: &[Model] = Model::ALL;

pub use harness::work::sequential;

/// One contiguous block of tasks per worker (workers pinned round-robin to `cpus`).
pub fn static_split(
    plan: &TaskPlan,
    workers: usize,
    cpus: &[usize],
) -> anyhow::Result<(Checksum, Duration)> {
    let blocks = plan.static_blocks(workers);
    let (parts, d) = timed_workers(workers, cpus, |w| plan.run_range(blocks[w].clone()))?;
    Ok((
        parts.into_iter().fold(Checksum::default(), Checksum::merge),
        d,
    ))
}

/// Workers (pinned round-robin to `cpus`) take the next task index from a
/// shared counter until none is left.
pub fn pool(
    plan: &TaskPlan,
    workers: usize,
    cpus: &[usize],
) -> anyhow::Result<(Checksum, Duration)> {
    let next = AtomicUsize::new(0);
    let (parts, d) = timed_workers(workers, cpus, |_| {
        let mut c = Checksum::default();
        while let Some(i) = plan.claim(&next) {
            c.add(plan.run_task(i));
        }
        c
    })?;
    Ok((
        parts.into_iter().fold(Checksum::default(), Checksum::merge),
        d,
    ))
}

/// Work stealing on a local rayon pool (built by the caller, outside the timing).
pub fn rayon(plan: &TaskPlan, pool: &rayon::ThreadPool) -> (Checksum, Duration) {
    let t = Timer::start();
    let c = pool.install(|| {
        (0..plan.len())
            .into_par_iter()
            .with_max_len(1)
            .map(|i| plan.run_task(i))
            .fold(Checksum::default, |mut c, r| {
                c.add(r);
                c
            })
            .reduce(Checksum::default, Checksum::merge)
    });
    (c, t.elapsed())
}

/// One OS thread per task, all started at once, then all joined.
pub fn spawn_per_task(plan: &TaskPlan) -> anyhow::Result<(Checksum, Duration)> {
    let t = Timer::start();
    let c = std::thread::scope(|s| {
        let handles: Vec<_> = (0..plan.len())
            .map(|i| {
                std::thread::Builder::new()
                    .spawn_scoped(s, move || plan.run_task(i))
                    .map_err(|e| anyhow::anyhow!("cannot start the thread of task {i}: {e}"))
            })
            .collect::<anyhow::Result<_>>()?;
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| anyhow::anyhow!("a task thread panicked"))
            })
            .collect::<anyhow::Result<Checksum>>()
    })?;
    Ok((c, t.elapsed()))
}

/// A local rayon pool of `workers` threads, pinned round-robin to `cpus` like
/// the other models' workers. Each `rayon` case builds its own (untimed) and
/// drops it after, so idle rayon workers, which spin before they sleep, never
/// run beside another model's measurement.
pub fn rayon_pool(workers: usize, cpus: &[usize]) -> anyhow::Result<rayon::ThreadPool> {
    let cpus = cpus.to_vec();
    rayon::ThreadPoolBuilder::new()
        .num_threads(workers)
        .thread_name(|i| format!("rayon-{i}"))
        .start_handler(move |i| {
            // Best effort, as for the other models' workers.
            let _ = harness::cores::pin_round_robin(&cpus, i);
        })
        .build()
        .map_err(|e| anyhow::anyhow!("cannot build a rayon pool of {workers} threads: {e}"))
}

/// `thread cpu`.
pub fn run(common: &Common, args: &CpuArgs) -> anyhow::Result<()> {
    let mut s = Session::start("thread", "cpu", common)?;
    let models = s.select_models(MODELS)?;
    if models.contains(&Model::SpawnPerTask) {
        limits::check_threads(args.tasks, 2 << 20)?;
    }
    let workers = s.workers();
    let parallelism = workers.min(s.cores.cpus.len());
    let work = Work::of(&s, args);
    let cpus = &s.cores.cpus.clone()[..];
    let names: Vec<&str> = models.iter().map(|m| m.name()).collect();
    if !models.contains(&Model::Sequential) {
        s.note("no sequential model selected: checking checksums against an untimed sequential run; no speedup");
    }

    for rep in 0..common.reps {
        for dist in args.dist.dists() {
            let plan = work.plan(args, dist, common.seed);
            let mut expected = Expected::new(&plan, &names);
            let mut speedups = Speedups::new(parallelism);
            for (i, &model) in models.iter().enumerate() {
                let case = work.case(&s, args, (model.name(), dist, rep));
                let (sum, wall) = match model {
                    Model::Sequential => sequential(&plan),
                    Model::StaticSplit => static_split(&plan, workers, cpus)?,
                    Model::Pool => pool(&plan, workers, cpus)?,
                    Model::Rayon => rayon(&plan, &rayon_pool(workers, cpus)?),
                    Model::SpawnPerTask => spawn_per_task(&plan)?,
                };
                let mut out = cpu_outcome(
                    &mut expected,
                    &mut speedups,
                    &plan,
                    workers,
                    model.name(),
                    dist,
                    sum,
                    wall,
                )?;
                if i + 1 == models.len()
                    && let Some(v) =
                        c3::cpu(speedups.measured(), parallelism, dist.name(), "one thread")
                {
                    out = out.verdict(v);
                }
                let r = case.finish(&s, out)?;
                s.emit(r)?;
            }
            if dist == workload::Dist::Skewed
                && parallelism > 1
                && let (Some(st), Some(ra)) = (
                    speedups.of(Model::StaticSplit.name()),
                    speedups.of(Model::Rayon.name()),
                )
            {
                let (se, re) = (st / parallelism as f64, ra / parallelism as f64);
                let how = if re > se {
                    "work stealing evened out the heavy tasks"
                } else {
                    "here the static split did as well as work stealing (its blocks happened to be even, or the CPUs were busy)"
                };
                s.note(&format!(
                    "skewed work on {parallelism} CPUs: static-split efficiency {se:.2} vs rayon {re:.2}: {how}"
                ));
            }
        }
    }
    s.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use workload::Dist;

    #[test]
    fn every_model_computes_the_same_checksum() {
        let plan = TaskPlan::new(Dist::Skewed, 37, 500, 9);
        let (want, _) = sequential(&plan);
        let pool_rayon = rayon_pool(3, &[]).unwrap();
        assert_eq!(static_split(&plan, 3, &[]).unwrap().0, want);
        assert_eq!(pool(&plan, 3, &[]).unwrap().0, want);
        assert_eq!(rayon(&plan, &pool_rayon).0, want);
        assert_eq!(spawn_per_task(&plan).unwrap().0, want);
    }
}
