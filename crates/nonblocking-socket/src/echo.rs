//! `echo` with non-blocking sockets on epoll readiness loops: one thread
//! holds any number of connections, and a connection costs a slot and its
//! socket, not a thread (C12).
//!
//! Models:
//! - `epoll`: one thread, level-triggered. Each ready connection gets one
//!   `read` (up to the buffer) and the echo is written at once; what the
//!   socket buffer does not take waits for `EPOLLOUT`, and the connection is
//!   not read meanwhile (backpressure).
//! - `epoll-edge`: the same loop, edge-triggered: a readiness edge is
//!   reported once, so every event reads until `EWOULDBLOCK` (one more system
//!   call per message than level-triggered, the price of fewer wake-ups).
//! - `epoll-per-core`: one level-triggered loop per `--cores` worker, each
//!   pinned to its own CPU with its own listener on the shared port
//!   (`SO_REUSEPORT`: the kernel spreads new connections across them).
//! - `io-uring`, `io-uring-per-core`: the same two shapes as completion
//!   loops over io_uring (see [`crate::uring::echo`]); skipped, with the
//!   cause and the fix, where the machine refuses io_uring.
//!
//! All loops share one 16 KiB read buffer per loop, where blocking and async
//! servers need one per connection: the memory a readiness loop saves.
//! Stopping writes an eventfd that every loop watches. Every loop counts its
//! `epoll_wait` calls, the events they returned and every system call it
//! makes (`ServerStats::loops`), which `echo` records as its batching.
//! The io_uring loops count the same for `io_uring_enter` and its completions.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use anyhow::Context as _;
use harness::Common;
use harness::cli::EchoArgs;
use loadgen::net::{self, ECHO_BUFFER_BYTES};
use loadgen::slab::{Slab, Token};
use network::echo::EchoServers;
use network::server::{
    AtOnce, Counters, EchoTally, LoopStats, Server, ServerCtx, ServerModel, ServerStats, Threads,
};
use nix::sys::epoll::{Epoll, EpollEvent, EpollFlags};
use nix::sys::eventfd::{EfdFlags, EventFd};

use crate::uring::{self, echo::Rings};

/// The server models, in the order they run (`epoll` decides C12).
pub const MODELS: &[ServerModel] = &[
    ServerModel {
        name: "epoll",
        start: |ctx| start(Loops::One(Trigger::Level), ctx),
        at_once: AtOnce::All,
        threads: Threads::One,
        thread_prefixes: &["epoll-0"],
        status: None,
        probe: None,
    },
    ServerModel {
        name: "epoll-edge",
        start: |ctx| start(Loops::One(Trigger::Edge), ctx),
        at_once: AtOnce::All,
        threads: Threads::One,
        thread_prefixes: &["epoll-edge-"],
        status: None,
        probe: None,
    },
    ServerModel {
        name: "epoll-per-core",
        start: |ctx| start(Loops::PerCore, ctx),
        at_once: AtOnce::All,
        threads: Threads::Workers,
        thread_prefixes: &["epoll-per-core-"],
        status: None,
        probe: None,
    },
    ServerModel {
        name: "io-uring",
        start: |ctx| uring::echo::start(Rings::ONE, ctx),
        at_once: AtOnce::All,
        threads: Threads::One,
        thread_prefixes: &["io-uring-0"],
        status: None,
        probe: Some(uring::probe),
    },
    ServerModel {
        name: "io-uring-per-core",
        start: |ctx| uring::echo::start(Rings::PER_CORE, ctx),
        at_once: AtOnce::All,
        threads: Threads::Workers,
        thread_prefixes: &["io-uring-per-core-"],
        status: None,
        probe: Some(uring::probe),
    },
];

/// The `echo` experiment's view of these models.
pub const SERVERS: EchoServers = EchoServers {
    binary: "nonblocking-socket",
    models: MODELS,
    decider: (
        "epoll",
        "non-blocking sockets, one epoll loop on one thread",
    ),
};

/// How many event loops, and how they are told of readiness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loops {
    /// One loop on one thread.
    One(Trigger),
    /// One level-triggered loop per worker, each on its own CPU with its own
    /// listener on the shared port (`SO_REUSEPORT`).
    PerCore,
}

/// How readiness is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// Reported while the condition holds: read once per event.
    Level,
    /// Reported when the condition starts: read until `EWOULDBLOCK`.
    Edge,
}

const LISTENER: u64 = net::LISTENER_TOKEN;
const STOP: u64 = net::STOP_TOKEN;

struct Conn {
    stream: TcpStream,
    /// Echo bytes the socket did not take yet.
    pending: Vec<u8>,
    sent: usize,
    /// Level-triggered: registered for `EPOLLOUT` (and not `EPOLLIN`) until `pending` is written.
    watching_out: bool,
    tally: EchoTally,
}

/// The name the epoll loops give their wait in [`LoopStats`].
pub const EPOLL_WAIT: &str = "epoll_wait";

