//! `gil`: the `thread gil` workload, one process per core, each with its own
//! lock, the way Python's `multiprocessing` sidesteps the global interpreter
//! lock: every process has its own interpreter and its own GIL.
//!
//! Models:
//! - `sequential`: this process, no lock; the baseline.
//! - `gil-processes`: N worker processes take tasks from a shared counter and
//!   hold *their own* mutex while computing each; no process ever waits for
//!   another's lock, so they scale with cores.
//! - `gil-threads`: the reference, N threads of this process holding *one*
//!   shared mutex around every task, as `thread gil` does: only one computes
//!   at a time. It runs last (threads only after all forking), so the C11
//!   verdict compares both from one run.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;

use harness::cli::CpuArgs;
use harness::cores::pin_current_thread;
use harness::{Common, Outcome, Session, Verdict};
use workload::{Checksum, Dist, TaskPlan};

use crate::cpu::{Work, sequential};
use crate::shm::SharedCounter;
use crate::speedup;
use crate::workers::{checksum_words, merge_checksums, timed_workers};

/// The models of this experiment, in the order they run (the thread reference last).
pub const MODELS: &[&str] = &["sequential", "gil-processes", "gil-threads"];

/// The next task index from `next`, or `None` when the plan is done.
fn next_task(next: &AtomicUsize, plan: &TaskPlan) -> Option<usize> {
    let i = next.fetch_add(1, Ordering::Relaxed);
    (i < plan.len()).then_some(i)
}

/// N worker processes (pinned round-robin to `cpus`) share the tasks
/// dynamically; each holds its own lock around every task it runs.
pub fn gil_processes(
    plan: &TaskPlan,
    workers: usize,
    cpus: &[usize],
) -> anyhow::Result<(Checksum, Duration)> {
    let next = SharedCounter::new()?;
    let (parts, d) = timed_workers(workers, cpus, |_| {
        // Made in the worker, after the fork: this process's own "GIL".
        let gil = Mutex::new(());
        let mut c = Checksum::default();
        while let Some(i) = next_task(next.get(), plan) {
            let _held = gil.lock().unwrap_or_else(|e| e.into_inner());
            c.add(plan.run_task(i));
        }
        checksum_words(c)
    })?;
    Ok((merge_checksums(parts), d))
}

/// N threads (pinned round-robin to `cpus`) share the tasks dynamically and
/// hold one lock around every task. Timed from before the first spawn to the
/// last join (thread creation is microseconds against the work's milliseconds).
pub fn gil_threads(
    plan: &TaskPlan,
    workers: usize,
    cpus: &[usize],
) -> anyhow::Result<(Checksum, Duration)> {
    let next = AtomicUsize::new(0);
    let gil = Mutex::new(());
    let start = Instant::now();
    let c = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let (next, gil) = (&next, &gil);
                std::thread::Builder::new()
                    .spawn_scoped(s, move || {
                        if !cpus.is_empty() {
                            let _ = pin_current_thread(cpus[w % cpus.len()]);
                        }
                        let mut c = Checksum::default();
                        while let Some(i) = next_task(next, plan) {
                            let _held = gil.lock().unwrap_or_else(|e| e.into_inner());
                            c.add(plan.run_task(i));
                        }
                        c
                    })
                    .map_err(|e| anyhow::anyhow!("cannot start thread {w}: {e}"))
            })
            .collect::<anyhow::Result<_>>()?;
        handles
            .into_iter()
            .map(|h| h.join().map_err(|_| anyhow::anyhow!("a thread panicked")))
            .try_fold(Checksum::default(), |acc, c| anyhow::Ok(acc.merge(c?)))
    })?;
    Ok((c, start.elapsed()))
}

