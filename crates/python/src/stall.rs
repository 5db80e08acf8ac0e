//! `stall`: a 1 ms heartbeat task on an asyncio event loop beside a task that
//! blocks the loop's thread (`time.sleep` in a coroutine), sleeps
//! asynchronously (`asyncio.sleep`), or moves the blocking sleep to a thread
//! (`loop.run_in_executor`) — `py/stall.py`. The loop has one thread, so the
//! blocking sleep must make the heartbeat late by about the blocked time;
//! the case decides C6 (`c6::stall_of` with Python's calls), its tails at
//! the quantile their samples support (`c6::tail_quantile`).

use std::time::Duration;

use harness::claims::c6;
use harness::cli::StallArgs;
use harness::{Common, Outcome, Session, Verdict};
use hdrhistogram::Histogram;
use serde_json::json;

use crate::interp::{Interpreter, PythonArgs, schedule};

harness::models! {
    /// The model of this experiment: one asyncio event loop.
    pub enum Model {
        /// The heartbeat and the blocker as two tasks of one event loop.
        Asyncio = "asyncio",
    }
}

/// The models of this experiment.
pub const MODELS: &[Model] = Model::ALL;

/// The blockers, in the order their cases run (the deciding one last).
pub const BLOCKERS: [&str; 3] = [
    c6::PYTHON.asleep.0,
    c6::PYTHON.offload.0,
    c6::PYTHON.blocking.0,
];

/// The tail of `h` that its samples support.
pub fn tail(h: &Histogram<u64>) -> c6::Tail {
    let q = c6::tail_quantile(h.len()).unwrap_or(0.5);
    c6::Tail {
        ns: h.value_at_quantile(q),
        quantile: q,
        samples: h.len(),
    }
}

/// C6 from the heartbeat's tail beside each blocker; `None` until all three ran.
pub fn verdict(tails: &[(&str, c6::Tail)], block: Duration, model: &str) -> Option<Verdict> {
    let get = |b: &str| tails.iter().find(|t| t.0 == b).map(|t| t.1);
    let t = c6::Stall {
        blocking_sleep: get(c6::PYTHON.blocking.0)?,
        async_sleep: get(c6::PYTHON.asleep.0)?,
        spawn_blocking: get(c6::PYTHON.offload.0)?,
    };
    Some(c6::stall_of(&c6::PYTHON, t, block, 1, model))
}

/// `python stall`.
pub fn run(common: &Common, args: &StallArgs, py_args: &PythonArgs) -> anyhow::Result<()> {
    let mut s = Session::start("python", "stall", common)?;
    let models = s.select_models(MODELS)?;
    let mut py = Interpreter::start(&mut s, py_args)?;
    let block = Duration::from_millis(args.block_ms);
    for rep in 0..common.reps {
        for &model in &models {
            let mut tails: Vec<(&str, c6::Tail)> = Vec::new();
            for blocker in BLOCKERS {
                let case = s
                    .case(model.name(), blocker, rep)
                    .param("blocker", blocker)
                    .param("block_ms", args.block_ms)
                    .param("tick_ns", 1_000_000u64)
                    .param("clock", "inside-loop");
                let case = py.annotate(case, "coroutine");
                let r = py.call(json!({
                    "cmd": "stall",
                    "blocker": blocker,
                    "block_ms": args.block_ms,
                    "schedule": schedule(&s.schedule()),
                }))?;
                let (h, ticks) = r.histogram()?;
                anyhow::ensure!(ticks > 0, "{model:?}: the heartbeat never ticked");
                tails.push((blocker, tail(&h)));
                let mut out = Outcome::new(ticks)
                    .wall(r.wall()?)
                    .figure("blocker_calls", r.u64("blocks")? as f64)
                    .figure(
                        "lateness_p99_over_block",
                        h.value_at_quantile(0.99) as f64 / block.as_nanos() as f64,
                    )
                    .histogram(h);
                if blocker == c6::PYTHON.blocking.0 {
                    out = out.verdict(verdict(&tails, block, model.name()));
                }
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
    fn the_blocking_sleep_runs_last_and_decides() {
        assert_eq!(BLOCKERS[2], "time-sleep");
        let t = |ns| c6::Tail {
            ns,
            quantile: 0.99,
            samples: 500,
        };
        let block = Duration::from_millis(20);
        let tails = [
            ("asyncio-sleep", t(1_000_000)),
            ("run-in-executor", t(1_100_000)),
            ("time-sleep", t(19_500_000)),
        ];
        assert!(verdict(&tails, block, "asyncio").unwrap().holds());
        assert!(verdict(&tails[..2], block, "asyncio").is_none());
    }
}
