//! The runtimes (models) behind one small trait, so that every experiment is
//! written once and runs the same code on tokio, smol and async-std.
//!
//! [`Rt`] is what a task can ask of its runtime: spawn (and await) another
//! task, hand a closure to the blocking pool, sleep, yield, make a channel or
//! a socketpair, listen, accept and connect over TCP, and park on a
//! [gate](Rt::gate). [`Job`] is an experiment's
//! measured body: a future generic over the runtime. [`run`] builds the
//! runtime a [`Spec`] describes, spawns the job *as a task on it* and waits
//! for its result from the main thread, which never runs the job itself: every
//! experiment times its operation from inside a task on the runtime.
//!
//! The runtimes, and how `--cores N` sizes them:
//!
//! - `tokio-current-thread`: one thread, the one that calls `block_on`;
//!   single-threaded by design, whatever N is.
//! - `tokio-multi-thread`: `worker_threads(N)`, work stealing.
//! - `smol`: an [`smol::Executor`] run by N threads we start (smol's global
//!   executor would have one).
//! - `async-std` (discontinued by its maintainers, who point to smol; behind
//!   the cargo feature `async-std`, on by default): its global executor reads
//!   its thread count once, from `ASYNC_STD_THREAD_COUNT`, which [`prepare`]
//!   sets to N while the process is still single-threaded.
//!
//! Every blocking pool (tokio's `max_blocking_threads`, and the `blocking`
//! crate's pool behind `smol::unblock` and async-std's `spawn_blocking`,
//! through `BLOCKING_MAX_THREADS`) is sized to N as well.
//!
//! A server is a [`Job`] too: `echo` runs its accept loop with [`run`] on a
//! thread of its own until it is told to stop, so the servers' runtimes are
//! built, sized and pinned here like every other experiment's.
//!
//! One file per runtime: [`tokio`], [`smol`], and `async_std` behind its
//! feature; [`spec`] chooses and sizes them.

use std::cell::Cell;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// A pair of ends over async-channel (smol and async-std each re-export
/// their own version of it), capacity one each way.
macro_rules! async_channel_end {
    ($(#[$meta:meta])* $name:ident, $($chan:ident)::+) => {
        $(#[$meta])*
        pub struct $name {
            tx: $($chan::)+Sender<u8>,
            rx: $($chan::)+Receiver<u8>,
        }

        $(#[$meta])*
        impl $name {
            /// Two ends, one channel each way.
            pub fn pair() -> ($name, $name) {
                let (a_tx, a_rx) = $($chan::)+bounded(1);
                let (b_tx, b_rx) = $($chan::)+bounded(1);
                ($name { tx: a_tx, rx: b_rx }, $name { tx: b_tx, rx: a_rx })
            }
        }

        $(#[$meta])*
        impl $crate::rt::End for $name {
            async fn send(&mut self, b: u8) -> anyhow::Result<()> {
                self.tx
                    .send(b)
                    .await
                    .map_err(|_| anyhow::anyhow!("the other end's channel closed"))
            }
            async fn recv(&mut self) -> anyhow::Result<Option<u8>> {
                Ok(self.rx.recv().await.ok())
            }
        }
    };
}

#[cfg(feature = "async-std")]
mod async_std;
pub mod smol;
pub mod spec;
pub mod tokio;

#[cfg(feature = "async-std")]
pub use self::async_std::AsyncStd;
pub use self::smol::Smol;
pub use self::tokio::{Tokio, TokioTcp};
pub use spec::{
    ASYNC_STD, ASYNC_STD_STATUS, Kind, SMOL, Spec, TOKIO_CURRENT, TOKIO_MULTI, note_discontinued,
    prepare, prepare_before_pinning, prepare_cores,
};

/// Awaiting a spawned task: its output, or an error if it failed.
pub type TaskResult<T> = anyhow::Result<T>;

/// What a task can ask of its runtime.
pub trait Rt: Clone + Send + Sync + 'static {
    /// The handle of a spawned task; awaiting it gives the task's output.
    type Join<T: Send + 'static>: Future<Output = TaskResult<T>> + Send + Unpin + 'static;
    /// One end of a pair of the runtime's channels (one each way).
    type ChanEnd: End;
    /// One end of a Unix socketpair registered with the runtime's reactor.
    type SockEnd: End;
    /// Dropping it releases everyone waiting on the gate.
    type GateOpen: Send + 'static;
    /// A ticket to wait on the gate.
    type GateWait: Clone + Send + 'static;
    /// A TCP connection registered with the runtime's reactor.
    type Tcp: TcpConn;
    /// A TCP listener registered with the runtime's reactor.
    type Listener: Send + Sync + 'static;

    /// Spawns a task on this runtime.
    fn spawn<F>(&self, f: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    /// Runs a closure on the runtime's blocking pool.
    fn spawn_blocking<F, T>(&self, f: F) -> Self::Join<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static;

    /// Lets a spawned task run on without anyone awaiting it.
    fn detach<T: Send + 'static>(j: Self::Join<T>);

    /// Sleeps asynchronously until `at`.
    fn sleep_until(&self, at: Instant) -> impl Future<Output = ()> + Send + 'static;

    /// Sleeps asynchronously for `d`.
    fn sleep(&self, d: Duration) -> impl Future<Output = ()> + Send + 'static {
        self.sleep_until(Instant::now() + d)
    }

    /// Gives the other tasks of this thread a turn.
    fn yield_now(&self) -> impl Future<Output = ()> + Send + 'static;

    /// Two ends joined by the runtime's channels, capacity one each way.
    fn channel_pair(&self) -> (Self::ChanEnd, Self::ChanEnd);

    /// Two ends of a Unix socketpair, registered with the runtime's reactor.
    /// Call it from inside a task (tokio needs its runtime context).
    fn socket_pair(&self) -> anyhow::Result<(Self::SockEnd, Self::SockEnd)>;

    /// A gate: tasks park on it until its opener is dropped.
    fn gate(&self) -> (Self::GateOpen, Self::GateWait);

    /// Parks until the gate opens.
    fn wait(g: Self::GateWait) -> impl Future<Output = ()> + Send + 'static;

    /// Registers a bound, non-blocking listener with the runtime's reactor.
    /// Call it from inside a task (tokio needs its runtime context).
    fn listen(l: std::net::TcpListener) -> std::io::Result<Self::Listener>;

    /// The next connection `l` accepts.
    fn accept(l: &Self::Listener) -> impl Future<Output = std::io::Result<Self::Tcp>> + Send + '_;

    /// A connection to `addr`.
    fn connect(
        addr: SocketAddr,
    ) -> impl Future<Output = std::io::Result<Self::Tcp>> + Send + 'static;
}

/// A TCP connection, read and written the same way on every runtime (the
/// `futures-io` traits, which smol and async-std streams implement and
/// [`TokioTcp`] adapts tokio's to).
pub trait TcpConn: ::smol::io::AsyncRead + ::smol::io::AsyncWrite + Unpin + Send + 'static {
    /// Turns Nagle's algorithm off (`TCP_NODELAY`) or on.
    fn set_nodelay(&self, on: bool) -> std::io::Result<()>;
}

/// One end of a two-party link: sends and receives single bytes.
pub trait End: Send + 'static {
    /// Sends one byte.
    fn send(&mut self, b: u8) -> impl Future<Output = anyhow::Result<()>> + Send + '_;
    /// Receives one byte; `None` when the other end is gone.
    fn recv(&mut self) -> impl Future<Output = anyhow::Result<Option<u8>>> + Send + '_;
}

/// An experiment's measured body, generic over the runtime it runs on.
pub trait Job: Send + 'static {
    /// What the body reports.
    type Output: Send + 'static;
    /// The body, run as a task on `rt`.
    fn run<R: Rt>(
        self,
        rt: R,
    ) -> impl Future<Output = anyhow::Result<Self::Output>> + Send + 'static;
}

