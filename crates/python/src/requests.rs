//! `requests`: N requests from CPython to the delay server, which runs on a
//! thread of this (Rust) process, on CPUs apart from the interpreter's where
//! the machine has them — the same server, messages and checksum as every
//! binary's `requests` (`network::requests`), so C5's numbers compare.
//!
//! Models (`py/fetch.py`): `sequential` (blocking sockets, one after another:
//! about N·d), `asyncio` (`asyncio.gather` over asyncio streams: about d),
//! `thread-pool` (`concurrent.futures.ThreadPoolExecutor`, a thread per
//! request: about d). A sample is one request, connect to checked answer.

use std::time::Duration;

use harness::claims::c5::{self, Expect};
use harness::cli::RequestsArgs;
use harness::{Common, Outcome, Session, hist, limits};
use loadgen::delay::DelayServer;
use network::echo::ClientPlacement;
use network::requests::{Fetched, expected_checksum};
use serde_json::json;

use crate::interp::{Interpreter, PythonArgs};

harness::models! {
    /// The models of this experiment, in the order they run.
    pub enum Model {
        /// Blocking sockets, one request after another.
        Sequential = "sequential",
        /// `asyncio.gather` over one coroutine per request.
        Asyncio = "asyncio",
        /// A `ThreadPoolExecutor` with a thread per request.
        ThreadPool = "thread-pool",
    }
}

/// The models of this experiment.
pub const MODELS: &[Model] = Model::ALL;

impl Model {
    /// What C5 expects of it.
    pub const fn expect(self) -> Expect {
        match self {
            Model::Sequential => Expect::Waits,
            Model::Asyncio | Model::ThreadPool => Expect::Overlaps,
        }
    }

    /// The kind of unit that waits for each answer.
    pub const fn unit(self) -> &'static str {
        match self {
            Model::Sequential | Model::ThreadPool => "thread",
            Model::Asyncio => "coroutine",
        }
    }
}

/// `python requests`.
pub fn run(common: &Common, args: &RequestsArgs, py_args: &PythonArgs) -> anyhow::Result<()> {
    let bytes = loadgen::client::check_message_bytes(args.message_bytes)?;
    // Each request is a connection at both ends: the server's here, the
    // client's in the interpreter, which inherits this process's limit.
    limits::ensure_open_files(2 * args.requests + 64)
        .map_err(|e| harness::UsageError(format!("--requests {}: {}", args.requests, e.0)))?;
    let mut s = Session::start("python", "requests", common)?;
    let models = s.select_models(MODELS)?;
    if models.contains(&Model::ThreadPool) && args.requests > 256 {
        limits::check_threads(args.requests, 8 << 20)?;
    }
    let mut py = Interpreter::start(&mut s, py_args)?;
    let delay = Duration::from_secs_f64(args.delay_ms / 1e3);
    let place = ClientPlacement::choose(&s.cores, Some(1));
    let server = DelayServer::start(0, delay, &place.cpus)?;
    let expected = expected_checksum(args.requests);
    for rep in 0..common.reps {
        let mut walls: Vec<(&str, Expect, f64)> = Vec::new();
        for (i, &model) in models.iter().enumerate() {
            let case = s
                .case(model.name(), "", rep)
                .param("requests", args.requests)
                .param("delay_ms", args.delay_ms)
                .param("message_bytes", args.message_bytes)
                .param(
                    "delay_server_cpus",
                    harness::cores::format_cpu_list(&place.cpus),
                );
            let case = py.annotate(case, model.unit());
            let r = py.call(json!({
                "cmd": "requests",
                "model": model.name(),
                "host": server.addr().ip().to_string(),
                "port": server.addr().port(),
                "requests": args.requests,
                "message_bytes": bytes,
            }))?;
            let answers = r
                .ok
                .get("answers")
                .and_then(serde_json::Value::as_array)
                .ok_or_else(|| anyhow::anyhow!("python requests: no answers"))?
                .iter()
                .map(|a| Some((a.get(0)?.as_u64()?, a.get(1)?.as_u64()?)))
                .collect::<Option<Vec<(u64, u64)>>>()
                .ok_or_else(|| anyhow::anyhow!("python requests: an answer is not [digest, ns]"))?;
            let f = Fetched::new(r.u64("started")?, r.wall()?, answers);
            anyhow::ensure!(
                f.checksum == expected && f.latencies_ns.len() as u64 == args.requests,
                "{} got {} of {} answers, checksum {} instead of {}",
                model.name(),
                f.latencies_ns.len(),
                args.requests,
                f.checksum.hex(),
                expected.hex()
            );
            let wall_ms = f.wall.as_secs_f64() * 1e3;
            walls.push((model.name(), model.expect(), wall_ms));
            let mut h = hist::new();
            f.latencies_ns
                .iter()
                .for_each(|&ns| hist::record(&mut h, ns));
            let mut out = Outcome::new(args.requests)
                .wall(f.wall)
                .histogram(h)
                .checksum(f.checksum)
                .figure("wall_ms", wall_ms)
                .figure("delay_ms", args.delay_ms)
                .figure("n_times_delay_ms", args.requests as f64 * args.delay_ms)
                .figure("wall_over_delay", wall_ms / args.delay_ms)
                .figure("started", f.started as f64);
            if i + 1 == models.len() {
                out = out.verdict(c5::verdict(&walls, args.requests, args.delay_ms));
            }
            py.emit(&mut s, case, out, &r.usage)?;
        }
    }
    py.finish()?;
    server.stop_having_answered(args.requests * u64::from(common.reps) * models.len() as u64)?;
    s.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_sequential_model_waits() {
        let waits: Vec<&str> = MODELS
            .iter()
            .filter(|m| m.expect() == Expect::Waits)
            .map(|m| m.name())
            .collect();
        assert_eq!(waits, ["sequential"]);
    }
}
