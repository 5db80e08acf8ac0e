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

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsFd;
use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use harness::rusage::Usage;
use harness::{Timer, hist};
use hdrhistogram::Histogram;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags};
use serde::{Deserialize, Serialize};
use workload::Checksum;
use workload::message::{self, Message};

use crate::net;

/// What to run.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadSpec {
    /// The echo server.
    pub addr: SocketAddr,
    /// Connections held open at once.
    pub connections: usize,
    /// Bytes of every request.
    pub message_bytes: usize,
    /// Untimed warm-up after all connections are up.
    pub warmup: Duration,
    /// The measured window.
    pub duration: Duration,
    /// After the window, how long without any answer ends the wait for the
    /// requests still in flight.
    pub drain: Duration,
    /// Open loop at this many requests per second in total; `None`: closed loop.
    pub rate_per_s: Option<f64>,
    /// Client threads.
    pub threads: usize,
    /// CPUs the client threads run on; empty: wherever the process may run.
    pub cpus: Vec<usize>,
    /// Time allowed to open all connections.
    pub connect_timeout: Duration,
}

impl LoadSpec {
    /// A closed-loop spec with the given size and defaults for the rest
    /// (64-byte messages, 0.2 s warm-up, 1 s window, 0.25 s drain, one thread).
    pub fn closed(addr: SocketAddr, connections: usize) -> LoadSpec {
        LoadSpec {
            addr,
            connections,
            message_bytes: 64,
            warmup: Duration::from_millis(200),
            duration: Duration::from_secs(1),
            drain: DEFAULT_DRAIN,
            rate_per_s: None,
            threads: 1,
            cpus: Vec::new(),
            connect_timeout: default_connect_timeout(connections),
        }
    }

    /// `closed` or `open`, for records.
    pub fn load_name(&self) -> &'static str {
        if self.rate_per_s.is_some() {
            "open"
        } else {
            "closed"
        }
    }

    /// Checks the sizes, naming the flag a user would have typed.
    pub fn validate(&self) -> Result<(), harness::UsageError> {
        check_message_bytes(self.message_bytes as u64)?;
        if self.connections == 0 || self.connections > u32::MAX as usize {
            return Err(harness::UsageError(format!(
                "--connections {} must be at least 1",
                self.connections
            )));
        }
        if self.threads == 0 {
            return Err(harness::UsageError("--threads must be at least 1".into()));
        }
        Ok(())
    }
}

/// Checks `--message-bytes` against the message format's bounds.
pub fn check_message_bytes(bytes: u64) -> Result<usize, harness::UsageError> {
    match usize::try_from(bytes) {
        Ok(b) if (message::MIN_BYTES..=message::MAX_BYTES).contains(&b) => Ok(b),
        _ => Err(harness::UsageError(format!(
            "--message-bytes {bytes} is outside {}..={} (a message carries a {}-byte header and an {}-byte trailer)",
            message::MIN_BYTES,
            message::MAX_BYTES,
            message::HEADER_BYTES,
            message::TRAILER_BYTES
        ))),
    }
}

/// The default quiet time that ends the drain.
pub const DEFAULT_DRAIN: Duration = Duration::from_millis(250);

/// The longest drain, however long answers keep coming.
pub const DRAIN_CAP: Duration = Duration::from_secs(30);

/// Time allowed to open `connections` connections: 10 s, plus a millisecond each.
pub fn default_connect_timeout(connections: usize) -> Duration {
    Duration::from_secs(10) + Duration::from_millis(connections as u64)
}

