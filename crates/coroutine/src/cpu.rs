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

harness::models! {
    /// The models of this experiment, in the order they run (baseline first).
    pub enum Model {
        /// The main thread runs every chunk; the baseline.
        Sequential = "sequential",
        /// Tasks on one thread: concurrency without parallelism.
        TokioCurrentThread = "tokio-current-thread",
        /// Tasks on tokio's N worker threads.
        TokioMultiThread = "tokio-multi-thread",
        /// Tasks on smol's N executor threads.
        Smol = "smol",
        /// Tasks on async-std's executor threads (discontinued).
        #[cfg(feature = "async-std")]
        AsyncStd = "async-std",
        /// Every chunk handed to tokio's blocking pool.
        TokioSpawnBlocking = "tokio-spawn-blocking",
    }
}

/// The models of this experiment, in the order they run (baseline first).
pub const MODELS: &[Model] = Model::ALL;

impl Model {
    /// The runtime the model runs on; `None` for `sequential`.
    pub const fn kind(self) -> Option<Kind> {
        match self {
            Model::Sequential => None,
            Model::TokioCurrentThread => Some(Kind::TokioCurrentThread),
            Model::TokioMultiThread | Model::TokioSpawnBlocking => Some(Kind::TokioMultiThread),
            Model::Smol => Some(Kind::Smol),
            #[cfg(feature = "async-std")]
            Model::AsyncStd => Some(Kind::AsyncStd),
        }
    }

    /// True when every chunk goes to the runtime's blocking pool rather
    /// than being spawned as a task.
    pub const fn blocking(self) -> bool {
        match self {
            Model::TokioSpawnBlocking => true,
            Model::Sequential
            | Model::TokioCurrentThread
            | Model::TokioMultiThread
            | Model::Smol => false,
            #[cfg(feature = "async-std")]
            Model::AsyncStd => false,
        }
    }
}

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
pub fn spec_for(model: Model, workers: usize, cpus: &[usize]) -> Option<Spec> {
    Some(Spec::new(model.kind()?, workers).pinned(cpus.to_vec()))
}

/// `coroutine cpu`.
pub fn run(common: &Common, args: &CpuArgs) -> anyhow::Result<()> {
    let mut s = Session::start("coroutine", "cpu", common)?;
    rt::prepare(&s)?;
    let models = s.select_models(MODELS)?;
    rt::note_discontinued(&s, models.iter().filter_map(|m| m.kind()));
    let workers = s.workers();
    let parallelism = workers.min(s.cores.cpus.len());
    let work = Work::of(&s, args);
    if !models.contains(&Model::Sequential) {
        s.note("no sequential model selected: checking checksums against an untimed sequential run; no speedup");
    }
    let names: Vec<&str> = models.iter().map(|m| m.name()).collect();

    for rep in 0..common.reps {
        for dist in args.dist.dists() {
            let plan = Arc::new(work.plan(args, dist, common.seed));
            let mut expected = Expected::new(&plan, &names);
            let mut speedups = Speedups::new(parallelism);
            for (i, &model) in models.iter().enumerate() {
                let spec = spec_for(model, workers, &s.cores.cpus);
                let mut case = work
                    .case(&s, args, (model.name(), dist, rep))
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
                            if model.blocking() {
                                spec.blocking_threads
                            } else {
                                spec.worker_threads()
                            },
                        );
                        let job = Chunks {
                            plan: Arc::clone(&plan),
                            blocking: model.blocking(),
                        };
                        let d = rt::run(spec, job)?;
                        (d.checksum, d.wall, d.threads)
                    }
                };
                expected.check(model.name(), dist, sum)?;
                let out = Outcome::new(plan.len() as u64)
                    .wall(wall)
                    .checksum(sum)
                    .figure("worker_threads_seen", threads.count() as f64)
                    .figure("busiest_thread_work_share", threads.busiest_share());
                let mut out = speedups.add(model.name(), wall, out);
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
    model: Model,
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
    if model == Model::TokioCurrentThread {
        let x = speedups.of(model.name())?;
        return c2::verdict(&[(model.name(), x)], parallelism, dist.name(), BASELINE);
    }
    if !last {
        return None;
    }
    let parallel: Vec<(&str, f64)> = speedups
        .measured()
        .iter()
        .copied()
        .filter(|(m, _)| *m != Model::TokioCurrentThread.name())
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
                blocking: model.blocking(),
            };
            assert_eq!(rt::run(&spec, job).unwrap().checksum, want, "{model}");
        }
    }

    /// Speedups of models that ran after `sequential` (100 ms).
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
    fn verdicts_are_c2_for_one_thread_and_c3_for_many() {
        let d = speedups(&[(Model::Smol, 0.97)]);
        let v = verdict(&d, Model::Smol, 1, Dist::Balanced, true).unwrap();
        assert_eq!((v.claim.id(), v.holds()), ("C2", true));
        assert!(verdict(&d, Model::Smol, 1, Dist::Balanced, false).is_none());

        let d = speedups(&[(Model::TokioCurrentThread, 0.99)]);
        let v = verdict(&d, Model::TokioCurrentThread, 4, Dist::Skewed, false).unwrap();
        assert_eq!((v.claim.id(), v.holds()), ("C2", true));

        let d = speedups(&[
            (Model::TokioCurrentThread, 0.99),
            (Model::TokioMultiThread, 3.6),
        ]);
        let v = verdict(&d, Model::TokioMultiThread, 4, Dist::Balanced, true).unwrap();
        assert_eq!((v.claim.id(), v.holds()), ("C3", true));
        assert!(v.text.contains("tokio-multi-thread"), "{}", v.text);
        assert!(
            !v.text.contains("tokio-current-thread"),
            "one thread is not parallel: {}",
            v.text
        );
        assert!(verdict(&d, Model::TokioMultiThread, 4, Dist::Skewed, true).is_none());
        let d = speedups(&[(Model::Smol, 1.2)]);
        assert!(
            !verdict(&d, Model::Smol, 4, Dist::Balanced, true)
                .unwrap()
                .holds()
        );
    }
}
