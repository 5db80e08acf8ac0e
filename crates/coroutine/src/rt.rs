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

use std::cell::Cell;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::thread;
use std::time::{Duration, Instant};

use harness::cores::{CoreSet, pin_current_thread, set_affinity};
use harness::model::ModelStatus;
use harness::{Case, Session};
use nix::unistd::Pid;

/// tokio's single-threaded scheduler.
pub const TOKIO_CURRENT: &str = "tokio-current-thread";
/// tokio's work-stealing scheduler.
pub const TOKIO_MULTI: &str = "tokio-multi-thread";
/// A smol `Executor` run on N threads.
pub const SMOL: &str = "smol";
/// async-std's global executor (discontinued).
pub const ASYNC_STD: &str = "async-std";

/// The runtimes this build has, in the order experiments run them.
pub const RUNTIMES: &[&str] = &[
    TOKIO_CURRENT,
    TOKIO_MULTI,
    SMOL,
    #[cfg(feature = "async-std")]
    ASYNC_STD,
];

/// The environment variable async-std reads its thread count from, once.
#[cfg(feature = "async-std")]
const ASYNC_STD_THREADS_ENV: &str = "ASYNC_STD_THREAD_COUNT";
/// The environment variable the `blocking` crate (smol, async-std) reads its pool size from, once.
const BLOCKING_THREADS_ENV: &str = "BLOCKING_MAX_THREADS";
/// The environment variable async-std names its executor threads from, once.
#[cfg(feature = "async-std")]
const ASYNC_STD_NAME_ENV: &str = "ASYNC_STD_THREAD_NAME";
/// The name [`prepare`] gives async-std's executor threads (its default).
#[cfg(feature = "async-std")]
const ASYNC_STD_NAME: &str = "async-std/runtime";
/// That name as `/proc/self/task/*/comm` shows it: cut to 15 bytes by the kernel.
#[cfg(feature = "async-std")]
const ASYNC_STD_COMM: &str = "async-std/runti";

/// What records and notes say about async-std.
pub const ASYNC_STD_STATUS: ModelStatus = ModelStatus {
    status: "discontinued",
    note: "async-std is discontinued by its maintainers, who point to smol; it is measured \
           because people still compare against it (records say \"status\": \"discontinued\")",
};

/// The CPUs the process was pinned to and the worker count, fixed by [`prepare`].
static PROCESS: OnceLock<(Vec<usize>, usize)> = OnceLock::new();

/// Fixes what must be fixed while the process is still single-threaded:
/// async-std's thread count and the `blocking` crate's pool size, both read
/// once from the environment, are set to `--cores` N. Call it right after
/// `Session::start`, before any runtime exists.
pub fn prepare(s: &Session) -> anyhow::Result<()> {
    prepare_cores(&s.cores)
}

/// [`prepare`] for a run whose `--cores` is pinned later, by a session or
/// server that `loadgen` starts (`echo`, `requests`, `serve`): the same
/// choice of CPUs and workers that pinning will make, from the same mask.
/// Call it first thing, while the process is single-threaded.
pub fn prepare_before_pinning(requested: Option<u32>, oversubscribe: bool) -> anyhow::Result<()> {
    let allowed = harness::cores::allowed_cpus()?;
    prepare_cores(&CoreSet::choose(&allowed, requested, oversubscribe)?)
}

/// [`prepare`] for a core set the caller resolved and pinned itself (the
/// criterion benches, which take no flags). Call it while the process is
/// single-threaded.
pub fn prepare_cores(cores: &CoreSet) -> anyhow::Result<()> {
    let threads = harness::cores::thread_count();
    anyhow::ensure!(
        threads.is_none_or(|t| t == 1),
        "internal error: the runtimes' thread counts must be set before any thread starts, but {} threads exist",
        threads.unwrap_or(0)
    );
    let n = cores.workers.to_string();
    // SAFETY: `set_var` is unsafe because another thread could read or write
    // the environment at the same time. Here the process has exactly one
    // thread (checked just above; Session::start starts none and no runtime
    // exists yet), so nothing can race with these writes.
    unsafe {
        std::env::set_var(BLOCKING_THREADS_ENV, &n);
        #[cfg(feature = "async-std")]
        {
            std::env::set_var(ASYNC_STD_THREADS_ENV, &n);
            std::env::set_var(ASYNC_STD_NAME_ENV, ASYNC_STD_NAME);
        }
    }
    let _ = PROCESS.set((cores.cpus.clone(), cores.workers));
    Ok(())
}

/// Prints, once per run, that async-std is discontinued, if it is among `models`.
pub fn note_discontinued(s: &Session, models: &[&str]) {
    if models.iter().any(|m| m.starts_with(ASYNC_STD)) {
        s.note(ASYNC_STD_STATUS.note);
    }
}

