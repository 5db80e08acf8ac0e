//! The load generator: C connections to an echo server, each sending a
//! message and checking every byte of its echo, for a warm-up and then a
//! measured window.
//!
//! - **Closed loop** (the default): each connection sends its next request as
//!   soon as the previous echo is in. Throughput is what the server (or the
//!   client) can sustain; latency is from the send.
//! - **Open loop** (`rate_per_s`): each connection has a schedule of intended
//!   send times (`rate / C` per second, phases spread evenly) and keeps one
//!   request in flight. A request that could not be sent on time, because the
//!   previous one was still waiting, is sent as soon as it can, and its
//!   latency is measured from its *intended* time — the correction for
//!   coordinated omission that wrk2 makes.
//!
//! A request belongs to the window if it was intended in it. After the
//! window no new request is started; requests in flight may still finish for
//! as long as answers keep coming — the drain ends once no answer has come
//! for `drain` (and at the latest [`DRAIN_CAP`] after the window), so a slow
//! server at 10,000 connections is waited for but a stuck one is not.
//! What is still unanswered then (in flight, or — open loop — due but
//! never sent because its connection was stuck) is recorded at the latency it
//! had reached, a lower bound, and counted as unanswered: a server that
//! leaves connections waiting (an iterative server, head-of-line blocking)
//! shows in the percentiles instead of vanishing from them.
//!
//! Each client thread owns a share of the connections and an epoll loop
//! (level-triggered, one read per event; writes wait for `EPOLLOUT` only
//! when a message does not fit the socket buffer). The threads run on the CPUs given, apart from the
//! server's where the machine has them, and measure their own CPU time over
//! the window (`RUSAGE_THREAD`), so a saturated client is visible.
//!
//! [`spec`] holds what to run and what came of it ([`LoadSpec`],
//! [`LoadResult`]); [`worker`] one client thread's epoll loop.

use std::net::{SocketAddr, TcpStream};
use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use harness::rusage::Usage;
use harness::{Timer, hist};
use hdrhistogram::Histogram;
use workload::Checksum;

use crate::net;

mod spec;
mod worker;

pub use spec::{
    DEFAULT_DRAIN, DRAIN_CAP, Event, LoadResult, LoadSpec, check_message_bytes,
    default_connect_timeout,
};
use worker::client_thread;

/// Opens every connection (one after another, so the server's backlog never
/// sees a burst it must drop), with `TCP_NODELAY` and non-blocking.
pub fn connect_all(
    addr: SocketAddr,
    connections: usize,
    timeout: Duration,
) -> anyhow::Result<Vec<TcpStream>> {
    let start = Instant::now();
    let mut out = Vec::with_capacity(connections);
    for i in 0..connections {
        let left = timeout.saturating_sub(start.elapsed());
        let s = TcpStream::connect_timeout(&addr, left.max(Duration::from_millis(1)))
            .map_err(|e| {
                anyhow::anyhow!(
                    "opened {i} of {connections} connections to {addr} in {:.1} s, then: {e} \
                     (a server that accepts one connection at a time holds the rest in its listen backlog, \
                     net.core.somaxconn = {})",
                    start.elapsed().as_secs_f64(),
                    net::listen_backlog()
                )
            })?;
        s.set_nodelay(true)?;
        s.set_nonblocking(true)?;
        out.push(s);
    }
    Ok(out)
}

