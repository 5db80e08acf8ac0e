//! tokio: `current_thread` (one thread, the one that calls `block_on`) and
//! `multi_thread` (`worker_threads(N)`, work stealing, workers pinned as they
//! start), behind [`Rt`].

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use harness::cores::{pin_current_thread, set_affinity};
use nix::unistd::Pid;

use super::spec::process_cpus;
use super::{End, Job, Rt, Spec, TaskResult, TcpConn};

pub(super) fn run_current<J: Job>(spec: &Spec, job: J) -> anyhow::Result<J::Output> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(spec.blocking_threads)
        .build()
        .map_err(|e| anyhow::anyhow!("cannot build a tokio current_thread runtime: {e}"))?;
    if let Some(pin) = &spec.pin {
        pin_current_thread(pin[0])?;
    }
    let out = rt.block_on(async { tokio::spawn(job.run(Tokio)).await });
    if spec.pin.is_some() {
        set_affinity(Pid::from_raw(0), &process_cpus())?;
    }
    drop(rt);
    out.map_err(|e| anyhow::anyhow!("the measuring task failed: {e}"))?
}

pub(super) fn run_multi<J: Job>(spec: &Spec, job: J) -> anyhow::Result<J::Output> {
    let started = Arc::new(AtomicUsize::new(0));
    let pin_failed = Arc::new(AtomicBool::new(false));
    let (pin, workers) = (spec.pin.clone(), spec.workers);
    let (st, failed) = (Arc::clone(&started), Arc::clone(&pin_failed));
    // tokio starts its worker threads while building the runtime, before any
    // blocking-pool thread: the first `workers` threads are the workers, one
    // per CPU of `pin`; blocking threads, started later, go on round-robin.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .max_blocking_threads(spec.blocking_threads)
        .enable_all()
        .on_thread_start(move || {
            let i = st.fetch_add(1, Ordering::AcqRel);
            if let Some(p) = &pin
                && pin_current_thread(p[i % p.len()]).is_err()
            {
                failed.store(true, Ordering::Release);
            }
        })
        .build()
        .map_err(|e| anyhow::anyhow!("cannot build a tokio runtime of {workers} workers: {e}"))?;
    let task = rt.spawn(job.run(Tokio));
    let out = rt.block_on(task);
    drop(rt);
    anyhow::ensure!(
        !pin_failed.load(Ordering::Acquire),
        "a tokio worker thread could not be pinned"
    );
    out.map_err(|e| anyhow::anyhow!("the measuring task failed: {e}"))?
}

/// Tasks on a tokio runtime (either scheduler: `tokio::spawn` uses the current one).
#[derive(Debug, Clone, Copy)]
pub struct Tokio;

/// A tokio task's handle.
pub struct TokioJoin<T>(tokio::task::JoinHandle<T>);

impl<T> Future for TokioJoin<T> {
    type Output = TaskResult<T>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0)
            .poll(cx)
            .map(|r| r.map_err(|e| anyhow::anyhow!("tokio task failed: {e}")))
    }
}

/// tokio's mpsc channels, one each way.
pub struct TokioChan {
    tx: tokio::sync::mpsc::Sender<u8>,
    rx: tokio::sync::mpsc::Receiver<u8>,
}

impl End for TokioChan {
    async fn send(&mut self, b: u8) -> anyhow::Result<()> {
        self.tx
            .send(b)
            .await
            .map_err(|_| anyhow::anyhow!("the other end's channel closed"))
    }
    async fn recv(&mut self) -> anyhow::Result<Option<u8>> {
        Ok(self.rx.recv().await)
    }
}

/// A tokio `UnixStream`.
pub struct TokioSock(tokio::net::UnixStream);

/// A tokio `TcpStream` behind the `futures-io` traits, like smol's and
/// async-std's: the same calls reach the same `poll_read` / `poll_write`.
pub struct TokioTcp(tokio::net::TcpStream);

