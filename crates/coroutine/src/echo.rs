//! `echo` with async tasks: a task per connection on an async runtime, whose
//! reactor (epoll underneath) wakes the task whose socket is ready — the
//! readiness loop of `nonblocking-socket`, written as straight-line code
//! (C12).
//!
//! Models:
//! - `tokio-current-thread`: tokio on one thread (the fair match for the
//!   single-threaded `epoll` loop).
//! - `tokio-multi-thread`: tokio with `--cores` worker threads, work stealing.
//! - `smol`: an `async-executor` run on `--cores` threads.
//! - `async-std`: async-std's global executor with `--cores` threads —
//!   **discontinued** by its maintainers (they point to smol); measured for
//!   comparison only, behind the default-on cargo feature `async-std`.
//!
//! Every runtime is built, sized and pinned by [`rt::run`], as in the other
//! experiments: executor thread i on the i-th CPU of `--cores`, and the
//! record says so (`runtime`, `worker_threads`, `pinning`). The accept loop
//! and the connection task are written once, over [`Rt`]'s TCP. Every
//! connection task echoes with one 16 KiB buffer, like the blocking servers.
//! Stopping drops the sender of a channel that every task listens on
//! (`async-channel`, which works on any runtime); then the runtime is shut
//! down (tokio, smol) or its tasks are waited for (async-std's global
//! executor cannot be dropped).

use std::net::TcpListener;
use std::sync::{Arc, mpsc};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use harness::cli::{EchoArgs, ServeArgs};
use harness::{Case, Common};
use loadgen::net::{self, ECHO_BUFFER_BYTES};
use network::echo::EchoServers;
use network::server::{
    AtOnce, Counters, EchoTally, Server, ServerCtx, ServerModel, ServerStats, Threads,
};
use smol::channel::{Receiver, Sender};
use smol::future;

use crate::rt::{self, Job, Kind, Rt, Spec, TcpConn};

/// The server models, in the order they run (`tokio-current-thread` decides
/// C12): one per runtime. Thread names as `/proc` shows them; "async-io" is
/// the reactor thread smol and async-std share.
pub const MODELS: &[ServerModel] = &[
    ServerModel {
        name: rt::TOKIO_CURRENT,
        start: |ctx| start(Kind::TokioCurrentThread, ctx),
        at_once: AtOnce::All,
        threads: Threads::One,
        thread_prefixes: &[rt::TOKIO_CURRENT],
        status: None,
        probe: None,
    },
    ServerModel {
        name: rt::TOKIO_MULTI,
        start: |ctx| start(Kind::TokioMultiThread, ctx),
        at_once: AtOnce::All,
        threads: Threads::Workers,
        thread_prefixes: &["tokio-rt-worker"],
        status: None,
        probe: None,
    },
    ServerModel {
        name: rt::SMOL,
        start: |ctx| start(Kind::Smol, ctx),
        at_once: AtOnce::All,
        threads: Threads::Workers,
        thread_prefixes: &["smol-", "async-io"],
        status: None,
        probe: None,
    },
    #[cfg(feature = "async-std")]
    ServerModel {
        name: rt::ASYNC_STD,
        start: |ctx| start(Kind::AsyncStd, ctx),
        at_once: AtOnce::All,
        threads: Threads::Workers,
        thread_prefixes: &["async-std/runtime", "async-io"],
        status: Some(rt::ASYNC_STD_STATUS),
        probe: None,
    },
];

/// The `echo` experiment's view of these models.
pub const SERVERS: EchoServers = EchoServers {
    binary: "coroutine",
    models: MODELS,
    decider: (rt::TOKIO_CURRENT, "async tasks, one tokio thread"),
};

/// How long stopping waits for connection tasks to end.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Waits until `rx` is closed (its sender dropped): the stop signal.
async fn stopped(rx: Receiver<()>) {
    let _ = rx.recv().await;
}

/// Echoes one connection until its client closes it or `stop` closes; the
/// same task on every runtime.
async fn connection<S: TcpConn>(mut s: S, counters: Arc<Counters>, stop: Receiver<()>) {
    use smol::io::{AsyncReadExt, AsyncWriteExt};
    let mut tally = EchoTally::new(&counters);
    let work = async {
        let mut buf = vec![0u8; ECHO_BUFFER_BYTES];
        loop {
            let n = match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if s.write_all(&buf[..n]).await.is_err() {
                return;
            }
            tally.bytes += n as u64;
        }
    };
    future::or(work, stopped(stop)).await;
}

