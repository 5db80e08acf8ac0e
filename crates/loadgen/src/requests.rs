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

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::Context as _;
use harness::cli::RequestsArgs;
use harness::{Common, Outcome, Session, Timer, Verdict, fmt_ns, hist, limits};
use workload::Checksum;
use workload::message::{self, Message};

use crate::delay::DelayServer;
use crate::echo::ClientPlacement;
use crate::server::ModelStatus;

/// What a model's timing should look like, by the claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Synchronous: each request waits for the previous, `≈ N·d`.
    Waits,
    /// Concurrent: the waits overlap, `≈ d`.
    Overlaps,
}

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

/// A binary's `requests` models.
#[derive(Debug, Clone, Copy)]
pub struct RequestModels {
    /// The binary's name.
    pub binary: &'static str,
    /// The models, in the order they run, each with what C5 expects of it.
    pub models: &'static [(&'static str, Expect)],
    /// Runs all requests of `target` with model `model` and `workers` workers.
    pub fetch: fn(model: &str, target: &Target, workers: usize) -> anyhow::Result<Fetched>,
    /// Threads a model starts for `requests` requests (checked against the limits).
    pub threads_for: fn(model: &str, requests: u64) -> u64,
    /// A model's standing (a discontinued runtime), noted once and kept in its records.
    pub status: fn(model: &str) -> Option<ModelStatus>,
}

/// The checksum of a run that answered every request of `n`.
pub fn expected_checksum(n: u64) -> Checksum {
    (0..n).map(|i| message::digest(i as u32, 0)).collect()
}

/// One request, blocking: connect, send request `id`, read and verify the
/// answer. Returns its digest and its latency in nanoseconds.
pub fn fetch_blocking(addr: SocketAddr, id: u32, bytes: usize) -> anyhow::Result<(u64, u64)> {
    let t = Timer::start();
    let msg = Message::new(id, bytes);
    let mut s = TcpStream::connect(addr)
        .with_context(|| format!("request {id}: cannot connect to {addr}"))?;
    s.set_nodelay(true)?;
    s.write_all(msg.bytes())
        .with_context(|| format!("request {id}: cannot send"))?;
    let mut got = 0;
    let mut buf = vec![0u8; bytes.min(64 * 1024)];
    while got < bytes {
        let want = (bytes - got).min(buf.len());
        let n = s
            .read(&mut buf[..want])
            .with_context(|| format!("request {id}: cannot read the answer"))?;
        anyhow::ensure!(
            n > 0,
            "request {id}: the server closed the connection after {got} of {bytes} bytes"
        );
        msg.check(got, &buf[..n])?;
        got += n;
    }
    Ok((msg.digest(), t.ns()))
}

/// `<binary> requests`.
pub fn run(exp: &RequestModels, common: &Common, args: &RequestsArgs) -> anyhow::Result<()> {
    let bytes = crate::client::check_message_bytes(args.message_bytes)?;
    // Each request is a connection at both ends, all in this process.
    limits::ensure_open_files(2 * args.requests + 64)
        .map_err(|e| harness::UsageError(format!("--requests {}: {}", args.requests, e.0)))?;
    let mut s = Session::start(exp.binary, "requests", common)?;
    let names: Vec<&str> = exp.models.iter().map(|m| m.0).collect();
    let models = s.select_models(&names)?;
    for &m in &models {
        let threads = (exp.threads_for)(m, args.requests);
        if threads > 256 {
            limits::check_threads(threads, 2 << 20)?;
        }
        if let Some(st) = (exp.status)(m) {
            s.note(&format!("{m}: {}", st.note));
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
        for (i, &model) in models.iter().enumerate() {
            let expect = exp
                .models
                .iter()
                .find(|m| m.0 == model)
                .map_or(Expect::Overlaps, |m| m.1);
            let case = s
                .case(model, "", rep)
                .param("requests", args.requests)
                .param("delay_ms", args.delay_ms)
                .param("message_bytes", args.message_bytes)
                .param(
                    "delay_server_cpus",
                    harness::cores::format_cpu_list(&place.cpus),
                );
            let case = match (exp.status)(model) {
                Some(st) => case.param("status", st.status),
                None => case,
            };
            let f = (exp.fetch)(model, &target, s.workers())?;
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
                out = out.verdict(c5(&walls, args.requests, args.delay_ms));
            }
            let r = case.finish(&s, out)?;
            s.emit(r)?;
        }
    }
    let answered = server.stop()?;
    anyhow::ensure!(
        answered >= args.requests * u64::from(common.reps) * models.len() as u64,
        "the delay server answered {answered} requests, fewer than were verified"
    );
    s.finish()
}

/// C5: every synchronous model took about N·d (at least 95 % of it), every
/// concurrent one about d (less than 2·d).
pub fn c5(walls: &[(&str, Expect, f64)], n: u64, delay_ms: f64) -> Verdict {
    let n_d = n as f64 * delay_ms;
    let mut holds = true;
    let mut parts = Vec::new();
    for &(model, expect, ms) in walls {
        let (ok, vs) = match expect {
            Expect::Waits => (ms >= 0.95 * n_d, format!("N·d = {}", fmt_ms(n_d))),
            Expect::Overlaps => (ms < 2.0 * delay_ms, format!("d = {}", fmt_ms(delay_ms))),
        };
        holds &= ok;
        parts.push(format!("{model} {} ({vs})", fmt_ms(ms)));
    }
    Verdict::new(
        "C5",
        holds,
        format!(
            "{n} requests, each answered {} after it arrives: {}",
            fmt_ms(delay_ms),
            parts.join(", ")
        ),
    )
}

fn fmt_ms(ms: f64) -> String {
    fmt_ns(ms * 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c5_needs_both_halves() {
        let ok = [
            ("sequential", Expect::Waits, 1010.0),
            ("tokio-concurrent", Expect::Overlaps, 22.0),
        ];
        let v = c5(&ok, 50, 20.0);
        assert!(v.holds, "{}", v.text);
        assert!(
            v.text.contains("N·d = 1.00 s") && v.text.contains("d = 20.0 ms"),
            "{}",
            v.text
        );
        let slow = [("tokio-concurrent", Expect::Overlaps, 400.0)];
        assert!(!c5(&slow, 50, 20.0).holds);
        let fast_sync = [("sequential", Expect::Waits, 100.0)];
        assert!(!c5(&fast_sync, 50, 20.0).holds);
    }

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
