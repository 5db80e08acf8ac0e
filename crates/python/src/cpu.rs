//! `cpu` and `gil`: the `cpu` work (the Rust plan's task sizes and seed) done
//! by CPython's ways to run tasks, checked against the Rust kernel's checksum.
//!
//! Models (`py/cpu.py` says how each one runs):
//! - `sequential`: every task on the main thread; the baseline.
//! - `threading`: a `threading.Thread` per worker, dynamic split.
//! - `multiprocessing-pool`: a `multiprocessing.Pool`, one process per worker.
//! - `futures-thread-pool`, `futures-process-pool`: `concurrent.futures`.
//! - `asyncio`: a task per plan task on one event loop.
//!
//! `cpu` decides C2 on one CPU and C3 on more (`c3::cpu`), like every `cpu`.
//! `gil` runs `sequential`, `threading` and `multiprocessing-pool` and
//! decides C11 from CPython alone: under the GIL the threads stay flat while
//! the processes, each with its own interpreter and GIL, scale. On an
//! interpreter without the GIL (a free-threaded build) the claim is put the
//! other way round: the GIL being the cause, the same threads must scale.
//!
//! The work is in this interpreter's units: `--work-ms` through its own
//! calibration (`--units-per-ms`, or measured now by the Python side), the
//! same units and checksum as a Rust run of the same `--work-units`.

use harness::claims::{c3, c11};
use harness::cli::{CalibrationArgs, CpuArgs};
use harness::work::{Expected, Speedups, Work, cpu_outcome};
use harness::{Claim, Common, Session, Verdict};
use serde_json::json;
use workload::{Dist, TaskPlan};

use crate::interp::{Interpreter, PythonArgs};

harness::models! {
    /// The models of `cpu`, in the order they run (baseline first).
    pub enum Model {
        /// Every task on the main thread.
        Sequential = "sequential",
        /// One `threading.Thread` per worker, taking tasks from a shared counter.
        Threading = "threading",
        /// A `multiprocessing.Pool` of one process per worker.
        MultiprocessingPool = "multiprocessing-pool",
        /// `concurrent.futures.ThreadPoolExecutor`.
        FuturesThreadPool = "futures-thread-pool",
        /// `concurrent.futures.ProcessPoolExecutor`.
        FuturesProcessPool = "futures-process-pool",
        /// One asyncio task per plan task on one event loop.
        Asyncio = "asyncio",
    }
}

/// The models of `cpu`.
pub const CPU_MODELS: &[Model] = Model::ALL;
/// The models of `gil`: the threads and the processes, beside the baseline.
pub const GIL_MODELS: &[Model] = &[
    Model::Sequential,
    Model::Threading,
    Model::MultiprocessingPool,
];

impl Model {
    /// The kind of unit that runs the work.
    pub const fn unit(self) -> &'static str {
        match self {
            Model::Sequential | Model::Threading | Model::FuturesThreadPool => "thread",
            Model::MultiprocessingPool | Model::FuturesProcessPool => "process",
            Model::Asyncio => "coroutine",
        }
    }

    /// Workers it starts for `--cores N`: one for the sequential run and the
    /// event loop, else N.
    pub const fn workers(self, n: usize) -> usize {
        match self {
            Model::Sequential | Model::Asyncio => 1,
            _ => n,
        }
    }
}

/// Kernel units per millisecond of this interpreter: `--units-per-ms`, or
/// measured now by the Python side.
pub fn units_per_ms(
    s: &Session,
    py: &mut Interpreter,
    args: &CalibrationArgs,
) -> anyhow::Result<f64> {
    if let Some(u) = args.units_per_ms {
        return Ok(u);
    }
    let u = py.calibrate()?;
    if !s.common.quiet {
        s.note(&format!(
            "calibrated {u:.3} units/ms for this interpreter; pass --units-per-ms {u:.3} to repeat exactly this work"
        ));
    }
    Ok(u)
}

/// The work of `--work-units`, or `--work-ms` in this interpreter's units.
fn work(s: &Session, py: &mut Interpreter, args: &CpuArgs) -> anyhow::Result<Work> {
    Ok(match args.work_units {
        Some(units) => Work {
            units,
            units_per_ms: args.calibration.units_per_ms,
        },
        None => Work::from_ms(args.work_ms, units_per_ms(s, py, &args.calibration)?),
    })
}

/// Runs `plan` with `model` in the interpreter: the checksum, the wall time
/// of the work, and the units (threads, processes, tasks) that started.
pub fn run_plan(
    py: &mut Interpreter,
    model: Model,
    plan: &TaskPlan,
    workers: usize,
    cpus: &[usize],
) -> anyhow::Result<(
    workload::Checksum,
    std::time::Duration,
    u64,
    crate::reply::Usage,
)> {
    let r = py.call(json!({
        "cmd": "cpu",
        "model": model.name(),
        "sizes": plan.sizes,
        "seed": plan.seed,
        "workers": workers,
        "cpus": cpus,
    }))?;
    let started = r.u64("started")?;
    let want = match model {
        Model::Threading => Some(workers as u64),
        Model::Asyncio => Some(plan.len() as u64),
        Model::Sequential => Some(1),
        _ => None,
    };
    anyhow::ensure!(
        want.is_none_or(|w| w == started) && started >= 1,
        "{}: {started} unit(s) started where {} should have",
        model.name(),
        want.unwrap_or(1)
    );
    Ok((r.checksum()?, r.wall()?, started, r.usage))
}

