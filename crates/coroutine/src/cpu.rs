//! `cpu`: a fixed amount of CPU work, split into tasks, on each runtime.
//!
//! The work and its checksum are those of `thread cpu` (a [`TaskPlan`],
//! balanced or skewed sizes, the same flags): every model must produce the
//! sequential model's checksum or the run fails. A task on the runtime spawns
//! one task per chunk and awaits them all; that is timed, inside the runtime.
//! Speedup and efficiency are against `sequential` of the same repetition.
//!
//! Models:
//! - `sequential`: the main thread runs every chunk; the baseline.
//! - `tokio-current-thread`: tasks on one thread: concurrency without
//!   parallelism, no speedup on any number of cores (C2).
//! - `tokio-multi-thread`, `smol`, `async-std`: tasks on N executor threads:
//!   speedup grows with cores (C3).
//! - `tokio-spawn-blocking`: every chunk handed to tokio's blocking pool
//!   (`spawn_blocking`, N threads) from a multi-thread runtime, as advice for
//!   CPU-heavy work inside async code goes.
//!
//! Executor threads are pinned round-robin to the `--cores` CPUs, as `thread
//! cpu` pins its workers (tokio's blocking-pool threads too, after its
//! workers). Every record counts the distinct threads that ran a chunk
//! (`worker_threads_seen`) and the share of the work's units the busiest of
//! them ran (`busiest_thread_work_share`: 1 when one thread did everything,
//! 1/N when N shared it evenly), so a speedup can be told from its cause.

use std::sync::Arc;
use std::time::Duration;

use harness::claims::{c2, c3};
use harness::cli::CpuArgs;
use harness::work::{Expected, Speedups, Work};
use harness::{Common, Outcome, Session, Timer, Verdict};
use workload::{Checksum, Dist, TaskPlan};

use crate::rt::{self, Job, Kind, Rt, Spec, ThreadsSeen, thread_tag};

/// The baseline.
pub const SEQUENTIAL: &str = "sequential";
/// Chunks through tokio's blocking pool.
pub const SPAWN_BLOCKING: &str = "tokio-spawn-blocking";

/// The models of this experiment, in the order they run (baseline first).
pub const MODELS: &[&str] = &[
    SEQUENTIAL,
    "tokio-current-thread",
    "tokio-multi-thread",
    "smol",
    #[cfg(feature = "async-std")]
    "async-std",
    SPAWN_BLOCKING,
];

pub use harness::work::sequential;

/// One task per chunk, spawned and awaited from a task on the runtime.
#[derive(Debug, Clone)]
pub struct Chunks {
    /// The work.
    pub plan: Arc<TaskPlan>,
    /// Hand each chunk to the blocking pool rather than spawn it as a task.
    pub blocking: bool,
}

/// What a run of [`Chunks`] did.
#[derive(Debug, Clone)]
pub struct ChunksDone {
    /// Checksum of every chunk's result.
    pub checksum: Checksum,
    /// From the first spawn to the last result.
    pub wall: Duration,
    /// Which threads ran the chunks, and how many units each.
    pub threads: ThreadsSeen,
}

impl Job for Chunks {
    type Output = ChunksDone;

    async fn run<R: Rt>(self, rt: R) -> anyhow::Result<ChunksDone> {
        let t = Timer::start();
        let handles: Vec<_> = (0..self.plan.len())
            .map(|i| {
                let plan = Arc::clone(&self.plan);
                if self.blocking {
                    rt.spawn_blocking(move || (plan.run_task(i), thread_tag()))
                } else {
                    rt.spawn(async move { (plan.run_task(i), thread_tag()) })
                }
            })
            .collect();
        let mut checksum = Checksum::default();
        let mut seen = ThreadsSeen::default();
        for (i, h) in handles.into_iter().enumerate() {
            let (r, tag) = h.await?;
            checksum.add(r);
            seen.add(tag, self.plan.sizes[i]);
        }
        Ok(ChunksDone {
            checksum,
            wall: t.elapsed(),
            threads: seen,
        })
    }
}

/// The runtime a model runs on (`None` for `sequential`): `workers`
/// executor threads pinned round-robin to `cpus`.
pub fn spec_for(model: &str, workers: usize, cpus: &[usize]) -> Option<Spec> {
    let kind = if model == SPAWN_BLOCKING {
        Kind::TokioMultiThread
    } else {
        Kind::of_model(model)?
    };
    Some(Spec::new(kind, workers).pinned(cpus.to_vec()))
}