/// A server's accept loop, run as a task on its runtime by [`rt::run`]: a
/// task per connection until `stop` closes.
struct AcceptLoop {
    listener: TcpListener,
    counters: Arc<Counters>,
    stop: Receiver<()>,
    /// Told once the listener is registered and the loop runs.
    ready: mpsc::Sender<()>,
}

impl Job for AcceptLoop {
    type Output = ();

    async fn run<R: Rt>(self, rt: R) -> anyhow::Result<()> {
        let AcceptLoop {
            listener,
            counters,
            stop,
            ready,
        } = self;
        let listener = R::listen(listener).context("cannot register the listener")?;
        let _ = ready.send(());
        loop {
            let next = future::or(async { Some(R::accept(&listener).await) }, async {
                stopped(stop.clone()).await;
                None
            });
            match next.await {
                None => return Ok(()),
                Some(Ok(s)) => {
                    let _ = s.set_nodelay(true);
                    R::detach(rt.spawn(connection(s, Arc::clone(&counters), stop.clone())));
                }
                Some(Err(e)) if net::accept_goes_on(&e) => {}
                Some(Err(e)) => return Err(e).context("accept failed"),
            }
        }
    }
}

/// A running async server: its accept loop in [`rt::run`] on a thread of
/// its own, which returns once the loop has stopped and the runtime is shut
/// down.
pub struct AsyncServer {
    addr: std::net::SocketAddr,
    spec: Spec,
    stop: Option<Sender<()>>,
    thread: JoinHandle<anyhow::Result<()>>,
    counters: Arc<Counters>,
}

impl Server for AsyncServer {
    fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    fn stop(self: Box<Self>) -> anyhow::Result<ServerStats> {
        let AsyncServer {
            spec,
            stop,
            thread,
            counters,
            ..
        } = *self;
        drop(stop);
        thread
            .join()
            .map_err(|_| anyhow::anyhow!("the {} server thread panicked", spec.kind.name()))??;
        // Shutting a runtime down drops its tasks; async-std's global
        // executor cannot be shut down, so wait for its tasks to end.
        let t = Instant::now();
        while counters.live() > 0 && t.elapsed() < STOP_GRACE {
            thread::sleep(Duration::from_millis(1));
        }
        anyhow::ensure!(
            counters.live() == 0,
            "{} connection task(s) did not end within {} s of the stop signal",
            counters.live(),
            STOP_GRACE.as_secs()
        );
        Ok(counters.stats())
    }

    fn annotate(&self, case: Case) -> Case {
        self.spec.annotate(case)
    }
}

/// Starts a server on runtime `kind` with `ctx.workers` executor threads,
/// thread i pinned to the i-th CPU of `ctx.cpus`.
pub fn start(kind: Kind, ctx: &ServerCtx) -> anyhow::Result<Box<dyn Server>> {
    let model = kind.name();
    let spec = Spec::spread_on(kind, ctx.workers, &ctx.cpus);
    let listener = net::bind_listener(ctx.port, false)?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let counters = Counters::new();
    let (stop_tx, stop) = smol::channel::bounded::<()>(1);
    let (ready, started) = mpsc::channel();
    let job = AcceptLoop {
        listener,
        counters: Arc::clone(&counters),
        stop,
        ready,
    };
    let on_thread = spec.clone();
    // tokio's current_thread runtime runs on this thread, under the name the
    // `echo` experiment counts; the others only wait on it.
    let name = if kind == Kind::TokioCurrentThread {
        rt::TOKIO_CURRENT
    } else {
        "server-main"
    };
    let thread = thread::Builder::new()
        .name(name.into())
        .spawn(move || rt::run(&on_thread, job))
        .context("cannot start the server thread")?;
    if started.recv().is_err() {
        // The thread ended before its accept loop ran: its error says why.
        return Err(match thread.join() {
            Ok(Err(e)) => e.context(format!("the {model} server did not start")),
            _ => anyhow::anyhow!("the {model} server thread died at start"),
        });
    }
    Ok(Box::new(AsyncServer {
        addr,
        spec,
        stop: Some(stop_tx),
        thread,
        counters,
    }))
}

/// `coroutine echo`.
pub fn run(common: &Common, args: &EchoArgs) -> anyhow::Result<()> {
    rt::prepare_before_pinning(&common.cpus)?;
    network::echo::run(&SERVERS, common, args)
}

/// `coroutine serve`.
pub fn serve(args: &ServeArgs) -> anyhow::Result<()> {
    rt::prepare_before_pinning(&args.cpus)?;
    network::serve::run("coroutine", MODELS, args)
}
