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

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use harness::cli::CpuArgs;
use harness::{Common, Outcome, Session, Timer, Verdict, limits};
use rayon::prelude::*;
use workload::{Checksum, TaskPlan};

use crate::speedup;
use crate::workers::timed_workers;

/// The models of this experiment, in the order they run (baseline first).
pub const MODELS: &[&str] = &[
    "sequential",
    "static-split",
    "pool",
    "rayon",
    "spawn-per-task",
];

/// Runs every task on the calling thread.
pub fn sequential(plan: &TaskPlan) -> (Checksum, Duration) {
    let t = Timer::start();
    let c = plan.expected_checksum();
    (c, t.elapsed())
}

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
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= plan.len() {
                return c;
            }
            c.add(plan.run_task(i));
        }
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
            if !cpus.is_empty() {
                let _ = harness::cores::pin_current_thread(cpus[i % cpus.len()]);
            }
        })
        .build()
        .map_err(|e| anyhow::anyhow!("cannot build a rayon pool of {workers} threads: {e}"))
}

/// Total units of `--work-units`, or `--work-ms` through the calibration; the
/// calibration is returned for the record when it was used.
pub(crate) fn total_units(s: &Session, args: &CpuArgs) -> (u64, Option<f64>) {
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

/// What one model did in one repetition, for the verdict.
struct Done {
    model: &'static str,
    speedup: Option<f64>,
}

/// `thread cpu`.
pub fn run(common: &Common, args: &CpuArgs) -> anyhow::Result<()> {
    let mut s = Session::start("thread", "cpu", common)?;
    let models = s.select_models(MODELS)?;
    if models.contains(&"spawn-per-task") {
        limits::check_threads(args.tasks, 2 << 20)?;
    }
    let workers = s.workers();
    let parallelism = workers.min(s.cores.cpus.len());
    let (units, per_ms) = total_units(&s, args);
    let cpus = &s.cores.cpus.clone()[..];

    for rep in 0..common.reps {
        for dist in args.dist.dists() {
            let plan = TaskPlan::new(dist, args.tasks as usize, units, common.seed);
            let mut expected = None;
            if !models.contains(&"sequential") {
                s.note("no sequential model selected: checking checksums against an untimed sequential run; no speedup");
                expected = Some(plan.expected_checksum());
            }
            let mut seq_ns = None;
            let mut done = Vec::new();
            for (i, &model) in models.iter().enumerate() {
                let mut case = s
                    .case(model, dist.name(), rep)
                    .param("tasks", args.tasks)
                    .param("work_units", units)
                    .param("dist", dist.name())
                    .param("workers", if model == "sequential" { 1 } else { workers });
                if let Some(u) = per_ms {
                    case.set_param("units_per_ms", u);
                }
                let (sum, wall) = match model {
                    "sequential" => sequential(&plan),
                    "static-split" => static_split(&plan, workers, cpus)?,
                    "pool" => pool(&plan, workers, cpus)?,
                    "rayon" => rayon(&plan, &rayon_pool(workers, cpus)?),
                    _ => spawn_per_task(&plan)?,
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
                let mut out = Outcome::new(plan.len() as u64).wall(wall).checksum(sum);
                let mut sp = None;
                if model == "sequential" {
                    seq_ns = Some(wall_ns);
                } else if let Some(base) = seq_ns {
                    let (x, eff) = speedup(base, wall_ns, parallelism);
                    sp = Some(x);
                    out = out.figure("speedup", x).figure("efficiency", eff);
                }
                if model == "static-split" {
                    out = out.figure("static_split_bound", plan.static_split_bound(workers));
                }
                done.push(Done { model, speedup: sp });
                if i + 1 == models.len()
                    && let Some(v) = verdict(&done, parallelism, dist)
                {
                    out = out.verdict(v);
                }
                let r = case.finish(&s, out)?;
                s.emit(r)?;
            }
            if dist == workload::Dist::Skewed && parallelism > 1 {
                let get = |m: &str| done.iter().find(|d| d.model == m).and_then(|d| d.speedup);
                if let (Some(st), Some(ra)) = (get("static-split"), get("rayon")) {
                    s.note(&format!(
                        "skewed work on {parallelism} CPUs: static-split efficiency {:.2} vs rayon {:.2} (work stealing evens out heavy tasks)",
                        st / parallelism as f64,
                        ra / parallelism as f64
                    ));
                }
            }
        }
    }
    s.finish()
}

/// C2 on one CPU (threads do not speed up CPU work), C3 on several (they do).
fn verdict(done: &[Done], parallelism: usize, dist: workload::Dist) -> Option<Verdict> {
    let measured: Vec<(&str, f64)> = done
        .iter()
        .filter_map(|d| d.speedup.map(|x| (d.model, x)))
        .collect();
    if measured.is_empty() {
        return None;
    }
    let (best_model, best) = measured
        .iter()
        .copied()
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    if parallelism == 1 {
        let list: Vec<String> = measured
            .iter()
            .map(|(m, x)| format!("{m} {x:.2}×"))
            .collect();
        return Some(Verdict::new(
            "C2",
            best <= 1.10,
            format!(
                "on 1 CPU no threaded model beat one thread on {} CPU work (speedups: {}); concurrency alone does not add compute",
                dist.name(),
                list.join(", ")
            ),
        ));
    }
    if dist != workload::Dist::Balanced {
        return None;
    }
    let eff = best / parallelism as f64;
    Some(Verdict::new(
        "C3",
        eff >= 0.70,
        format!(
            "on {parallelism} CPUs the balanced work ran {best:.2}× faster than one thread ({best_model}, efficiency {eff:.2}; threshold 0.70)"
        ),
    ))
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

    #[test]
    fn verdict_is_c2_on_one_cpu_and_c3_on_more() {
        let done = [
            Done {
                model: "sequential",
                speedup: None,
            },
            Done {
                model: "rayon",
                speedup: Some(0.98),
            },
        ];
        let v = verdict(&done, 1, Dist::Balanced).unwrap();
        assert_eq!((v.claim.as_str(), v.holds), ("C2", true));
        let done = [Done {
            model: "rayon",
            speedup: Some(3.9),
        }];
        let v = verdict(&done, 4, Dist::Balanced).unwrap();
        assert_eq!((v.claim.as_str(), v.holds), ("C3", true));
        let done = [Done {
            model: "rayon",
            speedup: Some(1.5),
        }];
        assert!(!verdict(&done, 4, Dist::Balanced).unwrap().holds);
        assert!(verdict(&done, 4, Dist::Skewed).is_none());
    }
}
