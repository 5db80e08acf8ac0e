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

use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context as _;

use harness::cli::CpuArgs;
use harness::{Case, Common, Outcome, Session, Timer, Verdict};
use workload::{Checksum, Dist, TaskPlan};

use crate::shm::SharedCounter;
use crate::speedup;
use crate::workers::{checksum_words, merge_checksums, timed_workers};

/// The models of this experiment, in the order they run (baseline first).
pub const MODELS: &[&str] = &["sequential", "static-split", "pool"];

/// Runs every task in this process.
pub fn sequential(plan: &TaskPlan) -> anyhow::Result<(Checksum, Duration)> {
    let t = Timer::start();
    let c = plan.expected_checksum();
    Ok((c, t.elapsed()))
}

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
        loop {
            let i = next.get().fetch_add(1, Ordering::Relaxed);
            if i >= plan.len() {
                return checksum_words(c);
            }
            c.add(plan.run_task(i));
        }
    })?;
    Ok((merge_checksums(parts), d))
}

/// The work of a `cpu` or `gil` run: its total units, and the calibration
/// they came from when `--work-ms` was used (kept in the records).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Work {
    pub(crate) units: u64,
    pub(crate) per_ms: Option<f64>,
}

impl Work {
    /// Total units of `--work-units`, or `--work-ms` through the calibration.
    pub(crate) fn of(s: &Session, args: &CpuArgs) -> Work {
        match args.work_units {
            Some(units) => Work {
                units,
                per_ms: args.calibration.units_per_ms,
            },
            None => {
                let per_ms = s.units_per_ms(&args.calibration);
                Work {
                    units: ((args.work_ms * per_ms).round() as u64).max(1),
                    per_ms: Some(per_ms),
                }
            }
        }
    }

    /// Starts the case of `model` on `dist`, with the work's parameters.
    pub(crate) fn case(
        &self,
        s: &Session,
        args: &CpuArgs,
        (model, dist, rep): (&str, Dist, u32),
    ) -> Case {
        let workers = if model == "sequential" {
            1
        } else {
            s.workers()
        };
        let mut case = s
            .case(model, dist.name(), rep)
            .param("tasks", args.tasks)
            .param("work_units", self.units)
            .param("dist", dist.name())
            .param("workers", workers);
        if let Some(u) = self.per_ms {
            case.set_param("units_per_ms", u);
        }
        case
    }
}

/// `process cpu`.
pub fn run(common: &Common, args: &CpuArgs) -> anyhow::Result<()> {
    let mut s = Session::start("process", "cpu", common)?;
    let models = s.select_models(MODELS)?;
    let workers = s.workers();
    harness::limits::check_processes(workers as u64)?;
    let parallelism = workers.min(s.cores.cpus.len());
    let work = Work::of(&s, args);
    let no_baseline = !models.contains(&"sequential");
    if no_baseline {
        s.note("no sequential model selected: checking checksums against an untimed sequential run; no speedup");
    }

    for rep in 0..common.reps {
        for dist in args.dist.dists() {
            let plan = TaskPlan::new(dist, args.tasks as usize, work.units, common.seed);
            let mut expected = no_baseline.then(|| plan.expected_checksum());
            let mut seq_ns = None;
            let mut speedups: Vec<(&str, f64)> = Vec::new();
            for (i, &model) in models.iter().enumerate() {
                let case = work.case(&s, args, (model, dist, rep));
                let (sum, wall) = match model {
                    "sequential" => sequential(&plan),
                    "static-split" => static_split(&plan, workers, &s.cores.cpus),
                    _ => pool(&plan, workers, &s.cores.cpus),
                }
                .with_context(|| format!("{model} ({}), rep {}", dist.name(), rep + 1))?;
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
                if model == "sequential" {
                    seq_ns = Some(wall_ns);
                } else if let Some(base) = seq_ns {
                    let (x, eff) = speedup(base, wall_ns, parallelism);
                    speedups.push((model, x));
                    out = out.figure("speedup", x).figure("efficiency", eff);
                }
                if model == "static-split" {
                    out = out.figure("static_split_bound", plan.static_split_bound(workers));
                }
                if i + 1 == models.len()
                    && let Some(v) = verdict(&speedups, parallelism, dist)
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

/// C2 on one CPU (more processes do not speed up CPU work), C3 on several (they do).
fn verdict(speedups: &[(&str, f64)], parallelism: usize, dist: Dist) -> Option<Verdict> {
    let &(best_model, best) = speedups.iter().max_by(|a, b| a.1.total_cmp(&b.1))?;
    if parallelism == 1 {
        let list: Vec<String> = speedups
            .iter()
            .map(|(m, x)| format!("{m} {x:.2}×"))
            .collect();
        return Some(Verdict::new(
            "C2",
            best <= 1.10,
            format!(
                "on 1 CPU no worker-process model beat one process on {} CPU work (speedups: {}); \
                 concurrency alone does not add compute",
                dist.name(),
                list.join(", ")
            ),
        ));
    }
    if dist != Dist::Balanced {
        return None;
    }
    let eff = best / parallelism as f64;
    Some(Verdict::new(
        "C3",
        eff >= 0.70,
        format!(
            "on {parallelism} CPUs the balanced work ran {best:.2}× faster in worker processes than in one \
             ({best_model}, efficiency {eff:.2}; threshold 0.70)"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_is_c2_on_one_cpu_and_c3_on_more() {
        let v = verdict(&[("pool", 0.98)], 1, Dist::Balanced).unwrap();
        assert_eq!((v.claim.as_str(), v.holds), ("C2", true));
        let v = verdict(&[("pool", 3.9), ("static-split", 3.5)], 4, Dist::Balanced).unwrap();
        assert_eq!((v.claim.as_str(), v.holds), ("C3", true));
        assert!(v.text.contains("pool"), "{}", v.text);
        assert!(!verdict(&[("pool", 1.5)], 4, Dist::Balanced).unwrap().holds);
        assert!(verdict(&[("pool", 1.5)], 4, Dist::Skewed).is_none());
        assert!(verdict(&[], 4, Dist::Balanced).is_none());
    }
}
