//! Shared set-up of conpar's criterion benches.
//!
//! Criterion takes no custom flags, so the core count comes from the
//! environment: `CONPAR_BENCH_CORES=N` pins the bench process to the first N
//! allowed CPUs exactly as `--cores N` does for the binaries (before any
//! thread exists), and sizes every pool and runtime to N. Unset, it uses every
//! allowed CPU.
//!
//! Each bench file times the same public primitive that the corresponding
//! experiment times, so a bench's median and the experiment's p50 can be put
//! side by side (see the README's "Micro-benchmarks" section). Async models
//! run the experiment's own `Job` as a task on the runtime, for exactly the
//! iterations criterion asks for, and report the sum of the times the job
//! measured ([`in_runtime`], [`total`]): they are timed from inside the
//! runtime, never by `block_on` from a foreign thread.

use std::time::Duration;

use conpar_coroutine::rt::{self, Job, Spec};
use harness::model::ModelStatus;
use harness::{CoreSet, Schedule};
use hdrhistogram::Histogram;

/// The environment variable that sets the core count.
pub const CORES_VAR: &str = "CONPAR_BENCH_CORES";

/// Pins the process as `--cores` would, fixes the thread counts the async
/// runtimes read once from the environment (async-std's, the `blocking`
/// pool's) to the core count, and returns the resolved set. Call it first in
/// a bench's `main`, while the process is still single-threaded.
pub fn setup() -> CoreSet {
    let set = pin_cores();
    rt::prepare_cores(&set).expect("cannot size the async runtimes");
    set
}

/// Pins the process as `--cores` would (`CONPAR_BENCH_CORES`) and returns the
/// resolved set; [`setup`] without sizing the runtimes, for a bench that sizes
/// them itself (with `rt::prepare_cores`, still single-threaded).
pub fn pin_cores() -> CoreSet {
    let requested = match std::env::var(CORES_VAR) {
        Ok(v) => match v.trim().parse::<u32>() {
            Ok(n) if n > 0 => Some(n),
            _ => {
                eprintln!("error: {CORES_VAR}={v} is not a positive whole number");
                std::process::exit(2);
            }
        },
        Err(_) => None,
    };
    match CoreSet::pin(requested, false) {
        Ok(set) => set,
        Err(e) => {
            eprintln!("error: {CORES_VAR}: {e:#}");
            std::process::exit(2);
        }
    }
}

/// The criterion configuration every bench uses: command-line flags honoured
/// (`--save-baseline`, `--baseline`, `--test`, filters).
pub fn criterion() -> criterion::Criterion {
    criterion::Criterion::default().configure_from_args()
}

/// The benchmark group of one operation on one concept (`spawn/thread`):
/// ids read `spawn/thread/std-spawn` as before, and the criterion index
/// lists every concept under its own heading. The summary plot is on a
/// logarithmic axis, where nanosecond tasks sit beside millisecond forks.
pub fn group<'a>(
    c: &'a mut criterion::Criterion,
    operation: &str,
    concept: &str,
) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group(format!("{operation}/{concept}"));
    g.plot_config(
        criterion::PlotConfiguration::default().summary_scale(criterion::AxisScale::Logarithmic),
    );
    g
}

/// Runs a self-timed primitive `iters` times and adds up the nanoseconds it
/// reports: the primitive times exactly its operation, as in the experiment,
/// so setup and teardown stay outside the measurement.
pub fn self_timed(iters: u64, mut f: impl FnMut() -> anyhow::Result<u64>) -> std::time::Duration {
    let ns: u64 = (0..iters)
        .map(|_| f().expect("the benchmarked operation failed"))
        .sum();
    std::time::Duration::from_nanos(ns)
}

/// Times `iters` calls of `f` as one block (for operations too short to time one by one).
pub fn timed_block(iters: u64, mut f: impl FnMut()) -> std::time::Duration {
    let t = std::time::Instant::now();
    for _ in 0..iters {
        f();
    }
    t.elapsed()
}

/// The sampling schedule of exactly `iters` samples and no warm-up (criterion
/// does the warming up), for the experiments' own sampling loops.
pub fn exactly(iters: u64) -> Schedule {
    Schedule {
        warmup: Duration::ZERO,
        duration: Duration::ZERO,
        min_samples: iters,
        max_samples: iters,
    }
}

/// Builds the runtime `spec` describes, runs `job` as a task on it and returns
/// the time that `measured` reads from the job's output (measured inside the
/// task); building and shutting down the runtime stay outside.
pub fn in_runtime<J: Job>(
    spec: &Spec,
    job: J,
    measured: impl FnOnce(&J::Output) -> Duration,
) -> Duration {
    let out = rt::run(spec, job).expect("the benchmarked job failed");
    measured(&out)
}

/// The sum of the samples of a histogram (its mean times its count, to its
/// 3 significant figures): the time of the timed operations alone, as
/// [`self_timed`] adds it up, without the sampling loop around them.
pub fn total(h: &Histogram<u64>) -> Duration {
    Duration::from_nanos((h.mean() * h.len() as f64).round() as u64)
}

/// The benchmark id's name for a model named `name`: a model with a status
/// is marked with it (async-std's models are `-discontinued`: its
/// maintainers point to smol).
pub fn model_id(name: &str, status: Option<ModelStatus>) -> String {
    match status {
        Some(s) => format!("{name}-{}", s.status),
        None => name.to_string(),
    }
}