/// Builds the runtime `spec` describes, runs `job` as a task on it, waits for
/// its output on the calling thread, and shuts the runtime down.
pub fn run<J: Job>(spec: &Spec, job: J) -> anyhow::Result<J::Output> {
    match spec.kind {
        Kind::TokioCurrentThread => self::tokio::run_current(spec, job),
        Kind::TokioMultiThread => self::tokio::run_multi(spec, job),
        Kind::Smol => self::smol::run(spec, job),
        #[cfg(feature = "async-std")]
        Kind::AsyncStd => self::async_std::run(spec, job),
    }
}

/// A small number that names the calling thread (assigned on first use), so
/// tasks can report which threads ran them.
pub fn thread_tag() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    thread_local!(static TAG: Cell<u32> = const { Cell::new(u32::MAX) });
    TAG.with(|t| {
        if t.get() == u32::MAX {
            t.set(NEXT.fetch_add(1, Ordering::Relaxed));
        }
        t.get()
    })
}

/// The distinct threads seen, and how many steps each ran; cheap to update
/// on every step.
#[derive(Debug, Clone, Default)]
pub struct ThreadsSeen {
    /// Index in `steps` of the thread seen last.
    last: usize,
    /// `(thread tag, steps seen on it)`.
    steps: Vec<(u32, u64)>,
}

impl ThreadsSeen {
    /// Notes one step on the calling thread.
    #[inline]
    pub fn note(&mut self) {
        self.add(thread_tag(), 1);
    }

    /// Notes `n` steps on a thread, by tag.
    #[inline]
    pub fn add(&mut self, tag: u32, n: u64) {
        match self.steps.get_mut(self.last) {
            Some(s) if s.0 == tag => s.1 += n,
            _ => match self.steps.iter().position(|s| s.0 == tag) {
                Some(i) => {
                    self.steps[i].1 += n;
                    self.last = i;
                }
                None => {
                    self.steps.push((tag, n));
                    self.last = self.steps.len() - 1;
                }
            },
        }
    }

