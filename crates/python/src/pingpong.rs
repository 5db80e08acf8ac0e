//! `pingpong`: one round trip of a one-byte token between two units in
//! CPython (`py/pingpong.py`): two asyncio tasks through `asyncio.Queue`,
//! two threads through `queue.Queue`, two processes through a
//! `multiprocessing.Pipe`. Ping runs on the placement's first CPU, pong on
//! its second; two tasks share their loop's thread, so `asyncio-queue` has
//! no cross-cpu case. Records carry `unit`, so `report` counts them in C10.

use harness::cli::PlacementArgs;
use harness::sample::Sampled;
use harness::{Common, Outcome, Placement, Session};
use serde_json::json;

use crate::interp::{Interpreter, PythonArgs, schedule};

harness::models! {
    /// The models of this experiment, in the order they run.
    pub enum Model {
        /// Two asyncio tasks, an `asyncio.Queue` each way.
        AsyncioQueue = "asyncio-queue",
        /// Two threads, a `queue.Queue` each way.
        QueueThreads = "queue-threads",
        /// Two processes, a `multiprocessing.Pipe` between them.
        MultiprocessingPipe = "multiprocessing-pipe",
    }
}

/// The models of this experiment.
pub const MODELS: &[Model] = Model::ALL;

impl Model {
    /// The kind of unit at each end.
    pub const fn unit(self) -> &'static str {
        match self {
            Model::AsyncioQueue => "coroutine",
            Model::QueueThreads => "thread",
            Model::MultiprocessingPipe => "process",
        }
    }

    /// Whether its two ends can run on two CPUs.
    pub const fn crosses_cpus(self) -> bool {
        !matches!(self, Model::AsyncioQueue)
    }
}

/// `python pingpong`.
pub fn run(common: &Common, args: &PlacementArgs, py_args: &PythonArgs) -> anyhow::Result<()> {
    let mut s = Session::start("python", "pingpong", common)?;
    let models = s.select_models(MODELS)?;
    let placements = s.placements(args.placement)?;
    let mut py = Interpreter::start(&mut s, py_args)?;
    if placements
        .iter()
        .any(|p| matches!(p, Placement::CrossCpu(..)))
        && models.contains(&Model::AsyncioQueue)
    {
        s.note(
            "asyncio-queue: both tasks run on their loop's one thread, so it has no cross-cpu case",
        );
    }
    for rep in 0..common.reps {
        for place in &placements {
            for &model in &models {
                if !model.crosses_cpus() && matches!(place, Placement::CrossCpu(..)) {
                    continue;
                }
                let case = place.annotate(s.case(model.name(), place.name(), rep));
                let case = py.annotate(case, model.unit());
                let r = py.call(json!({
                    "cmd": "pingpong",
                    "model": model.name(),
                    "cpu_a": place.a(),
                    "cpu_b": place.b(),
                    "schedule": schedule(&s.schedule()),
                }))?;
                let (h, samples) = r.histogram()?;
                anyhow::ensure!(samples > 0, "{}: no round trip", model.name());
                let done = Sampled {
                    samples,
                    wall: r.wall()?,
                };
                let out =
                    Outcome::round_trips(done, h).figure("units_started", r.u64("started")? as f64);
                py.emit(&mut s, case, out, &r.usage)?;
            }
        }
    }
    py.finish()?;
    s.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tasks_share_one_thread() {
        let crossing: Vec<&str> = MODELS
            .iter()
            .filter(|m| m.crosses_cpus())
            .map(|m| m.name())
            .collect();
        assert_eq!(crossing, ["queue-threads", "multiprocessing-pipe"]);
    }
}
