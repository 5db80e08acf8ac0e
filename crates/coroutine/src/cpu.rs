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

use harness::cli::CpuArgs;
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

/// Runs every chunk on the calling thread.
pub fn sequential(plan: &TaskPlan) -> (Checksum, Duration) {
    let t = Timer::start();
    let c = plan.expected_checksum();
    (c, t.elapsed())
}

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

/// Total units of `--work-units`, or `--work-ms` through the calibration; the
/// calibration is returned for the record when it was used.
fn total_units(s: &Session, args: &CpuArgs) -> (u64, Option<f64>) {
    match args.work_units {
        Some(u) => (u, args.calibration.units_per_ms),
        None => {
            let per_ms = s.units_per_ms(&args.calibration);
            (
                ((args.work_ms * per_ms).round() as u64).max(1),
                Some(per_ms),
            )
        }
    }
}

/// One model's result in one repetition, for the verdicts.
#[derive(Debug, Clone, Copy)]
struct Done {
    model: &'static str,
    speedup: Option<f64>,
}

/// `coroutine cpu`.
pub fn run(common: &Common, args: &CpuArgs) -> anyhow::Result<()> {
    let mut s = Session::start("coroutine", "cpu", common)?;
    rt::prepare(&s)?;
    let models = s.select_models(MODELS)?;
    rt::note_discontinued(&s, &models);
    let workers = s.workers();
    let parallelism = workers.min(s.cores.cpus.len());
    let (units, per_ms) = total_units(&s, args);

    for rep in 0..common.reps {
        for dist in args.dist.dists() {
            let plan = Arc::new(TaskPlan::new(dist, args.tasks as usize, units, common.seed));
            let mut expected = None;
            if !models.contains(&SEQUENTIAL) {
                s.note("no sequential model selected: checking checksums against an untimed sequential run; no speedup");
                expected = Some(plan.expected_checksum());
            }
            let mut seq_ns = None;
            let mut done = Vec::new();
            for (i, &model) in models.iter().enumerate() {
                let spec = spec_for(model, workers, &s.cores.cpus);
                let mut case = s
                    .case(model, dist.name(), rep)
                    .param("tasks", args.tasks)
                    .param("work_units", units)
                    .param("dist", dist.name())
                    .param("clock", "inside-runtime");
                if let Some(u) = per_ms {
                    case.set_param("units_per_ms", u);
                }
                let (sum, wall, threads) = match &spec {
                    None => {
                        case.set_param("workers", 1);
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
                let want = *expected.get_or_insert(sum);
                anyhow::ensure!(
                    sum == want,
                    "{model} ({}) produced checksum {} but the work's checksum is {}: the model skipped or repeated work",
                    dist.name(),
                    sum.hex(),
                    want.hex()
                );
                let wall_ns = wall.as_nanos() as u64;
                let mut out = Outcome::new(plan.len() as u64)
                    .wall(wall)
                    .checksum(sum)
                    .figure("worker_threads_seen", threads.count() as f64)
                    .figure("busiest_thread_work_share", threads.busiest_share());
                let mut sp = None;
                if model == SEQUENTIAL {
                    seq_ns = Some(wall_ns);
                } else if let Some(base) = seq_ns {
                    let (x, eff) = crate::speedup(base, wall_ns, parallelism);
                    sp = Some(x);
                    out = out.figure("speedup", x).figure("efficiency", eff);
                }
                done.push(Done { model, speedup: sp });
                let last = i + 1 == models.len();
                if let Some(v) = verdict(&done, parallelism, dist, last) {
                    out = out.verdict(v);
                }
                let r = case.finish(&s, out)?;
                s.emit(r)?;
            }
        }
    }
    s.finish()
}

/// The verdict the latest case in `done` decides, if any.
///
/// On one CPU every model is concurrency alone: the last case decides C2 from
/// all speedups. On more, `tokio-current-thread` still has one thread, and its
/// own case decides C2; the last case decides C3 on balanced work from the
/// best multi-threaded model.
fn verdict(done: &[Done], parallelism: usize, dist: Dist, last: bool) -> Option<Verdict> {
    let this = done.last()?;
    let measured: Vec<(&str, f64)> = done
        .iter()
        .filter_map(|d| d.speedup.map(|x| (d.model, x)))
        .collect();
    let list = |v: &[(&str, f64)]| {
        v.iter()
            .map(|(m, x)| format!("{m} {x:.2}×"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if parallelism == 1 {
        if !last || measured.is_empty() {
            return None;
        }
        let best = measured.iter().map(|m| m.1).fold(f64::MIN, f64::max);
        return Some(Verdict::new(
            "C2",
            best <= 1.10,
            format!(
                "on 1 CPU no async model beat one thread on {} CPU work (speedups: {}); concurrency alone does not add compute",
                dist.name(),
                list(&measured)
            ),
        ));
    }
    if this.model == rt::TOKIO_CURRENT {
        let x = this.speedup?;
        return Some(Verdict::new(
            "C2",
            x <= 1.10,
            format!(
                "on {parallelism} CPUs tokio current_thread (one thread by design) ran the {} CPU work at {x:.2}× one thread: concurrency alone does not add compute",
                dist.name()
            ),
        ));
    }
    if !last || dist != Dist::Balanced {
        return None;
    }
    let parallel: Vec<(&str, f64)> = measured
        .into_iter()
        .filter(|(m, _)| *m != rt::TOKIO_CURRENT)
        .collect();
    let (best_model, best) = parallel
        .iter()
        .copied()
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    let eff = best / parallelism as f64;
    Some(Verdict::new(
        "C3",
        eff >= 0.70,
        format!(
            "on {parallelism} CPUs the balanced work ran {best:.2}× faster than one thread ({best_model}, efficiency {eff:.2}; threshold 0.70; all: {})",
            list(&parallel)
        ),
    ))
}

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

    fn done(model: &'static str, speedup: Option<f64>) -> Done {
        Done { model, speedup }
    }

    #[test]
    fn verdicts_are_c2_for_one_thread_and_c3_for_many() {
        let d = [done(SEQUENTIAL, None), done("smol", Some(0.97))];
        let v = verdict(&d, 1, Dist::Balanced, true).unwrap();
        assert_eq!((v.claim.as_str(), v.holds), ("C2", true));
        assert!(verdict(&d, 1, Dist::Balanced, false).is_none());

        let d = [done(SEQUENTIAL, None), done(rt::TOKIO_CURRENT, Some(0.99))];
        let v = verdict(&d, 4, Dist::Skewed, false).unwrap();
        assert_eq!((v.claim.as_str(), v.holds), ("C2", true));

        let d = [
            done(SEQUENTIAL, None),
            done(rt::TOKIO_CURRENT, Some(0.99)),
            done("tokio-multi-thread", Some(3.6)),
        ];
        let v = verdict(&d, 4, Dist::Balanced, true).unwrap();
        assert_eq!((v.claim.as_str(), v.holds), ("C3", true));
        assert!(v.text.contains("tokio-multi-thread"), "{}", v.text);
        assert!(verdict(&d, 4, Dist::Skewed, true).is_none());
        let d = [done(SEQUENTIAL, None), done("smol", Some(1.2))];
        assert!(!verdict(&d, 4, Dist::Balanced, true).unwrap().holds);
    }
}
