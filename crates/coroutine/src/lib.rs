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
pub mod echo;
pub mod kitchen;
pub mod memory;
pub mod pingpong;
pub mod requests;
pub mod rt;
pub mod sampling;
pub mod spawn;
pub mod stall;