/// Milestones of a run, reported as they happen (a child process prints
/// them, so the server side can read its own counters at the same moments).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Event {
    /// Every connection is open.
    Connected,
    /// The warm-up is over: the window starts.
    Measuring,
    /// The window is over (requests in flight may still finish).
    WindowEnd,
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct LoadResult {
    /// Connections held open.
    pub connections: u64,
    /// Bytes of every request.
    pub message_bytes: u64,
    /// Open-loop rate, if any.
    pub rate_per_s: Option<f64>,
    /// Length of the measured window.
    pub window: Duration,
    /// Requests of the window answered and verified.
    pub requests: u64,
    /// Requests of the window (or in flight during it) never answered;
    /// recorded in the histogram at the latency they had reached.
    pub unanswered: u64,
    /// Connections that got at least one answer during the run.
    pub connections_served: u64,
    /// Echoed bytes verified during the whole run, warm-up included.
    pub bytes_verified: u64,
    /// Latency of every request of the window, nanoseconds.
    pub histogram: Histogram<u64>,
    /// Digests of the window's verified requests.
    pub checksum: Checksum,
    /// User CPU time of the client threads during the window.
    pub cpu_user_ns: u64,
    /// System CPU time of the client threads during the window.
    pub cpu_sys_ns: u64,
    /// Client threads.
    pub threads: usize,
    /// CPUs the client threads ran on (empty: not pinned).
    pub cpus: Vec<usize>,
    /// Time to open every connection.
    pub connect: Duration,
}

impl LoadResult {
    /// Requests per second of the window.
    pub fn requests_per_s(&self) -> f64 {
        self.requests as f64 / self.window.as_secs_f64().max(1e-9)
    }

    /// Busy fraction of the client threads over the window (1.0: every
    /// client thread on a CPU all the time — the client was the limit).
    pub fn cpu_utilization(&self) -> f64 {
        (self.cpu_user_ns + self.cpu_sys_ns) as f64
            / (self.window.as_nanos() as f64 * self.threads.max(1) as f64).max(1.0)
    }

    /// The result as one JSON object (the histogram encoded as in records).
    pub fn to_json(&self) -> anyhow::Result<serde_json::Value> {
        let w = Wire {
            connections: self.connections,
            message_bytes: self.message_bytes,
            rate_per_s: self.rate_per_s,
            window_ns: self.window.as_nanos() as u64,
            requests: self.requests,
            unanswered: self.unanswered,
            connections_served: self.connections_served,
            bytes_verified: self.bytes_verified,
            histogram: hist::encode(&self.histogram)?,
            checksum_sum: self.checksum.sum,
            checksum_count: self.checksum.count,
            cpu_user_ns: self.cpu_user_ns,
            cpu_sys_ns: self.cpu_sys_ns,
            threads: self.threads,
            cpus: self.cpus.clone(),
            connect_ns: self.connect.as_nanos() as u64,
        };
        Ok(serde_json::to_value(w)?)
    }

    /// Parses what [`LoadResult::to_json`] wrote.
    pub fn from_json(v: serde_json::Value) -> anyhow::Result<LoadResult> {
        let w: Wire = serde_json::from_value(v).context("malformed load generator result")?;
        Ok(LoadResult {
            connections: w.connections,
            message_bytes: w.message_bytes,
            rate_per_s: w.rate_per_s,
            window: Duration::from_nanos(w.window_ns),
            requests: w.requests,
            unanswered: w.unanswered,
            connections_served: w.connections_served,
            bytes_verified: w.bytes_verified,
            histogram: hist::decode(&w.histogram)?,
            checksum: Checksum {
                sum: w.checksum_sum,
                count: w.checksum_count,
            },
            cpu_user_ns: w.cpu_user_ns,
            cpu_sys_ns: w.cpu_sys_ns,
            threads: w.threads,
            cpus: w.cpus,
            connect: Duration::from_nanos(w.connect_ns),
        })
    }
}

#[derive(Serialize, Deserialize)]
struct Wire {
    connections: u64,
    message_bytes: u64,
    rate_per_s: Option<f64>,
    window_ns: u64,
    requests: u64,
    unanswered: u64,
    connections_served: u64,
    bytes_verified: u64,
    histogram: String,
    checksum_sum: u64,
    checksum_count: u64,
    cpu_user_ns: u64,
    cpu_sys_ns: u64,
    threads: usize,
    cpus: Vec<usize>,
    connect_ns: u64,
}

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
    epoch: Timer,
    spec: &'a LoadSpec,
    t_start: AtomicU64,
    t_end: AtomicU64,
    ready: Barrier,
    go: Barrier,
    /// Passed once the window's end was reported: connections may close.
    release: Barrier,
    abort: AtomicBool,
}

