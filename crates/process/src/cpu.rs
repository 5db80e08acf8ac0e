//! `cpu`: a fixed amount of CPU work, split into tasks, on N worker processes.
//!
//! Exactly the work of `thread cpu`: the same [`TaskPlan`] from the same
//! `--tasks`, `--work-units` (or `--work-ms` and the calibration), `--dist`
//! and `--seed`, so the checksum is the same as there; every model must
//! produce the workload's checksum or the run fails. The workers are forked
//! and waiting before the clock starts and are released together (see
//! [`crate::workers`]); each sends its partial checksum back through a pipe.
//! Speedup and efficiency are against the `sequential` model of the same
//! repetition.
//!
//! Models:
//! - `sequential`: this process runs every task; the baseline.
//! - `static-split`: N workers, each runs one contiguous block of tasks.
//! - `pool`: N workers take the next task index from an atomic counter in a
//!   shared mapping (dynamic, like the threads' pool).

use std::time::Duration;

use anyhow::Context as _;

use harness::claims::c3;
use harness::cli::CpuArgs;
use harness::work::{Expected, Speedups, Work, cpu_outcome};
use harness::{Common, Session};
use workload::{Checksum, TaskPlan};

use crate::shm::SharedCounter;
use crate::workers::{checksum_words, merge_checksums, timed_workers};

harness::models! {
    /// The models of this experiment, in the order they run (baseline first).
    pub enum Model {
        /// This process runs every task.
        Sequential = "sequential",
        /// One contiguous block of tasks per worker process.
        StaticSplit = "static-split",
        /// Worker processes take the next task from a shared counter.
        Pool = "pool",
    }
}

/// The models of this experiment, in the order they run (baseline first).
pub const MODELS: &[Model] = Model::ALL;

pub use harness::work::sequential;

/// One contiguous block of tasks per worker process (pinned round-robin to `cpus`).
pub fn static_split(
    plan: &TaskPlan,
    workers: usize,
    cpus: &[usize],
) -> anyhow::Result<(Checksum, Duration)> {
    let blocks = plan.static_blocks(workers);
    let (parts, d) = timed_workers(workers, cpus, |w| {
        checksum_words(plan.run_range(blocks[w].clone()))
    })?;
    Ok((merge_checksums(parts), d))
}

/// Worker processes (pinned round-robin to `cpus`) take the next task index
/// from a shared counter until none is left.
pub fn pool(
    plan: &TaskPlan,
    workers: usize,
    cpus: &[usize],
) -> anyhow::Result<(Checksum, Duration)> {
    let next = SharedCounter::new()?;
    let (parts, d) = timed_workers(workers, cpus, |_| {
        let mut c = Checksum::default();
        while let Some(i) = plan.claim(next.get()) {
            c.add(plan.run_task(i));
        }
        checksum_words(c)
    })?;
    Ok((merge_checksums(parts), d))
}

/// `process cpu`.
pub fn run(common: &Common, args: &CpuArgs) -> anyhow::Result<()> {
    let mut s = Session::start("process", "cpu", common)?;
    let models = s.select_models(MODELS)?;
    let workers = s.workers();
    harness::limits::check_processes(workers as u64)?;
    let parallelism = workers.min(s.cores.cpus.len());
    let work = Work::of(&s, args);
    if !models.contains(&Model::Sequential) {
        s.note("no sequential model selected: checking checksums against an untimed sequential run; no speedup");
    }
    let names: Vec<&str> = models.iter().map(|m| m.name()).collect();

    for rep in 0..common.reps {
        for dist in args.dist.dists() {
            let plan = work.plan(args, dist, common.seed);
            let mut expected = Expected::new(&plan, &names);
            let mut speedups = Speedups::new(parallelism);
            for (i, &model) in models.iter().enumerate() {
                let case = work.case(&s, args, (model.name(), dist, rep));
                let (sum, wall) = match model {
                    Model::Sequential => Ok(sequential(&plan)),
                    Model::StaticSplit => static_split(&plan, workers, &s.cores.cpus),
                    Model::Pool => pool(&plan, workers, &s.cores.cpus),
                }
                .with_context(|| format!("{model} ({}), rep {}", dist.name(), rep + 1))?;
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
                        c3::cpu(speedups.measured(), parallelism, dist.name(), "one process")
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
