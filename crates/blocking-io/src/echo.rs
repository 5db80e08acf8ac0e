//! `echo` with blocking sockets: every `read` and `write` waits, so a thread
//! serves one connection at a time, and how many threads there are decides
//! how many connections are served at once (C12).
//!
//! Models:
//! - `iterative`: one thread accepts a connection and echoes until the client
//!   closes it, then accepts the next. Every other client waits in the listen
//!   backlog: head-of-line blocking.
//! - `pool`: a fixed pool of `--cores` threads, each doing what `iterative`
//!   does on the shared listener: `--cores` connections at a time.
//! - `thread-per-connection`: an acceptor thread starts a thread for every
//!   connection: all are served, at the price of a thread (stack, kernel task,
//!   context switches) each.
//!
//! Stopping: a stop flag, `shutdown(SHUT_RD)` on the listener (which wakes
//! every thread blocked in `accept` with `EINVAL`), and `shutdown` on every
//! live connection (which wakes its blocked `read`); then every thread is
//! joined.

use std::collections::HashSet;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

use anyhow::Context as _;
use harness::Common;
use harness::cli::EchoArgs;
use loadgen::net::{self, ECHO_BUFFER_BYTES};
use network::echo::EchoServers;
use network::server::{
    AtOnce, Counters, EchoTally, Server, ServerCtx, ServerModel, ServerStats, Threads,
};
use nix::sys::socket::{Shutdown, shutdown};

/// The server models, in the order they run (the deciding one last).
pub const MODELS: &[ServerModel] = &[
    ServerModel {
        name: "iterative",
        start: |ctx| start(Kind::Iterative, ctx),
        at_once: AtOnce::One,
        threads: Threads::One,
        thread_prefixes: &["iterative-"],
        status: None,
        probe: None,
    },
    ServerModel {
        name: "pool",
        start: |ctx| start(Kind::Pool, ctx),
        at_once: AtOnce::Workers,
        threads: Threads::Workers,
        thread_prefixes: &["pool-"],
        status: None,
        probe: None,
    },
    ServerModel {
        name: "thread-per-connection",
        start: |ctx| start(Kind::ThreadPerConnection, ctx),
        at_once: AtOnce::All,
        threads: Threads::PerConnection,
        // Connection threads inherit the acceptor's name, "thread-per-connection-0".
        thread_prefixes: &["thread-per-connection-"],
        status: None,
        probe: None,
    },
];

/// The `echo` experiment's view of these models.
pub const SERVERS: EchoServers = EchoServers {
    binary: "blocking-io",
    models: MODELS,
    decider: (
        "thread-per-connection",
        "blocking sockets, a thread per connection",
    ),
};

/// How a blocking server gets its concurrency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One thread, one connection at a time.
    Iterative,
    /// A fixed pool of threads, one connection each at a time.
    Pool,
    /// An acceptor that starts a thread per connection.
    ThreadPerConnection,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Iterative => "iterative",
            Kind::Pool => "pool",
            Kind::ThreadPerConnection => "thread-per-connection",
        }
    }
}

/// Echoes one connection until the client closes it (or it fails); returns
/// the bytes echoed. Partial reads and writes are the kernel's business:
/// `read` returns what has arrived, `write_all` loops until all is written.
pub fn echo_connection(stream: &mut TcpStream, buf: &mut [u8]) -> u64 {
    let mut bytes = 0u64;
    loop {
        let n = match stream.read(buf) {
            Ok(0) => return bytes,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return bytes,
        };
        if stream.write_all(&buf[..n]).is_err() {
            return bytes;
        }
        bytes += n as u64;
    }
}

/// Live connections, so that stopping can wake their blocked reads.
#[derive(Debug, Default)]
struct Live {
    /// `None` once stopping.
    fds: Mutex<Option<HashSet<RawFd>>>,
}

impl Live {
    fn new() -> Arc<Live> {
        Arc::new(Live {
            fds: Mutex::new(Some(HashSet::new())),
        })
    }

    fn stopping(&self) -> bool {
        self.fds.lock().map_or(true, |g| g.is_none())
    }

    /// Serves `stream` unless stopping. The descriptor is in the set exactly
    /// while the stream is open, so `stop` never shuts down a reused number.
    fn serve(&self, mut stream: TcpStream, counters: &Arc<Counters>, buf: &mut [u8]) {
        let fd = stream.as_raw_fd();
        match self.fds.lock() {
            Ok(mut g) => match g.as_mut() {
                Some(set) => set.insert(fd),
                None => return,
            },
            Err(_) => return,
        };
        let mut tally = EchoTally::new(counters);
        let _ = stream.set_nodelay(true);
        tally.bytes = echo_connection(&mut stream, buf);
        if let Ok(mut g) = self.fds.lock()
            && let Some(set) = g.as_mut()
        {
            set.remove(&fd);
        }
        // Dropped (closed) only after leaving the set; while stopping, the
        // lock is held across the shutdowns, so the number is still ours.
        drop(stream);
    }

