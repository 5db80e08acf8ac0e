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
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant};

use anyhow::Context as _;

use harness::claims::c11;
use harness::cli::CpuArgs;
use harness::cores::pin_round_robin;
use harness::work::{Speedups, Work, check_checksum};
use harness::{Common, Outcome, Session, Verdict};
use workload::{Checksum, Dist, TaskPlan};

use crate::cpu::sequential;
use crate::shm::SharedCounter;
use crate::workers::{checksum_words, merge_checksums, timed_workers};

harness::models! {
    /// The models of this experiment, in the order they run (the thread reference last).
    pub enum Model {
        /// This process, no lock.
        Sequential = "sequential",
        /// N worker processes, each holding its own lock around every task.
        GilProcesses = "gil-processes",
        /// N threads of this process holding one shared lock around every task.
        GilThreads = "gil-threads",
    }
}

/// The models of this experiment, in the order they run (the thread reference last).
pub const MODELS: &[Model] = Model::ALL;

impl Model {
    /// True for the thread reference, which runs after every fork (a fork
    /// must happen single-threaded).
    pub const fn starts_threads(self) -> bool {
        match self {
            Model::Sequential | Model::GilProcesses => false,
            Model::GilThreads => true,
        }
    }

    /// Runs the model's work on `plan` with `workers` (pinned round-robin to `cpus`).
    pub fn run(
        self,
        plan: &TaskPlan,
        workers: usize,
        cpus: &[usize],
    ) -> anyhow::Result<(Checksum, Duration)> {
        match self {
            Model::Sequential => Ok(sequential(plan)),
            Model::GilProcesses => gil_processes(plan, workers, cpus),
            Model::GilThreads => gil_threads(plan, workers, cpus),
        }
    }
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
        while let Some(i) = plan.claim(next.get()) {
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
                        let _ = pin_round_robin(cpus, w);
                        let mut c = Checksum::default();
                        while let Some(i) = plan.claim(next) {
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
        s.note(&format!(
            "{} needs 2 or more CPUs (--cores 2+): on one CPU nothing can scale, lock or no lock",
            harness::Claim::C11
        ));
    }
    let (threads, forking): (Vec<Model>, Vec<Model>) =
        models.iter().copied().partition(|m| m.starts_threads());
    // The speedups of every (repetition, distribution), for the threads that run after every fork.
    let mut runs: Vec<(u32, Dist, Speedups)> = Vec::new();

    for rep in 0..common.reps {
        for dist in args.dist.dists() {
            let plan = work.plan(args, dist, common.seed);
            let want = plan.expected_checksum();
            let mut speedups = Speedups::new(parallelism);
            for &model in &forking {
                let case = work.case(&s, args, (model.name(), dist, rep));
                let (sum, wall) = model
                    .run(&plan, workers, &s.cores.cpus)
                    .with_context(|| format!("{model} ({}), rep {}", dist.name(), rep + 1))?;
                check_checksum(model.name(), dist, sum, want)?;
                let out = Outcome::new(plan.len() as u64).wall(wall).checksum(sum);
                let out = speedups.add(model.name(), wall, out);
                let r = case.finish(&s, out)?;
                s.emit(r)?;
            }
            runs.push((rep, dist, speedups));
        }
    }
    // Threads only after every fork: a fork must happen single-threaded.
    for (rep, dist, speedups) in &mut runs {
        for &model in &threads {
            let plan = work.plan(args, *dist, common.seed);
            let case = work.case(&s, args, (model.name(), *dist, *rep));
            let (sum, wall) = model.run(&plan, workers, &s.cores.cpus)?;
            check_checksum(model.name(), *dist, sum, plan.expected_checksum())?;
            let out = Outcome::new(plan.len() as u64).wall(wall).checksum(sum);
            let mut out = speedups.add(model.name(), wall, out);
            if *dist == Dist::Balanced
                && let Some(v) = verdict(speedups, parallelism)
            {
                out = out.verdict(v);
            }
            let r = case.finish(&s, out)?;
            s.emit(r)?;
        }
    }
    s.finish()
}

/// C11: processes, each with its own lock, scale; threads sharing one lock flat-line.
fn verdict(speedups: &Speedups<'_>, parallelism: usize) -> Option<Verdict> {
    let (procs, threads) = (
        speedups.of(Model::GilProcesses.name())?,
        speedups.of(Model::GilThreads.name())?,
    );
    c11::verdict(
        threads,
        (
            "worker processes, each with its own lock (gil-processes)",
            procs,
        ),
        "gil-processes",
        parallelism,
    )
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

    fn speedups(procs: f64, threads: f64) -> Speedups<'static> {
        let mut s = Speedups::new(2);
        let ms = |x: f64| Duration::from_secs_f64(0.1 / x);
        s.add(Model::Sequential.name(), ms(1.0), Outcome::new(1));
        s.add(Model::GilProcesses.name(), ms(procs), Outcome::new(1));
        s.add(Model::GilThreads.name(), ms(threads), Outcome::new(1));
        s
    }

    #[test]
    fn verdict_needs_two_cpus_and_both_sides() {
        assert!(verdict(&speedups(1.9, 1.0), 1).is_none());
        assert!(verdict(&speedups(1.9, 1.0), 2).unwrap().holds());
        assert!(
            !verdict(&speedups(1.1, 1.0), 2).unwrap().holds(),
            "processes did not scale"
        );
        assert!(
            !verdict(&speedups(1.9, 1.8), 2).unwrap().holds(),
            "threads did not flat-line"
        );
        let mut no_threads = Speedups::new(2);
        no_threads.add(
            Model::Sequential.name(),
            Duration::from_millis(100),
            Outcome::new(1),
        );
        no_threads.add(
            Model::GilProcesses.name(),
            Duration::from_millis(50),
            Outcome::new(1),
        );
        assert!(verdict(&no_threads, 2).is_none());
    }
}
