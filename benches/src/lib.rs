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
//! side by side (see the README's "Micro-benchmarks" section).

use harness::CoreSet;

/// The environment variable that sets the core count.
pub const CORES_VAR: &str = "CONPAR_BENCH_CORES";

/// Pins the process as `--cores` would and returns the resolved set.
/// Call it first in a bench's `main`, before criterion or any runtime starts threads.
pub fn setup() -> CoreSet {
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