fn process_cpus() -> Vec<usize> {
    match PROCESS.get() {
        Some((cpus, _)) => cpus.clone(),
        None => harness::cores::allowed_cpus().unwrap_or_default(),
    }
}

/// Which runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `tokio-current-thread`.
    TokioCurrentThread,
    /// `tokio-multi-thread`.
    TokioMultiThread,
    /// `smol`.
    Smol,
    /// `async-std` (discontinued).
    #[cfg(feature = "async-std")]
    AsyncStd,
}

impl Kind {
    /// The runtime a model name starts with (`smol-socketpair` is smol).
    pub fn of_model(model: &str) -> Option<Kind> {
        let k = [
            Kind::TokioCurrentThread,
            Kind::TokioMultiThread,
            Kind::Smol,
            #[cfg(feature = "async-std")]
            Kind::AsyncStd,
        ];
        k.into_iter().find(|k| {
            model == k.name()
                || model
                    .strip_prefix(k.name())
                    .is_some_and(|r| r.starts_with('-'))
        })
    }

    /// The model name of the runtime.
    pub fn name(self) -> &'static str {
        match self {
            Kind::TokioCurrentThread => TOKIO_CURRENT,
            Kind::TokioMultiThread => TOKIO_MULTI,
            Kind::Smol => SMOL,
            #[cfg(feature = "async-std")]
            Kind::AsyncStd => ASYNC_STD,
        }
    }

    /// True for a runtime that runs every task on one thread by design.
    pub fn single_threaded(self) -> bool {
        self == Kind::TokioCurrentThread
    }
}

/// How to build a runtime for one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// Which runtime.
    pub kind: Kind,
    /// Executor threads asked for (current_thread always has one; async-std
    /// has the count fixed at start).
    pub workers: usize,
    /// CPU of each executor thread (thread i on `pin[i % len]`); `None`: the
    /// process's CPUs, as `--cores` pinned them.
    pub pin: Option<Vec<usize>>,
    /// Threads of the blocking pool (`spawn_blocking`).
    pub blocking_threads: usize,
}

impl Spec {
    /// The runtime sized to `workers` executor and blocking threads.
    pub fn new(kind: Kind, workers: usize) -> Spec {
        Spec {
            kind,
            workers: workers.max(1),
            pin: None,
            blocking_threads: workers.max(1),
        }
    }

    /// The runtime of `kind` as a session runs it: `--cores` N executor and
    /// blocking threads, executor thread i pinned to the i-th CPU of
    /// `--cores` (round-robin), as the thread and process binaries pin their
    /// workers, so two busy workers never share a CPU while another idles.
    /// tokio's blocking-pool threads follow round-robin; smol's and
    /// async-std's (the `blocking` crate's) keep the process's CPU mask.
    pub fn spread(kind: Kind, s: &Session) -> Spec {
        Spec::spread_on(kind, s.workers(), &s.cores.cpus)
    }

    /// [`Spec::spread`] for `workers` workers on `cpus` (a server's context).
    pub fn spread_on(kind: Kind, workers: usize, cpus: &[usize]) -> Spec {
        Spec::new(kind, workers).pinned(cpus.to_vec())
    }

    /// The same runtime with executor thread i pinned to `cpus[i % len]`.
    pub fn pinned(mut self, cpus: Vec<usize>) -> Spec {
        self.pin = Some(cpus);
        self
    }

    /// Executor threads this runtime really has.
    pub fn worker_threads(&self) -> usize {
        match self.kind {
            Kind::TokioCurrentThread => 1,
            #[cfg(feature = "async-std")]
            Kind::AsyncStd => PROCESS.get().map_or(self.workers, |p| p.1),
            _ => self.workers,
        }
    }

    /// How the executor threads were placed, for the record.
    pub fn pinning(&self) -> String {
        let Some(pin) = &self.pin else {
            return "process mask (--cores)".into();
        };
        let how = match self.kind {
            Kind::TokioCurrentThread => "the block_on thread pinned before block_on",
            Kind::TokioMultiThread => {
                "worker threads pinned in on_thread_start (blocking threads after them, round-robin)"
            }
            Kind::Smol => "executor threads pinned as they start",
            #[cfg(feature = "async-std")]
            Kind::AsyncStd => "executor threads pinned by thread id (/proc/self/task)",
        };
        let cpus: Vec<String> = (0..self.worker_threads())
            .map(|i| pin[i % pin.len()].to_string())
            .collect();
        format!("{how}: thread i on CPU [{}][i]", cpus.join(","))
    }

