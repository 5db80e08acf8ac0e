//! `memory`: resident memory per idle unit in CPython (`py/memory.py`): N
//! asyncio tasks awaiting one event, N threads waiting on one, N forked
//! processes waiting on one, started in steps; after each step memory is
//! read, and the slope of a least-squares line through the points is what
//! one more unit costs. Threads and tasks are read as the interpreter's
//! resident memory (RSS), processes as the proportional memory (PSS) of the
//! interpreter and every child, as the Rust binaries read theirs.
//!
//! Each kind gets its own count: `--tasks` asyncio tasks (default 100,000),
//! `--threads` threads (1,000), `--processes` processes (50): a Python
//! process costs megabytes, a task a kilobyte.

use std::time::Duration;

use clap::Args;
use harness::cli::MemoryArgs;
use harness::stats::fit_line;
use harness::{Common, Outcome, Session, limits};
use serde_json::json;

use crate::interp::{Interpreter, PythonArgs};

harness::models! {
    /// The models of this experiment, lightest first.
    pub enum Model {
        /// asyncio tasks awaiting one `asyncio.Event`.
        Asyncio = "asyncio",
        /// Threads waiting on one `threading.Event`.
        Threading = "threading",
        /// Forked processes waiting on one `multiprocessing.Event`.
        Multiprocessing = "multiprocessing",
    }
}

/// The models of this experiment.
pub const MODELS: &[Model] = Model::ALL;
/// asyncio tasks alive at the end, unless `--tasks` says otherwise.
pub const DEFAULT_TASKS: u64 = 100_000;
/// Threads alive at the end, unless `--threads` says otherwise.
pub const DEFAULT_THREADS: u64 = 1_000;
/// Processes alive at the end, unless `--processes` says otherwise.
pub const DEFAULT_PROCESSES: u64 = 50;
/// The stack a Python thread reserves (the default pthread stack).
const THREAD_STACK_BYTES: u64 = 8 << 20;
/// Memory to have at hand per unit, generously: a forked interpreter
/// copies a few MiB as it runs, a task costs about a KiB.
const PROCESS_BYTES: u64 = 16 << 20;
const TASK_BYTES: u64 = 4 << 10;

/// Flags of `python memory`: the shared ones, and a count per kind of unit.
#[derive(Debug, Clone, Args)]
pub struct PyMemoryArgs {
    #[command(flatten)]
    pub memory: MemoryArgs,

    /// Threads alive at the end (the `threading` model)
    #[arg(long, allow_negative_numbers = true, value_name = "N", default_value_t = DEFAULT_THREADS,
          value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub threads: u64,

    /// Processes alive at the end (the `multiprocessing` model)
    #[arg(long, allow_negative_numbers = true, value_name = "N", default_value_t = DEFAULT_PROCESSES,
          value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub processes: u64,
}

impl Model {
    /// The kind of unit it keeps alive.
    pub const fn unit(self) -> &'static str {
        match self {
            Model::Asyncio => "coroutine",
            Model::Threading => "thread",
            Model::Multiprocessing => "process",
        }
    }

    /// How many units it keeps alive at the end.
    pub fn units(self, args: &PyMemoryArgs) -> u64 {
        match self {
            Model::Asyncio => args.memory.tasks.unwrap_or(DEFAULT_TASKS),
            Model::Threading => args.threads,
            Model::Multiprocessing => args.processes,
        }
    }
}

/// Checks the OS limits and the memory the chosen models need.
fn preflight(models: &[Model], args: &PyMemoryArgs) -> anyhow::Result<()> {
    for &m in models {
        let n = m.units(args);
        match m {
            Model::Threading => limits::check_threads(n, THREAD_STACK_BYTES)?,
            Model::Multiprocessing => {
                limits::check_processes(n)?;
                limits::check_memory(n * PROCESS_BYTES, &format!("{n} Python processes"))?;
            }
            Model::Asyncio => {
                limits::check_memory(n * TASK_BYTES, &format!("{n} asyncio tasks"))?;
            }
        }
    }
    Ok(())
}