/// One client thread's share of the result.
struct Part {
    histogram: Histogram<u64>,
    requests: u64,
    unanswered: u64,
    served: u64,
    bytes_verified: u64,
    checksum: Checksum,
    cpu: Usage,
}

fn client_thread(plan: &Plan, share: Vec<(u32, TcpStream)>) -> anyhow::Result<Part> {
    let setup = Worker::new(plan, share);
    plan.ready.wait();
    plan.go.wait();
    let run = setup.and_then(|mut w| {
        w.t_start = plan.t_start.load(Ordering::Acquire);
        w.t_end = plan.t_end.load(Ordering::Acquire);
        w.run()?;
        let part = w.finish();
        Ok((w, part))
    });
    if run.is_err() {
        plan.abort.store(true, Ordering::Release);
    }
    // The connections stay open until the window's end has been reported,
    // so whoever reads the server's figures then sees every connection.
    plan.release.wait();
    run.map(|(w, part)| {
        drop(w);
        part
    })
}

const EPOLL_IN: EpollFlags = EpollFlags::EPOLLIN;
const SCRATCH_BYTES: usize = 64 * 1024;

struct Conn {
    stream: TcpStream,
    msg: Message,
    /// Bytes of the current request written.
    written: usize,
    /// Bytes of its echo received and verified.
    got: usize,
    in_flight: bool,
    /// When the current request was meant to be sent (the send, in closed loop).
    intended_ns: u64,
    /// Waiting for `EPOLLOUT` to finish writing a message.
    watching_out: bool,
    served: bool,
}

struct Worker<'a> {
    plan: &'a Plan<'a>,
    epoll: Epoll,
    conns: Vec<Conn>,
    /// Open loop: time between two requests of one connection.
    interval_ns: Option<u64>,
    /// Open loop: idle connections by the time their next request is due.
    due: BinaryHeap<Reverse<(u64, usize)>>,
    in_flight: usize,
    scratch: Vec<u8>,
    t_start: u64,
    t_end: u64,
    /// When the last answer came.
    last_answer: u64,
    histogram: Histogram<u64>,
    requests: u64,
    unanswered: u64,
    bytes_verified: u64,
    checksum: Checksum,
    usage_start: Option<Usage>,
    usage_end: Option<Usage>,
}