    /// Adds the runtime's parameters to a case: runtime, worker threads,
    /// blocking threads, pinning, whether it is single-threaded by design,
    /// and async-std's status.
    pub fn annotate(&self, case: Case) -> Case {
        let mut case = case
            .param("runtime", self.kind.name())
            .param("worker_threads", self.worker_threads())
            .param("blocking_threads", self.blocking_threads)
            .param("pinning", self.pinning())
            .param("single_threaded", self.kind.single_threaded());
        if self.kind.single_threaded() {
            case.set_param(
                "threading",
                "current_thread runs every task on the thread that calls block_on: single-threaded by design, whatever --cores says",
            );
        }
        #[cfg(feature = "async-std")]
        if self.kind == Kind::AsyncStd {
            case.set_param("status", ASYNC_STD_STATUS.status);
            case.set_param(
                "threading",
                "global executor; thread count fixed at start from ASYNC_STD_THREAD_COUNT",
            );
        }
        case
    }
}

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
pub trait TcpConn: smol::io::AsyncRead + smol::io::AsyncWrite + Unpin + Send + 'static {
    /// Turns Nagle's algorithm off (`TCP_NODELAY`) or on.
    fn set_nodelay(&self, on: bool) -> std::io::Result<()>;
}

impl TcpConn for smol::net::TcpStream {
    fn set_nodelay(&self, on: bool) -> std::io::Result<()> {
        smol::net::TcpStream::set_nodelay(self, on)
    }
}

#[cfg(feature = "async-std")]
impl TcpConn for async_std::net::TcpStream {
    fn set_nodelay(&self, on: bool) -> std::io::Result<()> {
        async_std::net::TcpStream::set_nodelay(self, on)
    }
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
        Kind::TokioCurrentThread => run_tokio_current(spec, job),
        Kind::TokioMultiThread => run_tokio_multi(spec, job),
        Kind::Smol => run_smol(spec, job),
        #[cfg(feature = "async-std")]
        Kind::AsyncStd => run_async_std(spec, job),
    }
}

fn run_tokio_current<J: Job>(spec: &Spec, job: J) -> anyhow::Result<J::Output> {
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

fn run_tokio_multi<J: Job>(spec: &Spec, job: J) -> anyhow::Result<J::Output> {
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

fn run_smol<J: Job>(spec: &Spec, job: J) -> anyhow::Result<J::Output> {
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

#[cfg(feature = "async-std")]
fn run_async_std<J: Job>(spec: &Spec, job: J) -> anyhow::Result<J::Output> {
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
#[cfg(feature = "async-std")]
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

// ---------------------------------------------------------------- tokio

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
        impl End for $name {
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

async_channel_end!(
    /// smol's async-channel, one each way.
    SmolChan, smol::channel
);
async_channel_end!(
    /// async-std's async-channel, one each way.
    #[cfg(feature = "async-std")]
    AsyncStdChan, async_std::channel
);

/// A Unix stream on a futures-io reactor: smol's `Async<UnixStream>`,
/// async-std's `UnixStream` (both async-io underneath).
pub struct IoSock<S>(S);

impl<S> End for IoSock<S>
where
    S: smol::io::AsyncRead + smol::io::AsyncWrite + Unpin + Send + 'static,
{
    async fn send(&mut self, b: u8) -> anyhow::Result<()> {
        use smol::io::AsyncWriteExt as _;
        Ok(self.0.write_all(&[b]).await?)
    }
    async fn recv(&mut self) -> anyhow::Result<Option<u8>> {
        use smol::io::AsyncReadExt as _;
        let mut b = [0u8; 1];
        Ok((self.0.read(&mut b).await? == 1).then_some(b[0]))
    }
}

// ---------------------------------------------------------------- smol

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

// ---------------------------------------------------------------- async-std

/// Tasks on async-std's global executor (discontinued).
#[cfg(feature = "async-std")]
#[derive(Debug, Clone, Copy)]
pub struct AsyncStd;

#[cfg(feature = "async-std")]
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
        use smol::io::{AsyncReadExt, AsyncWriteExt};
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        l.set_nonblocking(true)?;
        let addr = l.local_addr()?;
        let l = R::listen(l)?;
        let (client, server) = smol::future::zip(R::connect(addr), R::accept(&l)).await;
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
        for &name in RUNTIMES {
            let kind = Kind::of_model(name).unwrap();
            assert_eq!(run(&Spec::new(kind, 2), Smoke).unwrap(), 42, "{name}");
        }
    }

    #[test]
    fn model_names_map_to_runtimes() {
        assert_eq!(Kind::of_model("smol-socketpair"), Some(Kind::Smol));
        assert_eq!(
            Kind::of_model("tokio-multi-thread"),
            Some(Kind::TokioMultiThread)
        );
        assert_eq!(Kind::of_model("smolder"), None);
        assert_eq!(Kind::of_model("sequential"), None);
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
