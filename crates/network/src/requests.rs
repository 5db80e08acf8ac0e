//! The `requests` experiment, the same in every binary that implements it
//! (`blocking-io`, `thread`, `coroutine`): N requests to the delay server,
//! which answers each `d` after it arrives; each request opens its own
//! connection, as a client fetching N URLs would. A sample is one request,
//! from connect to verified answer; the wall time is all N (claim C5).
//!
//! The models differ only in how the client waits: one after another,
//! synchronously (`sync ≈ N·d`), or overlapping the waits with threads or
//! async tasks (`≈ d`). The delay server runs on a thread of this process,
//! on CPUs apart from the models' where the machine has them.

use std::net::SocketAddr;
use std::time::Duration;

use harness::claims::c5;
use harness::cli::RequestsArgs;
use harness::{Common, Outcome, Session, hist, limits};
use loadgen::delay::DelayServer;
pub use loadgen::delay::fetch_blocking;
use workload::Checksum;
use workload::message;

pub use harness::claims::c5::Expect;

use crate::echo::ClientPlacement;
use crate::server::ModelStatus;

/// Where and what to request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The delay server.
    pub addr: SocketAddr,
    /// Number of requests (ids 0..N).
    pub requests: u64,
    /// Bytes of each request.
    pub message_bytes: usize,
    /// The server's delay.
    pub delay: Duration,
}

/// What a model did.
#[derive(Debug, Clone, Default)]
pub struct Fetched {
    /// Time from the first request's start to the last answer.
    pub wall: Duration,
    /// Latency of every request, nanoseconds.
    pub latencies_ns: Vec<u64>,
    /// Digests of every verified answer.
    pub checksum: Checksum,
    /// Threads or tasks that actually started (counted by themselves, at first run).
    pub started: u64,
}

impl Fetched {
    /// What a model did: `started` threads or tasks, the `wall` time of all
    /// requests, and every verified answer as `(digest, latency_ns)`.
    pub fn new(
        started: u64,
        wall: Duration,
        answers: impl IntoIterator<Item = (u64, u64)>,
    ) -> Fetched {
        let mut f = Fetched {
            wall,
            started,
            ..Fetched::default()
        };
        for (digest, ns) in answers {
            f.checksum.add(digest);
            f.latencies_ns.push(ns);
        }
        f
    }
}

/// One way of making the requests: its name beside what it does.
#[derive(Debug, Clone, Copy)]
pub struct RequestModel {
    /// Its name (`--model`, records).
    pub name: &'static str,
    /// What C5 expects of it.
    pub expect: Expect,
    /// Runs all requests of a target with `workers` workers.
    pub fetch: fn(target: &Target, workers: usize) -> anyhow::Result<Fetched>,
    /// Threads it starts for `requests` requests (checked against the limits).
    pub threads_for: fn(requests: u64) -> u64,
    /// Its standing (a discontinued runtime), noted once and kept in its records.
    pub status: Option<ModelStatus>,
}

impl harness::Model for &'static RequestModel {
    fn name(self) -> &'static str {
        self.name
    }
}

/// A binary's `requests` models.
#[derive(Debug, Clone, Copy)]
pub struct RequestModels {
    /// The binary's name.
    pub binary: &'static str,
    /// The models, in the order they run.
    pub models: &'static [RequestModel],
}

/// The checksum of a run that answered every request of `n`.
pub fn expected_checksum(n: u64) -> Checksum {
    (0..n).map(|i| message::digest(i as u32, 0)).collect()
}

/// `<binary> requests`.
pub fn run(exp: &RequestModels, common: &Common, args: &RequestsArgs) -> anyhow::Result<()> {
    let bytes = loadgen::client::check_message_bytes(args.message_bytes)?;
    // Each request is a connection at both ends, all in this process.
    limits::ensure_open_files(2 * args.requests + 64)
        .map_err(|e| harness::UsageError(format!("--requests {}: {}", args.requests, e.0)))?;
    let mut s = Session::start(exp.binary, "requests", common)?;
    let all: Vec<&'static RequestModel> = exp.models.iter().collect();
    let models = s.select_models(&all)?;
    for m in &models {
        let threads = (m.threads_for)(args.requests);
        if threads > 256 {
            limits::check_threads(threads, 2 << 20)?;
        }
        if let Some(st) = m.status {
            s.note(&format!("{}: {}", m.name, st.note));
        }
    }
    let delay = Duration::from_secs_f64(args.delay_ms / 1e3);
    let place = ClientPlacement::choose(&s.cores, Some(1));
    let server = DelayServer::start(0, delay, &place.cpus)?;
    let target = Target {
        addr: server.addr(),
        requests: args.requests,
        message_bytes: bytes,
        delay,
    };
    let expected = expected_checksum(args.requests);
    for rep in 0..common.reps {
        let mut walls: Vec<(&str, Expect, f64)> = Vec::new();
        for (i, &row) in models.iter().enumerate() {
            let (model, expect) = (row.name, row.expect);
            let case = s
                .case(model, "", rep)
                .param("requests", args.requests)
                .param("delay_ms", args.delay_ms)
                .param("message_bytes", args.message_bytes)
                .param(
                    "delay_server_cpus",
                    harness::cores::format_cpu_list(&place.cpus),
                );
            let case = match row.status {
                Some(st) => case.param("status", st.status),
                None => case,
            };
            let f = (row.fetch)(&target, s.workers())?;
            anyhow::ensure!(
                f.checksum == expected && f.latencies_ns.len() as u64 == args.requests,
                "{model} got {} of {} answers, checksum {} instead of {}",
                f.latencies_ns.len(),
                args.requests,
                f.checksum.hex(),
                expected.hex()
            );
            let wall_ms = f.wall.as_secs_f64() * 1e3;
            walls.push((model, expect, wall_ms));
            let mut h = hist::new();
            f.latencies_ns
                .iter()
                .for_each(|&ns| hist::record(&mut h, ns));
            let n_d = args.requests as f64 * args.delay_ms;
            let mut out = Outcome::new(args.requests)
                .wall(f.wall)
                .histogram(h)
                .checksum(f.checksum)
                .figure("wall_ms", wall_ms)
                .figure("delay_ms", args.delay_ms)
                .figure("n_times_delay_ms", n_d)
                .figure("wall_over_delay", wall_ms / args.delay_ms)
                .figure("started", f.started as f64);
            if i + 1 == models.len() {
                out = out.verdict(c5::verdict(&walls, args.requests, args.delay_ms));
            }
            let r = case.finish(&s, out)?;
            s.emit(r)?;
        }
    }
    server.stop_having_answered(args.requests * u64::from(common.reps) * models.len() as u64)?;
    s.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_server_answers_after_its_delay() {
        let server = DelayServer::start(0, Duration::from_millis(30), &[]).unwrap();
        let (digest, ns) = fetch_blocking(server.addr(), 7, 100).unwrap();
        assert_eq!(digest, message::digest(7, 0));
        assert!(ns >= 30_000_000, "answered after {ns} ns");
        assert_eq!(server.stop().unwrap(), 1);
        assert_eq!(expected_checksum(2).count, 2);
    }
}
