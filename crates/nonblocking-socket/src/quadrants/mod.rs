//! `quadrants`: blocking/non-blocking and sync/async are different axes
//! (C13). One job — N requests to the delay server, each answered d after it
//! arrives — done in all four combinations, on one caller thread that is
//! offered CPU work (kernel units, in chunks of [`CHUNK_MS`]) to do whenever
//! it is free:
//!
//! | | blocking call | non-blocking call |
//! | --- | --- | --- |
//! | **sync** | `sync-blocking`: `read` | `sync-nonblocking`: `read` → `EWOULDBLOCK`, compute, retry |
//! | **async** | `async-blocking`: `epoll_wait` | `async-nonblocking`: io_uring, compute, reap |
//!
//! The flow should decide the wall time (sync ≈ N·d, async ≈ d) and the call
//! whether the caller works while it waits (non-blocking ≈ the wait's worth
//! of units, blocking ≈ none); see `record::claims::c13`. A case is the
//! whole job; its record carries the wall time against N·d and d, the units
//! done and their share of the wait's worth, the caller's CPU time, its
//! system calls per request and its wake-ups (its voluntary context
//! switches). The delay server runs on a thread of this process, on CPUs
//! apart from the caller's where the machine has them. Where io_uring is
//! refused, `async-nonblocking` is skipped with the cause and the fix, and
//! C13 is inconclusive for that reason.

pub mod job;

use std::time::Duration;

use clap::Args;
use harness::claims::c13::{self, Call, Flow, Missing, Quadrant};
use harness::cli::{CalibrationArgs, parse_bytes, positive_ms};
use harness::cores::format_cpu_list;
use harness::{Common, Outcome, Session, hist, limits};
use loadgen::delay::DelayServer;
use network::echo::ClientPlacement;
use network::requests::expected_checksum;

use crate::uring;
use job::{Done, Target, Work};

/// Milliseconds of CPU work in one chunk: how late a non-blocking caller may
/// notice an answer, at most.
pub const CHUNK_MS: f64 = 0.05;

harness::models! {
    /// The four quadrants, in the order they run.
    pub enum Model {
        /// The next request after the previous answer; `read` sleeps until it comes.
        SyncBlocking = "sync-blocking",
        /// The next request after the previous answer; `read` returns
        /// `EWOULDBLOCK`, and the caller computes between tries.
        SyncNonblocking = "sync-nonblocking",
        /// All requests in flight; `epoll_wait` sleeps until some socket is ready.
        AsyncBlocking = "async-blocking",
        /// All requests in flight, every read submitted to io_uring; the
        /// caller computes and reaps completions as they come.
        AsyncNonblocking = "async-nonblocking",
    }
}

/// The models of this experiment.
pub const MODELS: &[Model] = Model::ALL;

impl Model {
    /// Its flow.
    pub fn flow(self) -> Flow {
        match self {
            Model::SyncBlocking | Model::SyncNonblocking => Flow::Sync,
            Model::AsyncBlocking | Model::AsyncNonblocking => Flow::Async,
        }
    }

    /// Its call.
    pub fn call(self) -> Call {
        match self {
            Model::SyncBlocking | Model::AsyncBlocking => Call::Blocking,
            Model::SyncNonblocking | Model::AsyncNonblocking => Call::NonBlocking,
        }
    }

    /// What the caller waits with, for records.
    pub fn waits_with(self) -> &'static str {
        match self {
            Model::SyncBlocking => "read",
            Model::SyncNonblocking => "read (O_NONBLOCK)",
            Model::AsyncBlocking => "epoll_wait",
            Model::AsyncNonblocking => "io_uring",
        }
    }

    /// Does the job its way.
    pub fn run(self, to: &Target, work: &mut Work) -> anyhow::Result<Done> {
        match self {
            Model::SyncBlocking => job::sync_blocking(to, work),
            Model::SyncNonblocking => job::sync_nonblocking(to, work),
            Model::AsyncBlocking => job::async_blocking(to, work),
            Model::AsyncNonblocking => job::async_nonblocking(to, work),
        }
    }

    /// Why it cannot run here, if it cannot.
    pub fn unavailable(self) -> Option<network::Unavailable> {
        match self {
            Model::AsyncNonblocking => uring::probe().err(),
            Model::SyncBlocking | Model::SyncNonblocking | Model::AsyncBlocking => None,
        }
    }
}

/// Flags of `quadrants`.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Workload")]
pub struct QuadrantsArgs {
    /// Number of requests, each on its own connection
    #[arg(long, allow_negative_numbers = true, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub requests: u64,

    /// Milliseconds the delay server waits before answering each request
    #[arg(long, allow_negative_numbers = true, value_name = "MS", default_value_t = 20.0, value_parser = positive_ms)]
    pub delay_ms: f64,

    /// Size of every request (and of its answer), at least 24 bytes
    #[arg(long, allow_negative_numbers = true, value_name = "SIZE", default_value = "64", value_parser = parse_bytes)]
    pub message_bytes: u64,

    #[command(flatten)]
    pub calibration: CalibrationArgs,
}

