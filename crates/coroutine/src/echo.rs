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
//! Every connection task echoes with one 16 KiB buffer, like the blocking
//! servers. Stopping drops the sender of a channel that every task listens
//! on (`async-channel`, which works on any runtime); then the runtime is shut
//! down (tokio, smol) or its tasks are waited for (async-std's global
//! executor cannot be dropped).

use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use harness::Common;
use harness::cli::EchoArgs;
use loadgen::echo::EchoServers;
use loadgen::net::{self, ECHO_BUFFER_BYTES};
use loadgen::server::{Counters, EchoTally, ModelStatus, Server, ServerCtx, ServerStats};
use smol::channel::{Receiver, Sender};
use smol::future;

/// The server models, in the order they run (`tokio-current-thread` decides C12).
#[cfg(feature = "async-std")]
pub const MODELS: &[&str] = &[
    "tokio-current-thread",
    "tokio-multi-thread",
    "smol",
    "async-std",
];
/// The server models, in the order they run (`tokio-current-thread` decides C12).
#[cfg(not(feature = "async-std"))]
pub const MODELS: &[&str] = &["tokio-current-thread", "tokio-multi-thread", "smol"];

/// What records and notes say about async-std.
pub const ASYNC_STD_STATUS: ModelStatus = ModelStatus {
    status: "discontinued",
    note: "async-std is discontinued by its maintainers, who point to smol; it is measured because \
           people still compare against it (records say \"status\": \"discontinued\")",
};

/// The `echo` experiment's view of these models.
pub const SERVERS: EchoServers = EchoServers {
    binary: "coroutine",
    models: MODELS,
    start,
    serves_at_once: |_, _| None,
    threads_for: |m, _, workers| {
        if m == "tokio-current-thread" {
            1
        } else {
            workers
        }
    },
    decider: ("tokio-current-thread", "async tasks, one tokio thread"),
    status: |m| (m == "async-std").then_some(ASYNC_STD_STATUS),
    // As /proc shows them; "async-io" is the reactor thread smol and async-std share.
    thread_prefixes: |m| match m {
        "tokio-current-thread" => &["tokio-current-thread"],
        "tokio-multi-thread" => &["tokio-rt-worker"],
        "smol" => &["smol-", "async-io"],
        _ => &["async-std/runtime", "async-io"],
    },
};

/// How long stopping waits for connection tasks to end.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Waits until `rx` is closed (its sender dropped): the stop signal.
async fn stopped(rx: Receiver<()>) {
    let _ = rx.recv().await;
}

/// A tokio multi-thread runtime with `workers` workers (or a current-thread
/// one for `workers == 0`), with I/O and timers.
pub fn tokio_runtime(workers: usize) -> anyhow::Result<tokio::runtime::Runtime> {
    let mut b = if workers == 0 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(workers);
        b
    };
    b.enable_all()
        .build()
        .context("cannot build the tokio runtime")
}

/// An `async-executor` run on `workers` threads until `stop` closes.
pub fn smol_executor(
    workers: usize,
    stop: &Receiver<()>,
) -> anyhow::Result<(Arc<smol::Executor<'static>>, Vec<JoinHandle<()>>)> {
    let ex = Arc::new(smol::Executor::new());
    let threads = (0..workers.max(1))
        .map(|k| {
            let (ex, stop) = (Arc::clone(&ex), stop.clone());
            thread::Builder::new()
                .name(format!("smol-{k}"))
                .spawn(move || smol::block_on(ex.run(stopped(stop))))
                .context("cannot start a smol executor thread")
        })
        .collect::<anyhow::Result<_>>()?;
    Ok((ex, threads))
}