/// `python cpu` (`gil` false) or `python gil` (`gil` true).
pub fn run(common: &Common, args: &CpuArgs, py_args: &PythonArgs, gil: bool) -> anyhow::Result<()> {
    let experiment = if gil { "gil" } else { "cpu" };
    let mut s = Session::start("python", experiment, common)?;
    let models = s.select_models(if gil { GIL_MODELS } else { CPU_MODELS })?;
    let mut py = Interpreter::start(&mut s, py_args)?;
    let workers = s.workers();
    let parallelism = workers.min(s.cores.cpus.len());
    let work = work(&s, &mut py, args)?;
    let cpus = s.cores.cpus.clone();
    let names: Vec<&str> = models.iter().map(|m| m.name()).collect();
    if gil && parallelism == 1 {
        s.note(&format!(
            "{} needs 2 or more CPUs (--cores 2+): on one CPU nothing can scale, GIL or no GIL",
            Claim::C11
        ));
    }
    if gil && !py.id.gil {
        s.note(&format!(
            "this interpreter runs without the GIL: {} holds here if its threads scale like its processes",
            Claim::C11
        ));
    }
    for rep in 0..common.reps {
        for dist in args.dist.dists() {
            let plan = work.plan(args, dist, common.seed);
            let mut expected = Expected::new(&plan, &names);
            let mut speedups = Speedups::new(parallelism);
            for (i, &model) in models.iter().enumerate() {
                let mut case = work.case(&s, args, (model.name(), dist, rep));
                case.set_param("workers", model.workers(workers));
                let case = py.annotate(case, model.unit());
                let (sum, wall, started, usage) =
                    run_plan(&mut py, model, &plan, model.workers(workers), &cpus)?;
                let mut out = cpu_outcome(
                    &mut expected,
                    &mut speedups,
                    &plan,
                    workers,
                    model.name(),
                    dist,
                    sum,
                    wall,
                )?
                .figure("units_started", started as f64);
                if i + 1 == models.len() {
                    let v = if gil {
                        // C11 is decided on balanced work, as in every binary.
                        (dist == Dist::Balanced)
                            .then(|| gil_verdict(&speedups, parallelism, py.id.gil))
                            .flatten()
                    } else {
                        c3::cpu(speedups.measured(), parallelism, dist.name(), "one thread")
                    };
                    out = out.verdict(v);
                }
                py.emit(&mut s, case, out, &usage)?;
            }
        }
    }
    py.finish()?;
    s.finish()
}

/// C11 from CPython alone: with the GIL, its threads against its processes,
/// each with its own interpreter and GIL ([`c11::compare`]); without it (a
/// free-threaded build), the same threads must scale
/// ([`c11::without_gil`]). `None` on one CPU, or until both were measured.
fn gil_verdict(speedups: &Speedups<'_>, parallelism: usize, gil_on: bool) -> Option<Verdict> {
    let threads = speedups.of(Model::Threading.name())?;
    let procs = speedups.of(Model::MultiprocessingPool.name())?;
    if !gil_on {
        return c11::without_gil(
            c11::Side {
                what: "CPython threads (threading)",
                model: Model::Threading.name(),
                speedup: threads,
            },
            c11::Side {
                what: "worker processes (multiprocessing-pool)",
                model: Model::MultiprocessingPool.name(),
                speedup: procs,
            },
            parallelism,
        );
    }
    c11::compare(
        c11::Side {
            what: "CPython threads under the GIL (threading)",
            model: Model::Threading.name(),
            speedup: threads,
        },
        c11::Side {
            what: "worker processes, each with its own interpreter and GIL (multiprocessing-pool)",
            model: Model::MultiprocessingPool.name(),
            speedup: procs,
        },
        parallelism,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use harness::Outcome;
    use std::time::Duration;

    fn speedups(threads: f64, procs: f64) -> Speedups<'static> {
        let mut s = Speedups::new(2);
        let at = |x: f64| Duration::from_secs_f64(0.1 / x);
        s.add(Model::Sequential.name(), at(1.0), Outcome::new(1));
        s.add(Model::Threading.name(), at(threads), Outcome::new(1));
        s.add(
            Model::MultiprocessingPool.name(),
            at(procs),
            Outcome::new(1),
        );
        s
    }

    #[test]
    fn c11_compares_cpythons_threads_with_its_processes() {
        let v = gil_verdict(&speedups(0.97, 1.9), 2, true).unwrap();
        assert!(v.holds(), "{}", v.text);
        assert_eq!(
            v.compared,
            ["sequential", "threading", "multiprocessing-pool"]
        );
        assert!(!gil_verdict(&speedups(1.9, 1.9), 2, true).unwrap().holds());
        let free = gil_verdict(&speedups(1.9, 1.9), 2, false).unwrap();
        assert!(
            free.holds(),
            "without the GIL the threads scale: {}",
            free.text
        );
        assert!(
            !gil_verdict(&speedups(0.97, 1.9), 2, false).unwrap().holds(),
            "flat threads without the GIL contradict the claim"
        );
        assert!(gil_verdict(&speedups(0.97, 1.9), 1, true).is_none());
    }

    #[test]
    fn units_and_workers_follow_the_model() {
        assert_eq!(Model::Asyncio.unit(), "coroutine");
        assert_eq!(Model::FuturesProcessPool.unit(), "process");
        assert_eq!(Model::Asyncio.workers(4), 1);
        assert_eq!(Model::Threading.workers(4), 4);
        assert!(GIL_MODELS.iter().all(|m| CPU_MODELS.contains(m)));
    }
}