/// `python memory`.
pub fn run(common: &Common, args: &PyMemoryArgs, py_args: &PythonArgs) -> anyhow::Result<()> {
    let mut s = Session::start("python", "memory", common)?;
    let models = s.select_models(MODELS)?;
    preflight(&models, args)?;
    let mut py = Interpreter::start(&mut s, py_args)?;
    for rep in 0..common.reps {
        for &model in &models {
            let n = model.units(args);
            let case = s
                .case(model.name(), "", rep)
                .param("tasks", n)
                .param("steps", args.memory.steps);
            let case = py.annotate(case, model.unit());
            let r = py.call(json!({
                "cmd": "memory",
                "model": model.name(),
                "units": n,
                "steps": args.memory.steps,
            }))?;
            let started = r.u64("started")?;
            anyhow::ensure!(
                started == n,
                "{}: {started} of {n} units started",
                model.name()
            );
            let points =
                r.ok.get("points")
                    .and_then(serde_json::Value::as_array)
                    .ok_or_else(|| anyhow::anyhow!("python memory: no points"))?
                    .iter()
                    .map(|p| {
                        Some((
                            p.get(0)?.as_f64()?,
                            p.get(1)?.as_f64()?,
                            p.get(2)?.as_f64()?,
                        ))
                    })
                    .collect::<Option<Vec<(f64, f64, f64)>>>()
                    .ok_or_else(|| {
                        anyhow::anyhow!("python memory: a point is not [units, rss, pss]")
                    })?;
            let out = outcome(model, n, &points, r.wall()?)?;
            py.emit(&mut s, case, out, &r.usage)?;
        }
    }
    py.finish()?;
    s.finish()
}

/// The figures of one model's points `(units, rss, pss)`: the slope that is
/// its memory per unit (PSS for processes, RSS for threads and tasks), both
/// slopes, the fit, and the memory at the start and at the most units.
fn outcome(
    model: Model,
    n: u64,
    points: &[(f64, f64, f64)],
    wall: Duration,
) -> anyhow::Result<Outcome> {
    let line = |f: fn(&(f64, f64, f64)) -> f64| {
        fit_line(&points.iter().map(|p| (p.0, f(p))).collect::<Vec<_>>())
            .ok_or_else(|| anyhow::anyhow!("{}: no memory points to fit", model.name()))
    };
    let rss = line(|p| p.1)?;
    let pss = line(|p| p.2)?;
    let by_pss = model == Model::Multiprocessing;
    let main = if by_pss { &pss } else { &rss };
    let read = |p: &(f64, f64, f64)| if by_pss { p.2 } else { p.1 };
    let (first, last) = (points.first(), points.last());
    Ok(Outcome::new(n)
        .wall(wall)
        .figure("bytes_per_unit", main.slope)
        .figure("rss_bytes_per_unit", rss.slope)
        .figure("pss_bytes_per_unit", pss.slope)
        .figure("fit_r2", main.r2)
        .figure("rss_base_bytes", first.map_or(0.0, read))
        .figure("rss_peak_bytes", last.map_or(0.0, read))
        .figure("units_alive", n as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn processes_are_read_by_pss_the_others_by_rss() {
        let pts: Vec<(f64, f64, f64)> = (0..5)
            .map(|i| {
                let u = f64::from(i) * 10.0;
                (u, 1e6 + u * 8000.0, 5e5 + u * 3000.0)
            })
            .collect();
        let p = outcome(Model::Multiprocessing, 40, &pts, Duration::from_millis(1)).unwrap();
        assert!((p.figures["bytes_per_unit"] - 3000.0).abs() < 1e-6);
        let t = outcome(Model::Threading, 40, &pts, Duration::from_millis(1)).unwrap();
        assert!((t.figures["bytes_per_unit"] - 8000.0).abs() < 1e-6);
        assert_eq!(t.figures["rss_peak_bytes"], 1e6 + 40.0 * 8000.0);
    }
}