/// One readiness loop.
pub struct EventLoop {
    epoll: Epoll,
    listener: TcpListener,
    stop: Arc<EventFd>,
    conns: Slab<Conn>,
    trigger: Trigger,
    buf: Vec<u8>,
    counters: Arc<Counters>,
    stats: LoopStats,
}

/// What happened to a connection.
enum Fate {
    Open,
    Closed,
}

impl EventLoop {
    /// A loop serving `listener`, stopped by a write to `stop`.
    pub fn new(
        listener: TcpListener,
        stop: Arc<EventFd>,
        trigger: Trigger,
        counters: Arc<Counters>,
    ) -> anyhow::Result<EventLoop> {
        listener.set_nonblocking(true)?;
        let epoll = net::listener_epoll(&listener, &stop)?;
        Ok(EventLoop {
            epoll,
            listener,
            stop,
            conns: Slab::new(),
            trigger,
            buf: vec![0u8; ECHO_BUFFER_BYTES],
            counters,
            stats: LoopStats {
                wait_call: EPOLL_WAIT,
                ..LoopStats::default()
            },
        })
    }

    /// Serves until stopped; every connection is closed on return.
    pub fn run(mut self) -> anyhow::Result<()> {
        let mut events = vec![EpollEvent::empty(); 1024];
        loop {
            let n = net::wait(&self.epoll, &mut events, None)?;
            self.stats.waits += 1;
            self.stats.syscalls += 1;
            self.stats.events += n as u64;
            for ev in &events[..n] {
                match ev.data() {
                    STOP => {
                        let _ = self.stop.read();
                        self.conns.drain().for_each(drop);
                        self.counters.loop_ended(self.stats);
                        return Ok(());
                    }
                    LISTENER => self.accept_all()?,
                    t => {
                        let t = Token(t);
                        if let Fate::Closed = self.drive(t, ev.events()) {
                            // Closing the descriptor also removes it from the epoll set.
                            self.conns.remove(t);
                            self.stats.syscalls += 1;
                        }
                    }
                }
            }
        }
    }

    fn accept_all(&mut self) -> anyhow::Result<()> {
        // With EMFILE a level-triggered listener would stay ready and the
        // loop would spin: the error stops the loop instead.
        // Every call of accept4 counts, the last one (EAGAIN) included.
        self.stats.syscalls += 1;
        while let Some(stream) = net::accept_nonblocking(&self.listener).context("accept failed")? {
            // accept4, then setsockopt(TCP_NODELAY) and epoll_ctl below.
            self.stats.syscalls += 3;
            let tally = EchoTally::new(&self.counters);
            let t = self.conns.insert(Conn {
                stream,
                pending: Vec::new(),
                sent: 0,
                watching_out: false,
                tally,
            });
            let flags = match self.trigger {
                Trigger::Level => EpollFlags::EPOLLIN,
                Trigger::Edge => EpollFlags::EPOLLIN | EpollFlags::EPOLLOUT | EpollFlags::EPOLLET,
            };
            let c = self.conns.get_mut(t).expect("just inserted");
            self.epoll
                .add(c.stream.as_fd(), EpollEvent::new(flags, t.0))?;
        }
        Ok(())
    }

    fn drive(&mut self, t: Token, flags: EpollFlags) -> Fate {
        let Some(c) = self.conns.get_mut(t) else {
            return Fate::Open;
        };
        let calls = &mut self.stats.syscalls;
        let r = match self.trigger {
            Trigger::Level => level(&self.epoll, c, t, flags, &mut self.buf, calls),
            Trigger::Edge => edge(c, &mut self.buf, calls),
        };
        match r {
            Ok(f) => f,
            // Reset, broken pipe: the client is gone; close and carry on.
            Err(_) => Fate::Closed,
        }
    }
}

