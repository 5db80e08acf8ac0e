//! How a runtime is chosen and sized: [`Kind`] names it (and is the model of
//! the experiments whose models are the runtimes), [`Spec`] says how
//! to build it for one case (workers, pinning, blocking pool), and the
//! `prepare*` functions fix what must be fixed while the process is still
//! single-threaded (the thread counts some runtimes read once from the
//! environment).

use std::sync::OnceLock;

use harness::cli::CoresArgs;
use harness::cores::CoreSet;
use harness::model::ModelStatus;
use harness::{Case, Session};

/// tokio's single-threaded scheduler.
pub const TOKIO_CURRENT: &str = Kind::TokioCurrentThread.name();
/// tokio's work-stealing scheduler.
pub const TOKIO_MULTI: &str = Kind::TokioMultiThread.name();
/// A smol `Executor` run on N threads.
pub const SMOL: &str = Kind::Smol.name();
/// async-std's global executor (discontinued); the name of
/// `Kind::AsyncStd`, which only a build with the `async-std` feature has.
pub const ASYNC_STD: &str = "async-std";

/// The environment variable the `blocking` crate (smol, async-std) reads its pool size from, once.
const BLOCKING_THREADS_ENV: &str = "BLOCKING_MAX_THREADS";

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
pub fn prepare_before_pinning(cpus: &CoresArgs) -> anyhow::Result<()> {
    prepare_cores(&cpus.choose()?)
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
        super::async_std::set_env(&n);
    }
    let _ = PROCESS.set((cores.cpus.clone(), cores.workers));
    Ok(())
}

/// Prints, once per run, that async-std is discontinued, if it is among the
/// runtimes of the models selected.
pub fn note_discontinued(s: &Session, runtimes: impl IntoIterator<Item = Kind>) {
    if let Some(status) = runtimes.into_iter().find_map(Kind::status) {
        s.note(status.note);
    }
}

/// The CPUs the process was pinned to (by [`prepare`]), else those it may use.
pub(super) fn process_cpus() -> Vec<usize> {
    match PROCESS.get() {
        Some((cpus, _)) => cpus.clone(),
        None => harness::cores::allowed_cpus().unwrap_or_default(),
    }
}

harness::models! {
    /// Which runtime; also the model of every experiment whose models are
    /// the runtimes (`spawn`, `memory`, `stall`): `ALL` holds the runtimes
    /// this build has, in the order experiments run them.
    pub enum Kind {
        /// tokio's single-threaded scheduler.
        TokioCurrentThread = "tokio-current-thread",
        /// tokio's work-stealing scheduler.
        TokioMultiThread = "tokio-multi-thread",
        /// A smol `Executor` run on N threads.
        Smol = "smol",
        /// async-std's global executor (discontinued).
        #[cfg(feature = "async-std")]
        AsyncStd = "async-std",
    }
}

impl Kind {
    /// True for a runtime that runs every task on one thread by design.
    pub const fn single_threaded(self) -> bool {
        match self {
            Kind::TokioCurrentThread => true,
            Kind::TokioMultiThread | Kind::Smol => false,
            #[cfg(feature = "async-std")]
            Kind::AsyncStd => false,
        }
    }

    /// What records and notes say about the runtime's standing: async-std
    /// is discontinued; the others have nothing to say.
    pub const fn status(self) -> Option<ModelStatus> {
        match self {
            Kind::TokioCurrentThread | Kind::TokioMultiThread | Kind::Smol => None,
            #[cfg(feature = "async-std")]
            Kind::AsyncStd => Some(ASYNC_STD_STATUS),
        }
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
            Kind::TokioMultiThread | Kind::Smol => self.workers,
            #[cfg(feature = "async-std")]
            Kind::AsyncStd => PROCESS.get().map_or(self.workers, |p| p.1),
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
