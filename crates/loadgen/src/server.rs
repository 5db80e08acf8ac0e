//! What a server model is to the harness of `echo` and `serve`: something
//! started on a port with a number of workers, that says where it listens and
//! stops cleanly, reporting what it did. The concept crates implement it
//! (blocking threads, epoll loops, async runtimes); this crate drives them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use harness::Case;

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

/// What a model's records say about its standing, with a note for people:
/// async-std is `discontinued` (records carry `"status": "discontinued"`, as
/// the coroutine crate's other experiments do).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelStatus {
    /// The record's `status` parameter.
    pub status: &'static str,
    /// Printed once per run on stderr.
    pub note: &'static str,
}

/// Starts model `model` of a binary's servers.
pub type StartFn = fn(&str, &ServerCtx) -> anyhow::Result<Box<dyn Server>>;

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
