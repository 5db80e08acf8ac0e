//! smol: an [`smol::Executor`] run by N threads of our own (smol's global
//! executor would have one), each pinned as it starts, behind [`Rt`].

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread;
use std::time::Instant;

use harness::cores::pin_current_thread;

use super::{Infallible, IoSock, Job, Rt, Spec, TcpConn};

/// N threads running one smol `Executor`; dropping it stops and joins them.
struct SmolPool {
    ex: Arc<smol::Executor<'static>>,
    stop: Option<smol::channel::Sender<()>>,
    threads: Vec<thread::JoinHandle<()>>,
}

impl SmolPool {
    fn start(workers: usize, pin: Option<&[usize]>) -> anyhow::Result<SmolPool> {
        let ex = Arc::new(smol::Executor::new());
        let (stop, stopped) = smol::channel::bounded::<()>(1);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<anyhow::Result<()>>();
        let mut pool = SmolPool {
            ex: Arc::clone(&ex),
            stop: Some(stop),
            threads: Vec::with_capacity(workers),
        };
        for i in 0..workers {
            let (ex, stopped, ready) = (Arc::clone(&ex), stopped.clone(), ready_tx.clone());
            let cpu = pin.map(|p| p[i % p.len()]);
            let h = thread::Builder::new()
                .name(format!("smol-{i}"))
                .spawn(move || {
                    if let Some(c) = cpu
                        && let Err(e) = pin_current_thread(c)
                    {
                        let _ = ready.send(Err(e));
                        return;
                    }
                    let _ = ready.send(Ok(()));
                    smol::block_on(ex.run(async {
                        let _ = stopped.recv().await;
                    }));
                })
                .map_err(|e| anyhow::anyhow!("cannot start smol executor thread {i}: {e}"))?;
            pool.threads.push(h);
        }
        for _ in 0..workers {
            ready_rx
                .recv()
                .map_err(|_| anyhow::anyhow!("a smol executor thread died at start"))??;
        }
        Ok(pool)
    }
}

impl Drop for SmolPool {
    fn drop(&mut self) {
        drop(self.stop.take());
        for h in self.threads.drain(..) {
            let _ = h.join();
        }
    }
}

pub(super) fn run<J: Job>(spec: &Spec, job: J) -> anyhow::Result<J::Output> {
    let pool = SmolPool::start(spec.workers, spec.pin.as_deref())?;
    let task = pool.ex.spawn(job.run(Smol {
        ex: Arc::clone(&pool.ex),
    }));
    // The main thread only waits on the task's handle: it runs no executor,
    // and (unlike `smol::block_on`) `future::block_on` does not drive the
    // reactor either, so no I/O event is handled off the executor's CPUs.
    let out = smol::future::block_on(task);
    drop(pool);
    out
}

async_channel_end!(
    /// smol's async-channel, one each way.
    SmolChan, smol::channel
);

/// Tasks on a smol `Executor` that our own threads run.
#[derive(Clone)]
pub struct Smol {
    ex: Arc<smol::Executor<'static>>,
}

/// smol's timer, its output (the instant it fired) dropped.
async fn smol_timer_at(at: Instant) {
    smol::Timer::at(at).await;
}

impl Rt for Smol {
    type Join<T: Send + 'static> = Infallible<smol::Task<T>>;
    type ChanEnd = SmolChan;
    type SockEnd = IoSock<smol::Async<std::os::unix::net::UnixStream>>;
    type GateOpen = smol::channel::Sender<()>;
    type GateWait = smol::channel::Receiver<()>;
    type Tcp = smol::net::TcpStream;
    type Listener = smol::net::TcpListener;

    fn spawn<F>(&self, f: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Infallible(self.ex.spawn(f))
    }

    fn spawn_blocking<F, T>(&self, f: F) -> Self::Join<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        Infallible(smol::unblock(f))
    }

    fn detach<T: Send + 'static>(j: Self::Join<T>) {
        j.0.detach();
    }

    fn sleep_until(&self, at: Instant) -> impl Future<Output = ()> + Send + 'static {
        smol_timer_at(at)
    }

    fn yield_now(&self) -> impl Future<Output = ()> + Send + 'static {
        smol::future::yield_now()
    }

    fn channel_pair(&self) -> (SmolChan, SmolChan) {
        SmolChan::pair()
    }

    fn socket_pair(&self) -> anyhow::Result<(Self::SockEnd, Self::SockEnd)> {
        let (a, b) = smol::Async::<std::os::unix::net::UnixStream>::pair()?;
        Ok((IoSock(a), IoSock(b)))
    }

    fn gate(&self) -> (Self::GateOpen, Self::GateWait) {
        smol::channel::bounded(1)
    }

    async fn wait(g: Self::GateWait) {
        // `recv` fails once every sender is gone: that is the release.
        while g.recv().await.is_ok() {}
    }

    fn listen(l: std::net::TcpListener) -> std::io::Result<Self::Listener> {
        smol::net::TcpListener::try_from(l)
    }

    async fn accept(l: &Self::Listener) -> std::io::Result<Self::Tcp> {
        l.accept().await.map(|(s, _)| s)
    }

    async fn connect(addr: SocketAddr) -> std::io::Result<Self::Tcp> {
        smol::net::TcpStream::connect(addr).await
    }
}

impl TcpConn for smol::net::TcpStream {
    fn set_nodelay(&self, on: bool) -> std::io::Result<()> {
        smol::net::TcpStream::set_nodelay(self, on)
    }
}