    /// Adds the steps another set saw.
    pub fn merge(&mut self, other: &ThreadsSeen) {
        other.steps.iter().for_each(|&(t, n)| self.add(t, n));
    }

    /// How many distinct threads.
    pub fn count(&self) -> usize {
        self.steps.len()
    }

    /// The share of all steps that the busiest thread ran (1 when one
    /// thread did everything; 1/N when N threads shared evenly).
    pub fn busiest_share(&self) -> f64 {
        let total: u64 = self.steps.iter().map(|s| s.1).sum();
        let most = self.steps.iter().map(|s| s.1).max().unwrap_or(0);
        if total == 0 {
            0.0
        } else {
            most as f64 / total as f64
        }
    }
}

/// Maps a handle whose output is already the task's to `Ok`.
pub struct Infallible<J>(J);

impl<J: Future + Unpin> Future for Infallible<J> {
    type Output = TaskResult<J::Output>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map(Ok)
    }
}

/// A Unix stream on a futures-io reactor: smol's `Async<UnixStream>`,
/// async-std's `UnixStream` (both async-io underneath).
pub struct IoSock<S>(S);

impl<S> End for IoSock<S>
where
    S: ::smol::io::AsyncRead + ::smol::io::AsyncWrite + Unpin + Send + 'static,
{
    async fn send(&mut self, b: u8) -> anyhow::Result<()> {
        use ::smol::io::AsyncWriteExt as _;
        Ok(self.0.write_all(&[b]).await?)
    }
    async fn recv(&mut self) -> anyhow::Result<Option<u8>> {
        use ::smol::io::AsyncReadExt as _;
        let mut b = [0u8; 1];
        Ok((self.0.read(&mut b).await? == 1).then_some(b[0]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spawns a task, a blocking closure, sleeps, exchanges a byte both ways
    /// and echoes one over TCP.
    struct Smoke;

    impl Job for Smoke {
        type Output = u64;
        async fn run<R: Rt>(self, rt: R) -> anyhow::Result<u64> {
            let a = rt.spawn(async { 20u64 }).await?;
            let b = rt.spawn_blocking(|| 20u64).await?;
            rt.sleep(Duration::from_millis(2)).await;
            rt.yield_now().await;
            let (mut x, mut y) = rt.channel_pair();
            let echo = rt.spawn(async move {
                let b = y.recv().await?.unwrap_or(0);
                y.send(b + 1).await
            });
            x.send(1).await?;
            let c = x.recv().await?.unwrap_or(0);
            echo.await??;
            let (mut s, mut t) = rt.socket_pair()?;
            s.send(0).await?;
            let d = t.recv().await?.unwrap_or(9);
            drop(s);
            anyhow::ensure!(t.recv().await?.is_none(), "no end of stream");
            let (open, ticket) = rt.gate();
            let parked = rt.spawn(R::wait(ticket));
            drop(open);
            parked.await?;
            Ok(a + b + u64::from(c) + u64::from(d) + tcp_round_trip::<R>().await?)
        }
    }

    /// Listens, accepts, connects, and echoes one byte over loopback TCP: 0.
    async fn tcp_round_trip<R: Rt>() -> anyhow::Result<u64> {
        use ::smol::io::{AsyncReadExt, AsyncWriteExt};
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        l.set_nonblocking(true)?;
        let addr = l.local_addr()?;
        let l = R::listen(l)?;
        let (client, server) = ::smol::future::zip(R::connect(addr), R::accept(&l)).await;
        let (mut client, mut server) = (client?, server?);
        client.set_nodelay(true)?;
        client.write_all(&[7]).await?;
        let mut b = [0u8; 1];
        server.read_exact(&mut b).await?;
        server.write_all(&b).await?;
        client.read_exact(&mut b).await?;
        anyhow::ensure!(b[0] == 7, "TCP echoed {} for 7", b[0]);
        Ok(0)
    }

    #[test]
    fn every_runtime_runs_the_same_job() {
        for &kind in Kind::ALL {
            assert_eq!(run(&Spec::new(kind, 2), Smoke).unwrap(), 42, "{kind}");
        }
    }

    #[test]
    fn the_runtimes_are_named_as_their_models() {
        let names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
        let mut want = vec![TOKIO_CURRENT, TOKIO_MULTI, SMOL];
        if cfg!(feature = "async-std") {
            want.push(ASYNC_STD);
        }
        assert_eq!(names, want);
        assert_eq!(
            want[..3],
            ["tokio-current-thread", "tokio-multi-thread", "smol"]
        );
    }

    #[test]
    fn threads_seen_counts_distinct_tags() {
        let mut s = ThreadsSeen::default();
        s.add(3, 1);
        s.add(3, 1);
        s.add(5, 1);
        s.add(3, 1);
        assert_eq!(s.count(), 2);
        assert_eq!(s.busiest_share(), 0.75);
        let mut t = ThreadsSeen::default();
        t.add(5, 4);
        s.merge(&t);
        assert_eq!(s.busiest_share(), 5.0 / 8.0);
    }
}
