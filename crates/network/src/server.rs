//! What a server model is to the `echo` and `serve` experiments: a row of
//! [`ServerModel`] — its name beside how to start it and what the
//! experiments must know of it — and the [`Server`] it starts: something on a
//! port with a number of workers, that says where it listens and stops
//! cleanly, reporting what it did. The concept crates write the rows
//! (blocking threads, epoll loops, async runtimes); this crate drives them.

use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

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
    /// How its event loops batched their work, where it runs event loops.
    pub loops: Option<LoopStats>,
}

/// How an event loop batched its work, counted by the loop itself: what a
/// readiness loop (events per `epoll_wait`) and a completion loop
/// (completions per `io_uring_enter`) differ on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoopStats {
    /// The call the loop waits in (`epoll_wait`, `io_uring_enter`).
    pub wait_call: &'static str,
    /// Calls of it.
    pub waits: u64,
    /// Events (readiness) or completions those calls returned.
    pub events: u64,
    /// Every system call the loop made, the waits included.
    pub syscalls: u64,
}

impl LoopStats {
    /// The sum of two loops' counts (of the same wait call).
    pub fn plus(self, other: LoopStats) -> LoopStats {
        LoopStats {
            wait_call: if self.wait_call.is_empty() {
                other.wait_call
            } else {
                self.wait_call
            },
            waits: self.waits + other.waits,
            events: self.events + other.events,
            syscalls: self.syscalls + other.syscalls,
        }
    }

    /// Events or completions per wait.
    pub fn events_per_wait(&self) -> f64 {
        self.events as f64 / self.waits.max(1) as f64
    }
}

/// Why a server model cannot run on this machine, and what would let it:
/// `echo` skips the model with this as its note, `serve` exits with it, and
/// tests skip the model instead of failing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable {
    /// What is missing (`io_uring`).
    pub what: &'static str,
    /// Why, as measured (`io_uring_setup returned EPERM: …`).
    pub cause: String,
    /// What would make it available.
    pub fix: String,
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is unavailable here: {}; to run it: {}",
            self.what, self.cause, self.fix
        )
    }
}

impl std::error::Error for Unavailable {}

/// Says whether a model can run on this machine.
pub type ProbeFn = fn() -> Result<(), Unavailable>;

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
    /// Whether it can run here, where that depends on the machine (io_uring:
    /// the kernel, its settings and the seccomp profile); `None`: always.
    pub probe: Option<ProbeFn>,
}

impl ServerModel {
    /// Whether it can run on this machine.
    pub fn available(&self) -> Result<(), Unavailable> {
        self.probe.map_or(Ok(()), |probe| probe())
    }

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
    loops: Mutex<Option<LoopStats>>,
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

    /// Adds an event loop's counts, once, as the loop ends.
    pub fn loop_ended(&self, l: LoopStats) {
        let mut all = self.loops.lock().unwrap_or_else(|p| p.into_inner());
        *all = Some(all.map_or(l, |a| a.plus(l)));
    }

    /// The totals.
    pub fn stats(&self) -> ServerStats {
        ServerStats {
            connections: self.connections.load(Ordering::Acquire),
            bytes_echoed: self.bytes_echoed.load(Ordering::Acquire),
            loops: *self.loops.lock().unwrap_or_else(|p| p.into_inner()),
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
                bytes_echoed: 10,
                loops: None
            }
        );
    }

    #[test]
    fn loops_add_up_their_batching() {
        let c = Counters::new();
        let l = |waits, events| LoopStats {
            wait_call: "epoll_wait",
            waits,
            events,
            syscalls: waits + 2 * events,
        };
        c.loop_ended(l(2, 10));
        c.loop_ended(l(3, 5));
        let s = c.stats().loops.unwrap();
        assert_eq!(
            (s.wait_call, s.waits, s.events, s.syscalls),
            ("epoll_wait", 5, 15, 35)
        );
        assert_eq!(s.events_per_wait(), 3.0);
    }

    #[test]
    fn a_probe_says_why_a_model_cannot_run() {
        let row = |probe| ServerModel {
            name: "m",
            start: |_| anyhow::bail!("not started in this test"),
            at_once: AtOnce::All,
            threads: Threads::One,
            thread_prefixes: &[],
            status: None,
            probe,
        };
        assert!(row(None).available().is_ok());
        let e = row(Some(|| {
            Err(Unavailable {
                what: "io_uring",
                cause: "io_uring_setup returned EPERM".into(),
                fix: "allow it".into(),
            })
        }))
        .available()
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "io_uring is unavailable here: io_uring_setup returned EPERM; to run it: allow it"
        );
    }
}
