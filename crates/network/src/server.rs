//! What a server model is to the `echo` and `serve` experiments: a row of
//! [`ServerModel`] — its name beside how to start it and what the
//! experiments must know of it — and the [`Server`] it starts: something on a
//! port with a number of workers, that says where it listens and stops
//! cleanly, reporting what it did. The concept crates write the rows
//! (blocking threads, epoll loops, async runtimes); this crate drives them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use harness::Case;
pub use harness::model::ModelStatus;

/// How to start a server model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerCtx {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Workers (N of `--cores N`): pool threads, event loops, runtime threads.
    pub workers: usize,
    /// CPUs the server may run on (the pinned `--cores` set).
    pub cpus: Vec<usize>,
}

/// What a server did, counted by the server itself: proof that the bytes the
/// client verified went through it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// Connections accepted.
    pub connections: u64,
    /// Bytes echoed (written back).
    pub bytes_echoed: u64,
}

/// A running server.
pub trait Server: Send {
    /// Where it listens.
    fn addr(&self) -> SocketAddr;
    /// Stops accepting, closes every connection, joins every thread or task
    /// it started, and reports what it did.
    fn stop(self: Box<Self>) -> anyhow::Result<ServerStats>;
    /// Adds to a case what its record should say about how this server runs
    /// (an async runtime's threads and their pinning); nothing by default.
    fn annotate(&self, case: Case) -> Case {
        case
    }
}

/// Starts a server.
pub type StartFn = fn(&ServerCtx) -> anyhow::Result<Box<dyn Server>>;

/// How many connections a model serves at once; the rest wait in the listen
/// backlog, so a count beyond it plus the backlog cannot even connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtOnce {
    /// One at a time (an iterative server).
    One,
    /// One per worker (a fixed pool).
    Workers,
    /// All of them.
    All,
}

/// How many threads a model starts (checked against the OS limits first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threads {
    /// One.
    One,
    /// One per worker.
    Workers,
    /// One per connection, and the acceptor.
    PerConnection,
}

/// One server model: its name beside everything the experiments need.
#[derive(Debug, Clone, Copy)]
pub struct ServerModel {
    /// Its name (`--model`, records).
    pub name: &'static str,
    /// Starts it.
    pub start: StartFn,
    /// Connections it serves at once.
    pub at_once: AtOnce,
    /// Threads it starts.
    pub threads: Threads,
    /// Name prefixes of its threads (as `/proc` shows them, at most 15
    /// bytes), to count the server's threads apart from the harness's and
    /// from a runtime an earlier case left running (async-std's cannot stop).
    pub thread_prefixes: &'static [&'static str],
    /// Its standing (a discontinued runtime), noted once and kept in its records.
    pub status: Option<ModelStatus>,
}

impl ServerModel {
    /// Connections served at once with `workers` workers; `None`: all.
    pub fn serves_at_once(&self, workers: usize) -> Option<usize> {
        match self.at_once {
            AtOnce::One => Some(1),
            AtOnce::Workers => Some(workers),
            AtOnce::All => None,
        }
    }

    /// Threads started for `connections` with `workers` workers.
    pub fn threads_for(&self, connections: usize, workers: usize) -> usize {
        match self.threads {
            Threads::One => 1,
            Threads::Workers => workers,
            Threads::PerConnection => connections + 1,
        }
    }
}

impl harness::Model for &'static ServerModel {
    fn name(self) -> &'static str {
        self.name
    }
}

/// Counters a server shares between its threads or tasks; each connection
/// adds its bytes once, when it ends, so the hot path touches no shared line.
#[derive(Debug, Default)]
pub struct Counters {
    connections: AtomicU64,
    bytes_echoed: AtomicU64,
    live: AtomicU64,
}

impl Counters {
    /// New counters, shareable.
    pub fn new() -> Arc<Counters> {
        Arc::new(Counters::default())
    }

    /// Counts an accepted connection.
    pub fn accepted(&self) {
        self.connections.fetch_add(1, Ordering::Relaxed);
        self.live.fetch_add(1, Ordering::AcqRel);
    }

    /// Adds the bytes a connection echoed, at its end.
    pub fn echoed(&self, bytes: u64) {
        self.bytes_echoed.fetch_add(bytes, Ordering::Relaxed);
        self.live.fetch_sub(1, Ordering::AcqRel);
    }

    /// Connections accepted and not yet ended (a server waits for zero
    /// before it reports, where it cannot join its tasks).
    pub fn live(&self) -> u64 {
        self.live.load(Ordering::Acquire)
    }

    /// The totals.
    pub fn stats(&self) -> ServerStats {
        ServerStats {
            connections: self.connections.load(Ordering::Acquire),
            bytes_echoed: self.bytes_echoed.load(Ordering::Acquire),
        }
    }
}

/// Adds a connection's echoed bytes to the counters when dropped — at the
/// end of the connection however it ends, a cancelled async task included.
#[derive(Debug)]
pub struct EchoTally {
    counters: Arc<Counters>,
    /// Bytes echoed so far on this connection.
    pub bytes: u64,
}

impl EchoTally {
    /// Counts an accepted connection and starts its tally.
    pub fn new(counters: &Arc<Counters>) -> EchoTally {
        counters.accepted();
        EchoTally {
            counters: Arc::clone(counters),
            bytes: 0,
        }
    }
}

impl Drop for EchoTally {
    fn drop(&mut self) {
        self.counters.echoed(self.bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tally_counts_on_drop() {
        let c = Counters::new();
        {
            let mut t = EchoTally::new(&c);
            t.bytes += 10;
            assert_eq!(c.stats().bytes_echoed, 0);
            assert_eq!(c.live(), 1);
        }
        assert_eq!(c.live(), 0);
        assert_eq!(
            c.stats(),
            ServerStats {
                connections: 1,
                bytes_echoed: 10
            }
        );
    }
}