impl<'a> Worker<'a> {
    fn new(plan: &'a Plan<'a>, share: Vec<(u32, TcpStream)>) -> anyhow::Result<Worker<'a>> {
        let spec = plan.spec;
        if !spec.cpus.is_empty() {
            harness::cores::set_affinity(nix::unistd::Pid::from_raw(0), &spec.cpus)?;
        }
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?;
        let mut conns = Vec::with_capacity(share.len());
        for (k, (id, stream)) in share.into_iter().enumerate() {
            epoll.add(stream.as_fd(), EpollEvent::new(EPOLL_IN, k as u64))?;
            conns.push(Conn {
                stream,
                msg: Message::new(id, spec.message_bytes),
                written: 0,
                got: 0,
                in_flight: false,
                intended_ns: 0,
                watching_out: false,
                served: false,
            });
        }
        let interval_ns = spec
            .rate_per_s
            .map(|r| ((spec.connections as f64 / r) * 1e9).max(1.0) as u64);
        Ok(Worker {
            plan,
            epoll,
            conns,
            interval_ns,
            due: BinaryHeap::new(),
            in_flight: 0,
            scratch: vec![0u8; SCRATCH_BYTES],
            t_start: 0,
            t_end: 0,
            last_answer: 0,
            histogram: hist::new(),
            requests: 0,
            unanswered: 0,
            bytes_verified: 0,
            checksum: Checksum::default(),
            usage_start: None,
            usage_end: None,
        })
    }

    fn now(&self) -> u64 {
        self.plan.epoch.ns()
    }

    /// The end of the drain: `drain` after the last answer (or the window's
    /// end), and no later than [`DRAIN_CAP`] after the window.
    fn drain_end(&self) -> u64 {
        let quiet = self.t_end.max(self.last_answer) + self.plan.spec.drain.as_nanos() as u64;
        quiet.min(self.t_end + DRAIN_CAP.as_nanos() as u64)
    }

    fn run(&mut self) -> anyhow::Result<()> {
        let go = self.now();
        match self.interval_ns {
            None => {
                for k in 0..self.conns.len() {
                    self.send(k, go)?;
                }
            }
            Some(interval) => {
                // Spread the connections' phases over one interval.
                let c = self.plan.spec.connections as u64;
                for k in 0..self.conns.len() {
                    let id = u64::from(self.conns[k].msg.conn());
                    let first = go + (u128::from(interval) * u128::from(id) / u128::from(c)) as u64;
                    if first < self.t_end {
                        self.due.push(Reverse((first, k)));
                    }
                }
            }
        }
        let mut events = vec![EpollEvent::empty(); 1024];
        loop {
            anyhow::ensure!(
                !self.plan.abort.load(Ordering::Relaxed),
                "stopped: another load generator thread failed"
            );
            let now = self.now();
            if self.usage_start.is_none() && now >= self.t_start {
                self.usage_start = Some(Usage::this_thread());
            }
            if self.usage_end.is_none() && now >= self.t_end {
                self.usage_end = Some(Usage::this_thread());
            }
            while let Some(&Reverse((due, k))) = self.due.peek() {
                if due > now {
                    break;
                }
                self.due.pop();
                self.send(k, due)?;
            }
            if now >= self.t_end && self.in_flight == 0 && self.due.is_empty() {
                return Ok(());
            }
            let drain_end = self.drain_end();
            if now >= drain_end {
                return Ok(());
            }
            let mut deadline = if now < self.t_start {
                self.t_start
            } else if now < self.t_end {
                self.t_end
            } else {
                drain_end
            };
            if let Some(&Reverse((due, _))) = self.due.peek() {
                deadline = deadline.min(due);
            }
            let n = net::wait(
                &self.epoll,
                &mut events,
                Some(Duration::from_nanos(deadline.saturating_sub(now))),
            )?;
            for ev in &events[..n] {
                let k = ev.data() as usize;
                let flags = ev.events();
                if flags.contains(EpollFlags::EPOLLOUT) {
                    self.write_more(k)?;
                }
                if flags.intersects(EPOLL_IN | EpollFlags::EPOLLHUP | EpollFlags::EPOLLERR) {
                    self.read_ready(k)?;
                }
            }
        }
    }

    /// Starts request `seq + 1` of connection `k`, meant to be sent at `intended_ns`.
    fn send(&mut self, k: usize, intended_ns: u64) -> anyhow::Result<()> {
        let c = &mut self.conns[k];
        debug_assert!(!c.in_flight);
        c.in_flight = true;
        c.intended_ns = intended_ns;
        c.written = 0;
        c.got = 0;
        self.in_flight += 1;
        self.write_more(k)
    }

    fn write_more(&mut self, k: usize) -> anyhow::Result<()> {
        let c = &mut self.conns[k];
        let len = c.msg.len();
        while c.in_flight && c.written < len {
            match c.stream.write(&c.msg.bytes()[c.written..]) {
                Ok(n) => c.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if !c.watching_out {
                        let mut ev = EpollEvent::new(EPOLL_IN | EpollFlags::EPOLLOUT, k as u64);
                        self.epoll.modify(c.stream.as_fd(), &mut ev)?;
                        c.watching_out = true;
                    }
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(e).with_context(|| {
                        format!(
                            "connection {}: cannot send request {}",
                            c.msg.conn(),
                            c.msg.seq()
                        )
                    });
                }
            }
        }
        if c.watching_out {
            let mut ev = EpollEvent::new(EPOLL_IN, k as u64);
            self.epoll.modify(c.stream.as_fd(), &mut ev)?;
            c.watching_out = false;
        }
        Ok(())
    }

    /// One read per readiness event: the epoll set is level-triggered, so
    /// what is left is reported again, and a read that would only return
    /// `EWOULDBLOCK` is never made (the client must cost no more system calls
    /// per request than the servers it measures).
    fn read_ready(&mut self, k: usize) -> anyhow::Result<()> {
        loop {
            let c = &mut self.conns[k];
            let want = if c.in_flight { c.msg.len() - c.got } else { 0 };
            // Read at least one byte, so that surplus bytes and a close are seen.
            let cap = want.clamp(1, self.scratch.len());
            match c.stream.read(&mut self.scratch[..cap]) {
                Ok(0) => anyhow::bail!(
                    "connection {}: the server closed it{}",
                    c.msg.conn(),
                    if c.in_flight {
                        format!(
                            " after echoing {} of {} bytes of request {}",
                            c.got,
                            c.msg.len(),
                            c.msg.seq()
                        )
                    } else {
                        String::new()
                    }
                ),
                Ok(n) => {
                    let at = if c.in_flight { c.got } else { c.msg.len() };
                    c.msg.check(at, &self.scratch[..n])?;
                    c.got += n;
                    if c.got == c.msg.len() {
                        self.complete(k)?;
                    }
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(e).with_context(|| {
                        format!("connection {}: cannot read its echo", c.msg.conn())
                    });
                }
            }
        }
    }

    fn complete(&mut self, k: usize) -> anyhow::Result<()> {
        let now = self.now();
        self.last_answer = now;
        let (t_start, t_end) = (self.t_start, self.t_end);
        let c = &mut self.conns[k];
        let intended = c.intended_ns;
        if (t_start..t_end).contains(&intended) {
            hist::record(&mut self.histogram, now.saturating_sub(intended));
            self.requests += 1;
            self.checksum.add(c.msg.digest());
        }
        self.bytes_verified += c.msg.len() as u64;
        c.served = true;
        c.in_flight = false;
        self.in_flight -= 1;
        let next_seq = c.msg.seq() + 1;
        c.msg.set_seq(next_seq);
        match self.interval_ns {
            None if now < t_end => self.send(k, now)?,
            None => {}
            Some(interval) => {
                let next = intended + interval;
                if next < t_end {
                    if next <= now {
                        self.send(k, next)?;
                    } else {
                        self.due.push(Reverse((next, k)));
                    }
                }
            }
        }
        Ok(())
    }

    /// Records what is still unanswered at the latency it has reached.
    fn finish(&mut self) -> Part {
        let now = self.now();
        let end = self.usage_end.unwrap_or_else(Usage::this_thread);
        let cpu = end.since(&self.usage_start.unwrap_or(end));
        let mut served = 0;
        for c in &self.conns {
            served += u64::from(c.served);
            if !c.in_flight {
                continue;
            }
            hist::record(&mut self.histogram, now.saturating_sub(c.intended_ns));
            self.unanswered += 1;
            if let Some(interval) = self.interval_ns {
                // The requests this connection should have sent meanwhile.
                let mut due = c.intended_ns + interval;
                while due < self.t_end {
                    if due >= self.t_start {
                        hist::record(&mut self.histogram, now.saturating_sub(due));
                        self.unanswered += 1;
                    }
                    due += interval;
                }
            }
        }
        Part {
            histogram: std::mem::replace(&mut self.histogram, hist::new()),
            requests: self.requests,
            unanswered: self.unanswered,
            served,
            bytes_verified: self.bytes_verified,
            checksum: self.checksum,
            cpu,
        }
    }
}
