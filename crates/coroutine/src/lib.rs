//! Coroutines as a concurrency model: the experiments of the `coroutine` binary.
//!
//! Async tasks on tokio (`current_thread` and `multi_thread`), smol (an
//! `Executor` on N threads) and async-std (discontinued by its maintainers in
//! favour of smol; behind the cargo feature `async-std`, on by default).
//! [`rt`] puts the runtimes behind one trait, so every experiment is written
//! once and times its operation from inside a task on the runtime.
//!
//! Every other module is one experiment: a `run` function that the binary
//! calls with the shared flags, `MODELS`, and the jobs it times, public so
//! that `cargo bench` measures exactly the same operations.

pub mod cpu;
pub mod kitchen;
pub mod memory;
pub mod pingpong;
pub mod rt;
pub mod sampling;
pub mod spawn;
pub mod stall;

/// Speedup and efficiency of a parallel wall time against a sequential one.
/// Efficiency divides by the CPUs actually available (fewer than workers when oversubscribed).
pub(crate) fn speedup(sequential_ns: u64, parallel_ns: u64, parallelism: usize) -> (f64, f64) {
    let s = sequential_ns as f64 / parallel_ns.max(1) as f64;
    (s, s / parallelism.max(1) as f64)
}
