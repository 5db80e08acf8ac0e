//! async-std (discontinued by its maintainers, who point to smol; behind the
//! cargo feature `async-std`, on by default): its global executor reads its
//! thread count once, from `ASYNC_STD_THREAD_COUNT`, which
//! [`prepare`](super::prepare) sets to N while the process is still
//! single-threaded; its threads are pinned by thread id once they exist.

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use harness::cores::set_affinity;
use nix::unistd::Pid;

use super::spec::process_cpus;
use super::{Infallible, IoSock, Job, Rt, Spec, TcpConn};

/// The environment variable async-std reads its thread count from, once.
const ASYNC_STD_THREADS_ENV: &str = "ASYNC_STD_THREAD_COUNT";
/// The environment variable async-std names its executor threads from, once.
const ASYNC_STD_NAME_ENV: &str = "ASYNC_STD_THREAD_NAME";
/// The name [`prepare`] gives async-std's executor threads (its default).
const ASYNC_STD_NAME: &str = "async-std/runtime";
/// That name as `/proc/self/task/*/comm` shows it: cut to 15 bytes by the kernel.
const ASYNC_STD_COMM: &str = "async-std/runti";

/// Sets the environment async-std reads once: `n` executor threads, and
/// their name. Called by [`prepare_cores`](super::prepare_cores) while the
/// process is single-threaded.
pub(super) fn set_env(n: &str) {
    // SAFETY: the caller has checked that the process has exactly one thread,
    // so nothing can read or write the environment at the same time.
    unsafe {
        std::env::set_var(ASYNC_STD_THREADS_ENV, n);
        std::env::set_var(ASYNC_STD_NAME_ENV, ASYNC_STD_NAME);
    }
}

pub(super) fn run<J: Job>(spec: &Spec, job: J) -> anyhow::Result<J::Output> {
    // Starts the global executor (its threads) if this is the first use. The
    // main thread waits with `future::block_on`, which (unlike async-std's
    // `block_on`) neither runs tasks nor drives the reactor.
    smol::future::block_on(async_std::task::spawn(async {}));
    place_async_std_threads(spec.pin.as_deref())?;
    let out = smol::future::block_on(async_std::task::spawn(job.run(AsyncStd)));
    if spec.pin.is_some() {
        place_async_std_threads(None)?;
    }
    out
}

/// Pins async-std's executor threads (found by name in `/proc/self/task`),
/// thread i (by id) to `pin[i % len]`, or all back to the process's CPUs.
fn place_async_std_threads(pin: Option<&[usize]>) -> anyhow::Result<()> {
    let mut tids: Vec<i32> = std::fs::read_dir("/proc/self/task")?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|tid| {
            std::fs::read_to_string(format!("/proc/self/task/{tid}/comm"))
                .is_ok_and(|c| c.trim_end() == ASYNC_STD_COMM)
        })
        .collect();
    tids.sort_unstable();
    anyhow::ensure!(!tids.is_empty(), "no async-std executor thread found");
    let all = process_cpus();
    for (i, &tid) in tids.iter().enumerate() {
        let cpus = match pin {
            Some(p) => vec![p[i % p.len()]],
            None => all.clone(),
        };
        set_affinity(Pid::from_raw(tid), &cpus)?;
    }
    Ok(())
}

impl TcpConn for async_std::net::TcpStream {
    fn set_nodelay(&self, on: bool) -> std::io::Result<()> {
        async_std::net::TcpStream::set_nodelay(self, on)
    }
}

async_channel_end!(
    /// async-std's async-channel, one each way.
    AsyncStdChan, async_std::channel
);

/// Tasks on async-std's global executor (discontinued).
#[derive(Debug, Clone, Copy)]
pub struct AsyncStd;

impl Rt for AsyncStd {
    type Join<T: Send + 'static> = Infallible<async_std::task::JoinHandle<T>>;
    type ChanEnd = AsyncStdChan;
    type SockEnd = IoSock<async_std::os::unix::net::UnixStream>;
    type GateOpen = async_std::channel::Sender<()>;
    type GateWait = async_std::channel::Receiver<()>;
    type Tcp = async_std::net::TcpStream;
    type Listener = async_std::net::TcpListener;

    fn spawn<F>(&self, f: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Infallible(async_std::task::spawn(f))
    }

    fn spawn_blocking<F, T>(&self, f: F) -> Self::Join<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        Infallible(async_std::task::spawn_blocking(f))
    }

    fn detach<T: Send + 'static>(j: Self::Join<T>) {
        drop(j);
    }

    fn sleep_until(&self, at: Instant) -> impl Future<Output = ()> + Send + 'static {
        async_std::task::sleep(at.saturating_duration_since(Instant::now()))
    }

    fn sleep(&self, d: Duration) -> impl Future<Output = ()> + Send + 'static {
        async_std::task::sleep(d)
    }

    fn yield_now(&self) -> impl Future<Output = ()> + Send + 'static {
        async_std::task::yield_now()
    }

    fn channel_pair(&self) -> (AsyncStdChan, AsyncStdChan) {
        AsyncStdChan::pair()
    }

    fn socket_pair(&self) -> anyhow::Result<(Self::SockEnd, Self::SockEnd)> {
        let (a, b) = async_std::os::unix::net::UnixStream::pair()?;
        Ok((IoSock(a), IoSock(b)))
    }

    fn gate(&self) -> (Self::GateOpen, Self::GateWait) {
        async_std::channel::bounded(1)
    }

    async fn wait(g: Self::GateWait) {
        while g.recv().await.is_ok() {}
    }

    fn listen(l: std::net::TcpListener) -> std::io::Result<Self::Listener> {
        Ok(async_std::net::TcpListener::from(l))
    }

    async fn accept(l: &Self::Listener) -> std::io::Result<Self::Tcp> {
        l.accept().await.map(|(s, _)| s)
    }

    async fn connect(addr: SocketAddr) -> std::io::Result<Self::Tcp> {
        async_std::net::TcpStream::connect(addr).await
    }
}