/// Writes `pending`; true when all of it is out, false on `EWOULDBLOCK`.
/// Every call is counted in `calls`, as in the functions below.
fn flush(c: &mut Conn, calls: &mut u64) -> io::Result<bool> {
    while c.sent < c.pending.len() {
        *calls += 1;
        match c.stream.write(&c.pending[c.sent..]) {
            Ok(n) => {
                c.sent += n;
                c.tally.bytes += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    c.pending.clear();
    c.sent = 0;
    Ok(true)
}

/// Echoes `data`: writes what the socket takes and keeps the rest pending.
/// True when all of it is out.
fn echo(c: &mut Conn, data: &[u8], calls: &mut u64) -> io::Result<bool> {
    let mut off = 0;
    while off < data.len() {
        *calls += 1;
        match c.stream.write(&data[off..]) {
            Ok(n) => {
                off += n;
                c.tally.bytes += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                c.pending.extend_from_slice(&data[off..]);
                return Ok(false);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// Level-triggered: one read per event; while an echo is pending, watch only
/// `EPOLLOUT`.
fn level(
    epoll: &Epoll,
    c: &mut Conn,
    t: Token,
    flags: EpollFlags,
    buf: &mut [u8],
    calls: &mut u64,
) -> io::Result<Fate> {
    if c.watching_out {
        if flags.intersects(EpollFlags::EPOLLOUT | EpollFlags::EPOLLERR | EpollFlags::EPOLLHUP)
            && flush(c, calls)?
        {
            let mut ev = EpollEvent::new(EpollFlags::EPOLLIN, t.0);
            *calls += 1;
            epoll.modify(c.stream.as_fd(), &mut ev)?;
            c.watching_out = false;
        }
        return Ok(Fate::Open);
    }
    loop {
        *calls += 1;
        match c.stream.read(buf) {
            Ok(0) => return Ok(Fate::Closed),
            Ok(n) => {
                if !echo(c, &buf[..n], calls)? {
                    let mut ev = EpollEvent::new(EpollFlags::EPOLLOUT, t.0);
                    *calls += 1;
                    epoll.modify(c.stream.as_fd(), &mut ev)?;
                    c.watching_out = true;
                }
                return Ok(Fate::Open);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Fate::Open),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Edge-triggered: drain everything until `EWOULDBLOCK` (the edge will not
/// be reported again); a pending echo blocks reading until an `EPOLLOUT` edge.
fn edge(c: &mut Conn, buf: &mut [u8], calls: &mut u64) -> io::Result<Fate> {
    loop {
        if !c.pending.is_empty() && !flush(c, calls)? {
            return Ok(Fate::Open);
        }
        *calls += 1;
        match c.stream.read(buf) {
            Ok(0) => return Ok(Fate::Closed),
            Ok(n) => {
                echo(c, &buf[..n], calls)?;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Fate::Open),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Running server loops, readiness (epoll) or completion (io_uring): each
/// on its own thread, stopped through its eventfd.
pub struct LoopServer {
    addr: SocketAddr,
    /// What a loop is, for a panic's message: `an event loop`.
    what: &'static str,
    stops: Vec<Arc<EventFd>>,
    threads: Vec<JoinHandle<anyhow::Result<()>>>,
    counters: Arc<Counters>,
}

impl LoopServer {
    /// A server of no loop yet, listening on `addr`, its loops counting into `counters`.
    pub fn new(addr: SocketAddr, what: &'static str, counters: &Arc<Counters>) -> LoopServer {
        LoopServer {
            addr,
            what,
            stops: Vec::new(),
            threads: Vec::new(),
            counters: Arc::clone(counters),
        }
    }

    /// Adds a started loop and the eventfd that stops it.
    pub fn add(&mut self, stop: Arc<EventFd>, thread: JoinHandle<anyhow::Result<()>>) {
        self.stops.push(stop);
        self.threads.push(thread);
    }
}

impl Server for LoopServer {
    fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn stop(self: Box<Self>) -> anyhow::Result<ServerStats> {
        for s in &self.stops {
            s.write(1)?;
        }
        for t in self.threads {
            t.join()
                .map_err(|_| anyhow::anyhow!("{} panicked", self.what))??;
        }
        Ok(self.counters.stats())
    }
}

/// The listeners of `loops` loops: the first on `port` (0: any), with
/// `SO_REUSEPORT` where `reuse_port`, the others on the same port.
pub fn listeners(
    port: u16,
    reuse_port: bool,
    loops: usize,
) -> anyhow::Result<(SocketAddr, Vec<TcpListener>)> {
    let first = net::bind_listener(port, reuse_port)?;
    let addr = first.local_addr()?;
    let mut all = vec![first];
    for _ in 1..loops {
        all.push(net::bind_listener(addr.port(), true)?);
    }
    Ok((addr, all))
}

/// Starts a server of event loops as `how` says.
pub fn start(how: Loops, ctx: &ServerCtx) -> anyhow::Result<Box<dyn Server>> {
    let (loops, trigger, reuse_port, model) = match how {
        Loops::One(Trigger::Level) => (1, Trigger::Level, false, "epoll"),
        Loops::One(Trigger::Edge) => (1, Trigger::Edge, false, "epoll-edge"),
        Loops::PerCore => (ctx.workers.max(1), Trigger::Level, true, "epoll-per-core"),
    };
    let (addr, listeners) = listeners(ctx.port, reuse_port, loops)?;
    let counters = Counters::new();
    let mut server = LoopServer::new(addr, "an event loop", &counters);
    for (k, listener) in listeners.into_iter().enumerate() {
        let stop = Arc::new(EventFd::from_flags(
            EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK,
        )?);
        let ev = EventLoop::new(listener, Arc::clone(&stop), trigger, Arc::clone(&counters))?;
        let cpu = (loops > 1 && !ctx.cpus.is_empty()).then(|| ctx.cpus[k % ctx.cpus.len()]);
        let h = thread::Builder::new()
            .name(format!("{model}-{k}"))
            .spawn(move || {
                if let Some(c) = cpu {
                    harness::cores::pin_current_thread(c)?;
                }
                ev.run()
            })
            .with_context(|| format!("cannot start event loop {k}"))?;
        server.add(stop, h);
    }
    Ok(Box::new(server))
}

/// `nonblocking-socket echo`.
pub fn run(common: &Common, args: &EchoArgs) -> anyhow::Result<()> {
    network::echo::run(&SERVERS, common, args)
}
