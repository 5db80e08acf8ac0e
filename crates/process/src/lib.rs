//! Processes as a concurrency model: the experiments of the `process` binary.
//!
//! Every experiment module is one experiment: a `run` function that the
//! binary calls with the shared flags, and the primitives it times, public so
//! that `cargo bench` measures exactly the same operations. [`child`] is the
//! only place that forks: it checks the process is single-threaded, registers
//! every child with the harness's guard, and reaps or kills every child it
//! made. [`workers`] releases forked workers together; [`shm`] holds the
//! memory processes share on purpose.

pub mod child;
pub mod cpu;
pub mod gil;
pub mod kitchen;
pub mod memory;
pub mod pingpong;
pub mod share;
pub mod shm;
pub mod spawn;
pub mod workers;
