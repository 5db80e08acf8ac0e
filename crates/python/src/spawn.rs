//! `spawn`: the cost of creating a unit in CPython, running an empty body and
//! joining it (`py/spawn.py`): a `threading.Thread`, a `multiprocessing.Process`
//! of each start method (fork, forkserver, spawn), an asyncio task awaited
//! from inside the running loop. Records carry `unit` (`thread`, `process`,
//! `coroutine`), so `report` counts them in C7 beside the Rust units; a note
//! puts the three kinds side by side.

use harness::sample::Sampled;
use harness::{Common, Outcome, Session, fmt_ns};
use serde_json::json;

use crate::interp::{Interpreter, PythonArgs, schedule};

harness::models! {
    /// The models of this experiment, in the order they run.
    pub enum Model {
        /// `threading.Thread(...).start()` and `.join()`.
        Threading = "threading",
        /// `multiprocessing.Process` with the `fork` start method.
        MultiprocessingFork = "multiprocessing-fork",
        /// `multiprocessing.Process` with the `forkserver` start method.
        MultiprocessingForkserver = "multiprocessing-forkserver",
        /// `multiprocessing.Process` with the `spawn` start method (a fresh interpreter).
        MultiprocessingSpawn = "multiprocessing-spawn",
        /// `asyncio.ensure_future(...)` awaited inside the running loop.
        Asyncio = "asyncio",
    }
}

/// The models of this experiment.
pub const MODELS: &[Model] = Model::ALL;

impl Model {
    /// The kind of unit it creates.
    pub const fn unit(self) -> &'static str {
        match self {
            Model::Threading => "thread",
            Model::MultiprocessingFork
            | Model::MultiprocessingForkserver
            | Model::MultiprocessingSpawn => "process",
            Model::Asyncio => "coroutine",
        }
    }

    /// The multiprocessing start method, for the process models.
    pub const fn start_method(self) -> Option<&'static str> {
        match self {
            Model::MultiprocessingFork => Some("fork"),
            Model::MultiprocessingForkserver => Some("forkserver"),
            Model::MultiprocessingSpawn => Some("spawn"),
            Model::Threading | Model::Asyncio => None,
        }
    }
}

/// The cheapest p50 of each kind of unit measured, heaviest kind first:
/// `process 2.1 ms (multiprocessing-fork) > thread 97 µs (threading) > coroutine 6.2 µs (asyncio)`.
pub fn side_by_side(p50s: &[(Model, u64)]) -> Option<String> {
    let kinds = ["process", "thread", "coroutine"];
    let best: Vec<String> = kinds
        .iter()
        .filter_map(|k| {
            let (m, ns) = p50s
                .iter()
                .filter(|(m, _)| m.unit() == *k)
                .min_by_key(|(_, ns)| *ns)?;
            Some(format!("{k} {} ({})", fmt_ns(*ns as f64), m.name()))
        })
        .collect();
    (best.len() >= 2).then(|| format!("create + join, p50: {}", best.join(" > ")))
}

/// `python spawn`.
pub fn run(common: &Common, py_args: &PythonArgs) -> anyhow::Result<()> {
    let mut s = Session::start("python", "spawn", common)?;
    let models = s.select_models(MODELS)?;
    let mut py = Interpreter::start(&mut s, py_args)?;
    for rep in 0..common.reps {
        let mut p50s = Vec::new();
        for &model in &models {
            let mut case = s.case(model.name(), "", rep);
            if let Some(m) = model.start_method() {
                case = case.param("start_method", m);
            }
            if model == Model::Asyncio {
                case = case.param("clock", "inside-loop");
            }
            let case = py.annotate(case, model.unit());
            let r = py.call(json!({
                "cmd": "spawn",
                "model": model.name(),
                "schedule": schedule(&s.schedule()),
            }))?;
            let (h, samples) = r.histogram()?;
            let started = r.u64("started")?;
            anyhow::ensure!(
                started >= samples && samples > 0,
                "{}: {started} bodies ran for {samples} samples",
                model.name()
            );
            p50s.push((model, h.value_at_quantile(0.5)));
            let done = Sampled {
                samples,
                wall: r.wall()?,
            };
            let out = Outcome::sampled(done, h).figure("units_started", started as f64);
            py.emit(&mut s, case, out, &r.usage)?;
        }
        if let Some(line) = side_by_side(&p50s) {
            s.note(&line);
        }
    }
    py.finish()?;
    s.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kinds_are_put_side_by_side_heaviest_first() {
        let line = side_by_side(&[
            (Model::Threading, 97_000),
            (Model::MultiprocessingFork, 2_100_000),
            (Model::MultiprocessingSpawn, 46_000_000),
            (Model::Asyncio, 6_200),
        ])
        .unwrap();
        assert!(
            line.starts_with("create + join, p50: process ")
                && line.contains("(multiprocessing-fork) > thread"),
            "{line}"
        );
        assert!(side_by_side(&[(Model::Asyncio, 1)]).is_none());
    }
}