impl smol::io::AsyncRead for TokioTcp {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<std::io::Result<usize>> {
        let mut buf = tokio::io::ReadBuf::new(buf);
        tokio::io::AsyncRead::poll_read(Pin::new(&mut self.0), cx, &mut buf)
            .map_ok(|()| buf.filled().len())
    }
}

impl smol::io::AsyncWrite for TokioTcp {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        tokio::io::AsyncWrite::poll_write(Pin::new(&mut self.0), cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        tokio::io::AsyncWrite::poll_flush(Pin::new(&mut self.0), cx)
    }
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        tokio::io::AsyncWrite::poll_shutdown(Pin::new(&mut self.0), cx)
    }
}

impl TcpConn for TokioTcp {
    fn set_nodelay(&self, on: bool) -> std::io::Result<()> {
        self.0.set_nodelay(on)
    }
}

impl End for TokioSock {
    async fn send(&mut self, b: u8) -> anyhow::Result<()> {
        use tokio::io::AsyncWriteExt as _;
        Ok(self.0.write_all(&[b]).await?)
    }
    async fn recv(&mut self) -> anyhow::Result<Option<u8>> {
        use tokio::io::AsyncReadExt as _;
        let mut b = [0u8; 1];
        Ok((self.0.read(&mut b).await? == 1).then_some(b[0]))
    }
}

impl Rt for Tokio {
    type Join<T: Send + 'static> = TokioJoin<T>;
    type ChanEnd = TokioChan;
    type SockEnd = TokioSock;
    type GateOpen = tokio::sync::watch::Sender<()>;
    type GateWait = tokio::sync::watch::Receiver<()>;
    type Tcp = TokioTcp;
    type Listener = tokio::net::TcpListener;

    fn spawn<F>(&self, f: F) -> TokioJoin<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        TokioJoin(tokio::spawn(f))
    }

    fn spawn_blocking<F, T>(&self, f: F) -> TokioJoin<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        TokioJoin(tokio::task::spawn_blocking(f))
    }

    fn detach<T: Send + 'static>(j: TokioJoin<T>) {
        drop(j);
    }

    fn sleep_until(&self, at: Instant) -> impl Future<Output = ()> + Send + 'static {
        tokio::time::sleep_until(tokio::time::Instant::from_std(at))
    }

    fn sleep(&self, d: Duration) -> impl Future<Output = ()> + Send + 'static {
        tokio::time::sleep(d)
    }

    fn yield_now(&self) -> impl Future<Output = ()> + Send + 'static {
        tokio::task::yield_now()
    }

    fn channel_pair(&self) -> (TokioChan, TokioChan) {
        let (a_tx, a_rx) = tokio::sync::mpsc::channel(1);
        let (b_tx, b_rx) = tokio::sync::mpsc::channel(1);
        (
            TokioChan { tx: a_tx, rx: b_rx },
            TokioChan { tx: b_tx, rx: a_rx },
        )
    }

    fn socket_pair(&self) -> anyhow::Result<(TokioSock, TokioSock)> {
        let (a, b) = tokio::net::UnixStream::pair()?;
        Ok((TokioSock(a), TokioSock(b)))
    }

    fn gate(&self) -> (Self::GateOpen, Self::GateWait) {
        tokio::sync::watch::channel(())
    }

    async fn wait(mut g: Self::GateWait) {
        // `changed` fails once the sender is gone: that is the release.
        while g.changed().await.is_ok() {}
    }

    fn listen(l: std::net::TcpListener) -> std::io::Result<Self::Listener> {
        tokio::net::TcpListener::from_std(l)
    }

    async fn accept(l: &Self::Listener) -> std::io::Result<TokioTcp> {
        l.accept().await.map(|(s, _)| TokioTcp(s))
    }

    async fn connect(addr: SocketAddr) -> std::io::Result<TokioTcp> {
        tokio::net::TcpStream::connect(addr).await.map(TokioTcp)
    }
}