/// `process gil`.
pub fn run(common: &Common, args: &CpuArgs) -> anyhow::Result<()> {
    let mut s = Session::start("process", "gil", common)?;
    let models = s.select_models(MODELS)?;
    let workers = s.workers();
    harness::limits::check_processes(workers as u64)?;
    let parallelism = workers.min(s.cores.cpus.len());
    let work = Work::of(&s, args);
    if parallelism == 1 {
        s.note(
            "C11 needs 2 or more CPUs (--cores 2+): on one CPU nothing can scale, lock or no lock",
        );
    }
    let forking: Vec<&str> = models
        .iter()
        .copied()
        .filter(|&m| m != "gil-threads")
        .collect();
    let threads = models.contains(&"gil-threads");
    // Speedup of gil-processes per (repetition, distribution), for the verdict.
    let mut process_speedups: Vec<(u32, Dist, f64)> = Vec::new();
    let mut seq_walls: Vec<(u32, Dist, u64)> = Vec::new();
    let check = |model: &str, sum: Checksum, want: Checksum| {
        anyhow::ensure!(
            sum == want,
            "{model} produced checksum {} instead of {}",
            sum.hex(),
            want.hex()
        );
        Ok(())
    };

    for rep in 0..common.reps {
        for dist in args.dist.dists() {
            let plan = TaskPlan::new(dist, args.tasks as usize, work.units, common.seed);
            let want = plan.expected_checksum();
            for &model in &forking {
                let case = work.case(&s, args, (model, dist, rep));
                let (sum, wall) = match model {
                    "sequential" => sequential(&plan),
                    _ => gil_processes(&plan, workers, &s.cores.cpus),
                }
                .with_context(|| format!("{model} ({}), rep {}", dist.name(), rep + 1))?;
                check(model, sum, want)?;
                let wall_ns = wall.as_nanos() as u64;
                let mut out = Outcome::new(plan.len() as u64).wall(wall).checksum(sum);
                if model == "sequential" {
                    seq_walls.push((rep, dist, wall_ns));
                } else if let Some(&(_, _, base)) =
                    seq_walls.iter().find(|w| w.0 == rep && w.1 == dist)
                {
                    let (x, eff) = speedup(base, wall_ns, parallelism);
                    process_speedups.push((rep, dist, x));
                    out = out.figure("speedup", x).figure("efficiency", eff);
                }
                let r = case.finish(&s, out)?;
                s.emit(r)?;
            }
        }
    }
    if threads {
        // Threads only after every fork: a fork must happen single-threaded.
        for rep in 0..common.reps {
            for dist in args.dist.dists() {
                let plan = TaskPlan::new(dist, args.tasks as usize, work.units, common.seed);
                let case = work.case(&s, args, ("gil-threads", dist, rep));
                let (sum, wall) = gil_threads(&plan, workers, &s.cores.cpus)?;
                check("gil-threads", sum, plan.expected_checksum())?;
                let mut out = Outcome::new(plan.len() as u64).wall(wall).checksum(sum);
                let base = seq_walls.iter().find(|w| w.0 == rep && w.1 == dist);
                if let Some(&(_, _, base)) = base {
                    let (x, eff) = speedup(base, wall.as_nanos() as u64, parallelism);
                    out = out.figure("speedup", x).figure("efficiency", eff);
                    let procs = process_speedups.iter().find(|p| p.0 == rep && p.1 == dist);
                    if let (Dist::Balanced, Some(&(_, _, p))) = (dist, procs)
                        && let Some(v) = verdict(p, x, parallelism)
                    {
                        out = out.verdict(v);
                    }
                }
                let r = case.finish(&s, out)?;
                s.emit(r)?;
            }
        }
    }
    s.finish()
}

/// C11: processes, each with its own lock, scale; threads sharing one lock flat-line.
fn verdict(processes: f64, threads: f64, parallelism: usize) -> Option<Verdict> {
    if parallelism < 2 {
        return None;
    }
    let eff = processes / parallelism as f64;
    Some(Verdict::new(
        "C11",
        eff >= 0.70 && threads <= 1.10,
        format!(
            "on {parallelism} CPUs worker processes, each holding its own lock around every task, ran \
             {processes:.2}× one process (efficiency {eff:.2}; threshold 0.70), while threads holding one \
             shared lock ran {threads:.2}× (flat: ≤ 1.10)"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locked_threads_do_the_same_work() {
        let plan = TaskPlan::new(Dist::Balanced, 20, 200, 3);
        assert_eq!(
            gil_threads(&plan, 3, &[]).unwrap().0,
            plan.expected_checksum()
        );
    }

    #[test]
    fn verdict_needs_two_cpus_and_both_sides() {
        assert!(verdict(1.9, 1.0, 1).is_none());
        assert!(verdict(1.9, 1.0, 2).unwrap().holds);
        assert!(
            !verdict(1.1, 1.0, 2).unwrap().holds,
            "processes did not scale"
        );
        assert!(
            !verdict(1.9, 1.8, 2).unwrap().holds,
            "threads did not flat-line"
        );
    }
}