/// `nonblocking-socket quadrants`.
pub fn run(common: &Common, args: &QuadrantsArgs) -> anyhow::Result<()> {
    let bytes = loadgen::client::check_message_bytes(args.message_bytes)?;
    // Every request is a connection at both ends, all in this process.
    limits::ensure_open_files(2 * args.requests + 64)
        .map_err(|e| harness::UsageError(format!("--requests {}: {}", args.requests, e.0)))?;
    let mut s = Session::start("nonblocking-socket", "quadrants", common)?;
    let chosen = s.select_models(MODELS)?;
    let all_four = chosen.len() == MODELS.len();
    let mut missing: Vec<(Model, String)> = Vec::new();
    let models: Vec<Model> = chosen
        .into_iter()
        .filter(|m| match m.unavailable() {
            None => true,
            Some(u) => {
                s.note(&format!("{m} skipped: {u}"));
                missing.push((*m, u.to_string()));
                false
            }
        })
        .collect();
    if !all_four {
        s.note(&format!(
            "{} needs all four quadrants: --model chose fewer, so no verdict",
            harness::claims::Claim::C13
        ));
    }
    let units_per_ms = s.units_per_ms(&args.calibration);
    let chunk_units = (units_per_ms * CHUNK_MS).round().max(1.0) as u64;
    let place = ClientPlacement::choose(&s.cores, Some(1));
    let server = DelayServer::start(0, Duration::from_secs_f64(args.delay_ms / 1e3), &place.cpus)?;
    let target = Target {
        addr: server.addr(),
        requests: args.requests,
        message_bytes: bytes,
    };
    let expected = expected_checksum(args.requests);
    let n_d = args.requests as f64 * args.delay_ms;
    for rep in 0..common.reps {
        let mut done: Vec<(Model, f64, u64)> = Vec::new();
        for (i, &model) in models.iter().enumerate() {
            let case = s
                .case(model.name(), "", rep)
                .param("requests", args.requests)
                .param("delay_ms", args.delay_ms)
                .param("message_bytes", args.message_bytes)
                .param("units_per_ms", units_per_ms)
                .param("chunk_units", chunk_units)
                .param("flow", model.flow().word())
                .param("call", model.call().word())
                .param("waits_with", model.waits_with())
                .param("delay_server_cpus", format_cpu_list(&place.cpus));
            let mut work = Work::new(chunk_units, common.seed);
            let d = model.run(&target, &mut work)?;
            anyhow::ensure!(
                d.checksum == expected && d.latencies_ns.len() as u64 == args.requests,
                "{model} got {} of {} answers, checksum {} instead of {}",
                d.latencies_ns.len(),
                args.requests,
                d.checksum.hex(),
                expected.hex()
            );
            let wall_ms = d.wall.as_secs_f64() * 1e3;
            done.push((model, wall_ms, d.units));
            let mut out = outcome(&d, args, units_per_ms, n_d);
            if i + 1 == models.len() && all_four {
                out = out.verdict(verdict(&done, &missing, args, units_per_ms));
            }
            let r = case.finish(&s, out)?;
            s.emit(r)?;
        }
    }
    server.stop_having_answered(args.requests * u64::from(common.reps) * models.len() as u64)?;
    s.finish()
}

/// A case's record: the job's wall time, its latencies and checksum, and the
/// figures that tell the quadrants apart.
fn outcome(d: &Done, args: &QuadrantsArgs, units_per_ms: f64, n_d: f64) -> Outcome {
    let wall_ms = d.wall.as_secs_f64() * 1e3;
    let worth = units_per_ms * wall_ms;
    let n = args.requests as f64;
    let mut h = hist::new();
    d.latencies_ns
        .iter()
        .for_each(|&ns| hist::record(&mut h, ns));
    Outcome::new(args.requests)
        .wall(d.wall)
        .histogram(h)
        .checksum(d.checksum)
        .figure("wall_ms", wall_ms)
        .figure("delay_ms", args.delay_ms)
        .figure("n_times_delay_ms", n_d)
        .figure("wall_over_delay", wall_ms / args.delay_ms)
        .figure("wall_over_n_times_delay", wall_ms / n_d)
        .figure("units_while_waiting", d.units as f64)
        .figure("wait_worth_units", worth)
        .figure("units_share_of_wait", d.units as f64 / worth.max(1e-9))
        .figure("caller_cpu_ms", d.cpu_ns as f64 / 1e6)
        .figure(
            "caller_cpu_share",
            d.cpu_ns as f64 / 1e6 / wall_ms.max(1e-9),
        )
        .figure("syscalls", d.syscalls as f64)
        .figure("syscalls_per_request", d.syscalls as f64 / n)
        .figure("wakeups", d.wakeups as f64)
        .figure("empty_checks", d.empty_checks as f64)
}

/// C13 from the quadrants of one repetition (`(model, wall ms, units)`).
fn verdict(
    done: &[(Model, f64, u64)],
    missing: &[(Model, String)],
    args: &QuadrantsArgs,
    units_per_ms: f64,
) -> harness::Verdict {
    let qs: Vec<Quadrant<'_>> = done
        .iter()
        .map(|&(m, wall_ms, units)| Quadrant {
            model: m.name(),
            flow: m.flow(),
            call: m.call(),
            wall_ms,
            units,
            units_per_ms,
        })
        .collect();
    let missing: Vec<Missing<'_>> = missing
        .iter()
        .map(|(m, why)| Missing {
            model: m.name(),
            why,
        })
        .collect();
    c13::verdict(&qs, args.requests, args.delay_ms, &missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_models_cover_the_four_quadrants_once() {
        let seen: Vec<(Flow, Call)> = MODELS.iter().map(|m| (m.flow(), m.call())).collect();
        assert_eq!(seen.len(), 4);
        for (i, q) in seen.iter().enumerate() {
            assert!(!seen[i + 1..].contains(q), "{q:?} twice");
        }
        assert_eq!(
            MODELS.iter().filter(|m| m.unavailable().is_some()).count(),
            usize::from(uring::probe().is_err()),
            "only io_uring can be missing"
        );
    }
}