/// `coroutine cpu`.
pub fn run(common: &Common, args: &CpuArgs) -> anyhow::Result<()> {
    let mut s = Session::start("coroutine", "cpu", common)?;
    rt::prepare(&s)?;
    let models = s.select_models(MODELS)?;
    rt::note_discontinued(&s, &models);
    let workers = s.workers();
    let parallelism = workers.min(s.cores.cpus.len());
    let work = Work::of(&s, args);
    if !models.contains(&SEQUENTIAL) {
        s.note("no sequential model selected: checking checksums against an untimed sequential run; no speedup");
    }

    for rep in 0..common.reps {
        for dist in args.dist.dists() {
            let plan = Arc::new(work.plan(args, dist, common.seed));
            let mut expected = Expected::new(&plan, &models);
            let mut speedups = Speedups::new(parallelism);
            for (i, &model) in models.iter().enumerate() {
                let spec = spec_for(model, workers, &s.cores.cpus);
                let mut case = work
                    .case(&s, args, (model, dist, rep))
                    .param("clock", "inside-runtime");
                let (sum, wall, threads) = match &spec {
                    None => {
                        let (c, d) = sequential(&plan);
                        let mut one = ThreadsSeen::default();
                        one.add(thread_tag(), plan.total_units());
                        (c, d, one)
                    }
                    Some(spec) => {
                        case = spec.annotate(case).param(
                            "workers",
                            if model == SPAWN_BLOCKING {
                                spec.blocking_threads
                            } else {
                                spec.worker_threads()
                            },
                        );
                        let job = Chunks {
                            plan: Arc::clone(&plan),
                            blocking: model == SPAWN_BLOCKING,
                        };
                        let d = rt::run(spec, job)?;
                        (d.checksum, d.wall, d.threads)
                    }
                };
                expected.check(model, dist, sum)?;
                let out = Outcome::new(plan.len() as u64)
                    .wall(wall)
                    .checksum(sum)
                    .figure("worker_threads_seen", threads.count() as f64)
                    .figure("busiest_thread_work_share", threads.busiest_share());
                let mut out = speedups.add(model, wall, out);
                let last = i + 1 == models.len();
                if let Some(v) = verdict(&speedups, model, parallelism, dist, last) {
                    out = out.verdict(v);
                }
                let r = case.finish(&s, out)?;
                s.emit(r)?;
            }
        }
    }
    s.finish()
}

/// The verdict the case of `model` decides, if any.
///
/// On one CPU every model is concurrency alone: the last case decides C2 from
/// all speedups. On more, `tokio-current-thread` still has one thread, and its
/// own case decides C2; the last case decides C3 on balanced work from the
/// multi-threaded models.
fn verdict(
    speedups: &Speedups<'_>,
    model: &str,
    parallelism: usize,
    dist: Dist,
    last: bool,
) -> Option<Verdict> {
    if parallelism == 1 {
        return if last {
            c2::verdict(speedups.measured(), 1, dist.name(), BASELINE)
        } else {
            None
        };
    }
    if model == rt::TOKIO_CURRENT {
        let x = speedups.of(model)?;
        return c2::verdict(&[(model, x)], parallelism, dist.name(), BASELINE);
    }
    if !last {
        return None;
    }
    let parallel: Vec<(&str, f64)> = speedups
        .measured()
        .iter()
        .copied()
        .filter(|(m, _)| *m != rt::TOKIO_CURRENT)
        .collect();
    c3::verdict(&parallel, parallelism, dist.name(), BASELINE)
}

/// What the verdicts call the sequential model.
const BASELINE: &str = "one thread";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_runtime_computes_the_workloads_checksum() {
        let plan = Arc::new(TaskPlan::new(Dist::Skewed, 37, 500, 9));
        let (want, _) = sequential(&plan);
        for &model in &MODELS[1..] {
            let cpus = harness::cores::allowed_cpus().unwrap();
            let spec = spec_for(model, 2, &cpus).unwrap();
            let job = Chunks {
                plan: Arc::clone(&plan),
                blocking: model == SPAWN_BLOCKING,
            };
            assert_eq!(rt::run(&spec, job).unwrap().checksum, want, "{model}");
        }
    }

    /// Speedups of models that ran after `sequential` (100 ms).
    fn speedups(of: &[(&'static str, f64)]) -> Speedups<'static> {
        let mut s = Speedups::new(4);
        s.add(SEQUENTIAL, Duration::from_millis(100), Outcome::new(1));
        for &(m, x) in of {
            s.add(m, Duration::from_secs_f64(0.1 / x), Outcome::new(1));
        }
        s
    }

    #[test]
    fn verdicts_are_c2_for_one_thread_and_c3_for_many() {
        let d = speedups(&[("smol", 0.97)]);
        let v = verdict(&d, "smol", 1, Dist::Balanced, true).unwrap();
        assert_eq!((v.claim.id(), v.holds), ("C2", true));
        assert!(verdict(&d, "smol", 1, Dist::Balanced, false).is_none());

        let d = speedups(&[(rt::TOKIO_CURRENT, 0.99)]);
        let v = verdict(&d, rt::TOKIO_CURRENT, 4, Dist::Skewed, false).unwrap();
        assert_eq!((v.claim.id(), v.holds), ("C2", true));

        let d = speedups(&[(rt::TOKIO_CURRENT, 0.99), ("tokio-multi-thread", 3.6)]);
        let v = verdict(&d, "tokio-multi-thread", 4, Dist::Balanced, true).unwrap();
        assert_eq!((v.claim.id(), v.holds), ("C3", true));
        assert!(v.text.contains("tokio-multi-thread"), "{}", v.text);
        assert!(
            !v.text.contains(rt::TOKIO_CURRENT),
            "one thread is not parallel: {}",
            v.text
        );
        assert!(verdict(&d, "tokio-multi-thread", 4, Dist::Skewed, true).is_none());
        let d = speedups(&[("smol", 1.2)]);
        assert!(!verdict(&d, "smol", 4, Dist::Balanced, true).unwrap().holds);
    }
}
