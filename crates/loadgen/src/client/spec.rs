//! What a load run is asked to do ([`LoadSpec`]), the milestones it reports
//! ([`Event`]), and what came of it ([`LoadResult`], and its form on the wire
//! between the `loadgen` child and its parent).

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use harness::hist;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use workload::Checksum;
use workload::message;

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