    /// Marks the server as stopping and shuts down every live connection.
    fn stop(&self) {
        if let Ok(mut g) = self.fds.lock()
            && let Some(set) = g.take()
        {
            for fd in set {
                let _ = shutdown(fd, Shutdown::Both);
            }
        }
    }
}

/// A running blocking server.
pub struct BlockingServer {
    addr: SocketAddr,
    listener: Arc<TcpListener>,
    live: Arc<Live>,
    threads: Vec<JoinHandle<()>>,
    counters: Arc<Counters>,
}

impl Server for BlockingServer {
    fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn stop(self: Box<Self>) -> anyhow::Result<ServerStats> {
        self.live.stop();
        // Wakes every thread blocked in accept (EINVAL).
        let _ = shutdown(self.listener.as_raw_fd(), Shutdown::Read);
        for t in self.threads {
            t.join()
                .map_err(|_| anyhow::anyhow!("a server thread panicked"))?;
        }
        Ok(self.counters.stats())
    }
}

/// Accepts until stopped, serving each connection on this thread.
fn accept_and_serve(listener: &TcpListener, live: &Live, counters: &Arc<Counters>) {
    let mut buf = vec![0u8; ECHO_BUFFER_BYTES];
    loop {
        match listener.accept() {
            Ok((s, _)) => live.serve(s, counters, &mut buf),
            Err(_) if live.stopping() => return,
            Err(e) => {
                if !net::accept_goes_on(&e) {
                    eprintln!("error: blocking-io server: accept failed: {e}");
                    return;
                }
            }
        }
    }
}

/// Accepts until stopped, starting a thread per connection; joins them all at the end.
fn accept_and_spawn(listener: &TcpListener, live: &Arc<Live>, counters: &Arc<Counters>) {
    let mut handles: Vec<JoinHandle<()>> = Vec::new();
    let mut accepted = 0u64;
    loop {
        match listener.accept() {
            Ok((s, _)) => {
                accepted += 1;
                let (live, counters) = (Arc::clone(live), Arc::clone(counters));
                let spawned = thread::Builder::new().spawn(move || {
                    let mut buf = vec![0u8; ECHO_BUFFER_BYTES];
                    live.serve(s, &counters, &mut buf);
                });
                match spawned {
                    Ok(h) => handles.push(h),
                    Err(e) => eprintln!(
                        "error: thread-per-connection: cannot start a thread for connection {accepted}: {e}"
                    ),
                }
                // Forget finished threads now and then, for long `serve` runs.
                if accepted.is_multiple_of(1024) {
                    handles.retain(|h| !h.is_finished());
                }
            }
            Err(_) if live.stopping() => break,
            Err(e) if net::accept_goes_on(&e) => {}
            Err(e) => {
                eprintln!("error: thread-per-connection: accept failed: {e}");
                break;
            }
        }
    }
    for h in handles {
        let _ = h.join();
    }
}

/// Starts a server of `kind`.
pub fn start(kind: Kind, ctx: &ServerCtx) -> anyhow::Result<Box<dyn Server>> {
    let model = kind.name();
    let listener = Arc::new(net::bind_listener(ctx.port, false)?);
    let addr = listener.local_addr()?;
    let live = Live::new();
    let counters = Counters::new();
    let mut threads = Vec::new();
    let n = match kind {
        Kind::Iterative | Kind::ThreadPerConnection => 1,
        Kind::Pool => ctx.workers,
    };
    for k in 0..n {
        let (l, lv, c) = (
            Arc::clone(&listener),
            Arc::clone(&live),
            Arc::clone(&counters),
        );
        let spawn_per_connection = kind == Kind::ThreadPerConnection;
        let h = thread::Builder::new()
            .name(format!("{model}-{k}"))
            .spawn(move || {
                if spawn_per_connection {
                    accept_and_spawn(&l, &lv, &c);
                } else {
                    accept_and_serve(&l, &lv, &c);
                }
            })
            .with_context(|| format!("cannot start {model} server thread {k}"))?;
        threads.push(h);
    }
    Ok(Box::new(BlockingServer {
        addr,
        listener,
        live,
        threads,
        counters,
    }))
}

/// `blocking-io echo`.
pub fn run(common: &Common, args: &EchoArgs) -> anyhow::Result<()> {
    network::echo::run(&SERVERS, common, args)
}