async fn tokio_connection(s: tokio::net::TcpStream, counters: Arc<Counters>, stop: Receiver<()>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tally = EchoTally::new(&counters);
    let _ = s.set_nodelay(true);
    let mut s = s;
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

/// Accepts with `accept` until `stop` closes, handing every connection to
/// `serve` (which spawns its task); the same loop for every runtime.
async fn accept_until_stopped<S, Fut>(
    mut accept: impl FnMut() -> Fut,
    stop: &Receiver<()>,
    mut serve: impl FnMut(S),
) -> anyhow::Result<()>
where
    Fut: Future<Output = std::io::Result<(S, SocketAddr)>>,
{
    loop {
        let next = future::or(async { Some(accept().await) }, async {
            stopped(stop.clone()).await;
            None
        });
        match next.await {
            None => return Ok(()),
            Some(Ok((s, _))) => serve(s),
            Some(Err(e)) if transient(&e) => {}
            Some(Err(e)) => return Err(e).context("accept failed"),
        }
    }
}

async fn tokio_accept(
    listener: TcpListener,
    counters: Arc<Counters>,
    stop: Receiver<()>,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::from_std(listener)?;
    accept_until_stopped(
        || listener.accept(),
        &stop,
        |s| {
            tokio::spawn(tokio_connection(s, Arc::clone(&counters), stop.clone()));
        },
    )
    .await
}

/// A connection task on a runtime with `futures-io` sockets (smol, async-std).
async fn futures_connection<S>(mut s: S, counters: Arc<Counters>, stop: Receiver<()>)
where
    S: futures_io_traits::AsyncRead + futures_io_traits::AsyncWrite + Unpin,
{
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

/// The `futures-io` traits, under the name smol re-exports them.
mod futures_io_traits {
    pub use smol::io::{AsyncRead, AsyncWrite};
}

async fn smol_accept(
    ex: Arc<smol::Executor<'static>>,
    listener: TcpListener,
    counters: Arc<Counters>,
    stop: Receiver<()>,
) -> anyhow::Result<()> {
    let listener = smol::net::TcpListener::try_from(listener)?;
    accept_until_stopped(
        || listener.accept(),
        &stop,
        |s| {
            let _ = s.set_nodelay(true);
            ex.spawn(futures_connection(s, Arc::clone(&counters), stop.clone()))
                .detach();
        },
    )
    .await
}

#[cfg(feature = "async-std")]
async fn async_std_accept(
    listener: TcpListener,
    counters: Arc<Counters>,
    stop: Receiver<()>,
) -> anyhow::Result<()> {
    let listener = async_std::net::TcpListener::from(listener);
    accept_until_stopped(
        || listener.accept(),
        &stop,
        |s| {
            let _ = s.set_nodelay(true);
            async_std::task::spawn(futures_connection(s, Arc::clone(&counters), stop.clone()));
        },
    )
    .await
}

fn transient(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionAborted | std::io::ErrorKind::Interrupted
    ) || net::is_disconnect(e)
}

/// How a running async server is stopped.
enum Running {
    /// A thread that owns the runtime and returns when the accept loop ends.
    Thread(JoinHandle<anyhow::Result<()>>),
    /// A multi-thread tokio runtime and its accept task.
    Tokio(
        tokio::runtime::Runtime,
        tokio::task::JoinHandle<anyhow::Result<()>>,
    ),
    /// smol executor threads (they return when the stop channel closes).
    Smol(
        Arc<smol::Executor<'static>>,
        Vec<JoinHandle<()>>,
        smol::Task<anyhow::Result<()>>,
    ),
    /// The accept task on async-std's global executor.
    #[cfg(feature = "async-std")]
    AsyncStd(async_std::task::JoinHandle<anyhow::Result<()>>),
}

/// A running async server.
pub struct AsyncServer {
    addr: SocketAddr,
    stop: Option<Sender<()>>,
    running: Running,
    counters: Arc<Counters>,
}

impl Server for AsyncServer {
    fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn stop(mut self: Box<Self>) -> anyhow::Result<ServerStats> {
        drop(self.stop.take());
        match self.running {
            Running::Thread(t) => t
                .join()
                .map_err(|_| anyhow::anyhow!("the server thread panicked"))??,
            Running::Tokio(rt, accept) => {
                rt.block_on(accept)??;
                rt.shutdown_timeout(STOP_GRACE);
            }
            Running::Smol(ex, threads, accept) => {
                for t in threads {
                    t.join()
                        .map_err(|_| anyhow::anyhow!("a smol executor thread panicked"))?;
                }
                // The accept task ended with the stop signal; dropping the
                // executor drops any connection task still there.
                let r = smol::block_on(ex.run(accept));
                drop(ex);
                r?;
            }
            #[cfg(feature = "async-std")]
            Running::AsyncStd(accept) => async_std::task::block_on(accept)?,
        }
        // Tasks end on the stop signal; where the runtime cannot be dropped, wait for them.
        let t = Instant::now();
        while self.counters.live() > 0 && t.elapsed() < STOP_GRACE {
            thread::sleep(Duration::from_millis(1));
        }
        anyhow::ensure!(
            self.counters.live() == 0,
            "{} connection task(s) did not end within {} s of the stop signal",
            self.counters.live(),
            STOP_GRACE.as_secs()
        );
        Ok(self.counters.stats())
    }
}

/// Starts server model `model`.
pub fn start(model: &str, ctx: &ServerCtx) -> anyhow::Result<Box<dyn Server>> {
    let listener = net::bind_listener(ctx.port, false)?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let counters = Counters::new();
    let (stop_tx, stop) = smol::channel::bounded::<()>(1);
    let c = Arc::clone(&counters);
    let running = match model {
        "tokio-current-thread" => {
            let t = thread::Builder::new()
                .name("tokio-current-thread".into())
                .spawn(move || {
                    let rt = tokio_runtime(0)?;
                    let r = rt.block_on(tokio_accept(listener, c, stop));
                    // Dropping the runtime drops every task still there.
                    drop(rt);
                    r
                })
                .context("cannot start the tokio thread")?;
            Running::Thread(t)
        }
        "tokio-multi-thread" => {
            let rt = tokio_runtime(ctx.workers.max(1))?;
            let accept = rt.spawn(tokio_accept(listener, c, stop));
            Running::Tokio(rt, accept)
        }
        "smol" => {
            let (ex, threads) = smol_executor(ctx.workers, &stop)?;
            let accept = ex.spawn(smol_accept(Arc::clone(&ex), listener, c, stop));
            Running::Smol(ex, threads, accept)
        }
        #[cfg(feature = "async-std")]
        "async-std" => {
            Running::AsyncStd(async_std::task::spawn(async_std_accept(listener, c, stop)))
        }
        other => anyhow::bail!("unknown coroutine server model {other}"),
    };
    Ok(Box::new(AsyncServer {
        addr,
        stop: Some(stop_tx),
        running,
        counters,
    }))
}

/// Sizes async-std's global executor to the `--cores` workers. It reads
/// `ASYNC_STD_THREAD_COUNT` once, at first use, so this must run before
/// async-std starts — and, since it writes the environment, while this
/// process has one thread.
pub fn size_async_std(cores: Option<u32>) -> anyhow::Result<()> {
    let workers = match cores {
        Some(n) => n as usize,
        None => harness::cores::allowed_cpus()?.len(),
    };
    anyhow::ensure!(
        harness::cores::thread_count() == Some(1),
        "internal error: ASYNC_STD_THREAD_COUNT must be set before any thread starts"
    );
    // SAFETY: the process has one thread (checked above), so nothing reads
    // the environment concurrently.
    unsafe { std::env::set_var("ASYNC_STD_THREAD_COUNT", workers.to_string()) };
    Ok(())
}

/// `coroutine echo`.
pub fn run(common: &Common, args: &EchoArgs) -> anyhow::Result<()> {
    size_async_std(common.cores)?;
    loadgen::echo::run(&SERVERS, common, args)
}