/// Runs the load described by `spec`, calling `on_event` at each milestone
/// (on the calling thread; the connections stay open until it has returned
/// from [`Event::WindowEnd`]), and returns what it measured. Fails if any echo
/// differs from its request, a connection closes, or the server answers
/// nothing at all.
pub fn run(spec: &LoadSpec, on_event: &mut dyn FnMut(Event)) -> anyhow::Result<LoadResult> {
    spec.validate()?;
    let t = Instant::now();
    let streams = connect_all(spec.addr, spec.connections, spec.connect_timeout)?;
    let connect = t.elapsed();
    on_event(Event::Connected);

    let threads = spec.threads.min(spec.connections).max(1);
    let mut shares: Vec<Vec<(u32, TcpStream)>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, s) in streams.into_iter().enumerate() {
        shares[i % threads].push((i as u32, s));
    }
    let epoch = Timer::start();
    let plan = Plan {
        epoch,
        spec,
        t_start: AtomicU64::new(0),
        t_end: AtomicU64::new(0),
        ready: Barrier::new(threads + 1),
        go: Barrier::new(threads + 1),
        release: Barrier::new(threads + 1),
        abort: AtomicBool::new(false),
    };
    let parts = thread::scope(|s| -> anyhow::Result<Vec<Part>> {
        let handles: Vec<_> = shares
            .into_iter()
            .enumerate()
            .map(|(k, share)| {
                let plan = &plan;
                thread::Builder::new()
                    .name(format!("loadgen-{k}"))
                    .spawn_scoped(s, move || client_thread(plan, share))
                    .map_err(|e| anyhow::anyhow!("cannot start load generator thread {k}: {e}"))
            })
            .collect::<anyhow::Result<_>>()?;
        plan.ready.wait();
        let go = epoch.ns();
        let t_start = go + spec.warmup.as_nanos() as u64;
        let t_end = t_start + spec.duration.as_nanos() as u64;
        plan.t_start.store(t_start, Ordering::Release);
        plan.t_end.store(t_end, Ordering::Release);
        plan.go.wait();
        if sleep_until(&plan, t_start) {
            on_event(Event::Measuring);
            if sleep_until(&plan, t_end) {
                on_event(Event::WindowEnd);
            }
        }
        plan.release.wait();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| anyhow::anyhow!("a load generator thread panicked"))?
            })
            .collect()
    })?;

    let mut histogram = hist::new();
    let mut out = LoadResult {
        connections: spec.connections as u64,
        message_bytes: spec.message_bytes as u64,
        rate_per_s: spec.rate_per_s,
        window: spec.duration,
        requests: 0,
        unanswered: 0,
        connections_served: 0,
        bytes_verified: 0,
        histogram: hist::new(),
        checksum: Checksum::default(),
        cpu_user_ns: 0,
        cpu_sys_ns: 0,
        threads,
        cpus: spec.cpus.clone(),
        connect,
    };
    for p in parts {
        histogram
            .add(&p.histogram)
            .map_err(|e| anyhow::anyhow!("cannot merge histograms: {e:?}"))?;
        out.requests += p.requests;
        out.unanswered += p.unanswered;
        out.connections_served += p.served;
        out.bytes_verified += p.bytes_verified;
        out.checksum = out.checksum.merge(p.checksum);
        out.cpu_user_ns += p.cpu.user_ns;
        out.cpu_sys_ns += p.cpu.sys_ns;
    }
    out.histogram = histogram;
    // A server that answered none of the connections in the window is a
    // result too (a thread per connection at 10,000 on one CPU may not get
    // round to any): the caller records it and says so.
    Ok(out)
}

/// Sleeps until `epoch + at_ns`, waking every 20 ms to see whether a client
/// thread failed; returns false if one did.
fn sleep_until(plan: &Plan, at_ns: u64) -> bool {
    loop {
        if plan.abort.load(Ordering::Acquire) {
            return false;
        }
        let now = plan.epoch.ns();
        if now >= at_ns {
            return true;
        }
        thread::sleep(Duration::from_nanos((at_ns - now).min(20_000_000)));
    }
}

/// What every client thread shares: the clock and the schedule.
struct Plan<'a> {
    pub(super) epoch: Timer,
    pub(super) spec: &'a LoadSpec,
    pub(super) t_start: AtomicU64,
    pub(super) t_end: AtomicU64,
    pub(super) ready: Barrier,
    pub(super) go: Barrier,
    /// Passed once the window's end was reported: connections may close.
    pub(super) release: Barrier,
    pub(super) abort: AtomicBool,
}

/// One client thread's share of the result.
struct Part {
    pub(super) histogram: Histogram<u64>,
    pub(super) requests: u64,
    pub(super) unanswered: u64,
    pub(super) served: u64,
    pub(super) bytes_verified: u64,
    pub(super) checksum: Checksum,
    pub(super) cpu: Usage,
}
