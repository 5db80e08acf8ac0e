//! `kitchen`: the seed notes' orders cooked by CPython (`py/kitchen.py`):
//! prep steps are kernel work in this interpreter's units, cooking steps are
//! waits (`time.sleep` or `await asyncio.sleep`).
//!
//! Models: `sequential`; `asyncio` (one event loop: concurrent only, C1 on one
//! CPU); `threading` (a thread per order); `multiprocessing` (a process per
//! order); `multiprocessing-pool` (one process per worker, each order after
//! the other: parallel only); `multiprocessing-asyncio` (one process per
//! worker, each an asyncio loop: parallel and concurrent, C4 where the
//! orders' prep needs more than one CPU). On one CPU the last two are
//! `sequential` and `asyncio` in a child process and are skipped unless
//! asked for.

use harness::claims::c4;
use harness::cli::KitchenArgs;
use harness::kitchen::{self, Cooked};
use harness::{Common, Session, limits};
use serde_json::{Value, json};
use workload::{Action, KitchenPlan};

use crate::cpu::units_per_ms;
use crate::interp::{Interpreter, PythonArgs};

harness::models! {
    /// The models of this experiment, in the order they run (baseline first).
    pub enum Model {
        /// One cook, order after order, `time.sleep` for every wait.
        Sequential = "sequential",
        /// One asyncio event loop, a task per order.
        Asyncio = "asyncio",
        /// A `threading.Thread` per order.
        Threading = "threading",
        /// A `multiprocessing.Process` per order.
        Multiprocessing = "multiprocessing",
        /// One process per worker, each cooking its orders one after another.
        MultiprocessingPool = "multiprocessing-pool",
        /// One process per worker, each an asyncio loop over its orders.
        MultiprocessingAsyncio = "multiprocessing-asyncio",
    }
}

/// The models of this experiment.
pub const MODELS: &[Model] = Model::ALL;

/// The models C4 compares: both at once, and each alone.
pub const C4_MODELS: c4::Models<'static> = c4::Models {
    both: Model::MultiprocessingAsyncio.name(),
    parallel_only: Model::MultiprocessingPool.name(),
    concurrent_only: Model::Asyncio.name(),
};

impl Model {
    /// The kind of unit that cooks.
    pub const fn unit(self) -> &'static str {
        match self {
            Model::Sequential | Model::Threading => "thread",
            Model::Asyncio => "coroutine",
            Model::Multiprocessing | Model::MultiprocessingPool | Model::MultiprocessingAsyncio => {
                "process"
            }
        }
    }

    /// Runs on one CPU whatever `--cores` says (one thread, one loop).
    pub const fn on_one_cpu(self) -> bool {
        matches!(self, Model::Sequential | Model::Asyncio)
    }

    /// With one worker, the same as another model.
    pub const fn same_as_another_on_one_cpu(self) -> bool {
        matches!(
            self,
            Model::MultiprocessingPool | Model::MultiprocessingAsyncio
        )
    }
}

/// Order `i`'s steps as the Python side takes them.
fn steps(plan: &KitchenPlan, i: usize) -> Value {
    plan.actions(i)
        .into_iter()
        .map(|a| match a {
            Action::Prep { units, seed } => json!(["p", units, seed]),
            Action::Wait { ms } => json!(["w", ms]),
        })
        .collect()
}

/// `python kitchen`.
pub fn run(common: &Common, args: &KitchenArgs, py_args: &PythonArgs) -> anyhow::Result<()> {
    let orders = args.orders as usize;
    let mut s = Session::start("python", "kitchen", common)?;
    let mut models = s.select_models(MODELS)?;
    let parallelism = s.workers().min(s.cores.cpus.len());
    if parallelism == 1 && common.models.is_empty() {
        models.retain(|m| !m.same_as_another_on_one_cpu());
        s.note("on one CPU multiprocessing-pool is sequential and multiprocessing-asyncio is asyncio, each in a child process: skipped");
    }
    if models.contains(&Model::Threading) {
        limits::check_threads(args.orders, 8 << 20)?;
    }
    if models.contains(&Model::Multiprocessing) {
        limits::check_processes(args.orders)?;
    }
    let mut py = Interpreter::start(&mut s, py_args)?;
    let per_ms = units_per_ms(&s, &mut py, &args.calibration)?;
    let plan = KitchenPlan::new(orders, per_ms, common.seed);
    let expected = plan.expected_checksum();
    let all: Vec<Value> = (0..orders).map(|i| steps(&plan, i)).collect();
    for rep in 0..common.reps {
        let mut walls: Vec<(&str, f64)> = Vec::new();
        for &model in &models {
            let workers = if model.on_one_cpu() { 1 } else { s.workers() };
            let case = s
                .case(model.name(), "", rep)
                .param("orders", args.orders)
                .param("units_per_ms", per_ms)
                .param("workers", workers);
            let case = py.annotate(case, model.unit());
            let r = py.call(json!({
                "cmd": "kitchen",
                "model": model.name(),
                "orders": all,
                "workers": s.workers(),
            }))?;
            let cooked = Cooked {
                checksum: r.checksum()?,
                done_ns: r.u64s("done_ns")?,
                makespan: std::time::Duration::from_nanos(r.u64("makespan_ns")?),
            };
            cooked.check(model.name(), &plan, expected)?;
            walls.push((model.name(), cooked.makespan_ms()));
            let cpus = if model.on_one_cpu() { 1 } else { parallelism };
            let verdict = kitchen::verdict(
                &walls,
                model.name(),
                &plan,
                parallelism,
                model == Model::Asyncio && parallelism == 1,
                Some(C4_MODELS),
            );
            let out = cooked
                .outcome(&plan, cpus)
                .figure("units_started", r.u64("started")? as f64)
                .verdict(verdict);
            py.emit(&mut s, case, out, &r.usage)?;
        }
    }
    py.finish()?;
    s.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_carry_the_plans_work_and_waits() {
        let plan = KitchenPlan::new(3, 2.0, 7);
        let v = steps(&plan, 0);
        let list = v.as_array().unwrap();
        assert_eq!(list.len(), plan.dish(0).steps.len());
        let waits: u64 = list
            .iter()
            .filter(|s| s[0] == "w")
            .map(|s| s[1].as_u64().unwrap())
            .sum();
        let prep_ms = u64::from(plan.dish(0).prep_ms());
        assert_eq!(waits, u64::from(plan.dish(0).total_ms()) - prep_ms);
    }

    #[test]
    fn c4_compares_the_process_models_with_one_loop() {
        assert_eq!(C4_MODELS.both, "multiprocessing-asyncio");
        assert!(Model::Asyncio.on_one_cpu() && !Model::Threading.on_one_cpu());
    }
}
