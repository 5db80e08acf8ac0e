//! Blocking sockets as a server and client model: the experiments of the
//! `blocking-io` binary. Every `read`, `write` and `accept` waits until it
//! can complete, so concurrency comes only from threads.
//!
//! Every module is one experiment, with its models public so that tests and
//! `cargo bench` use exactly what the binary measures.

pub mod echo;
pub mod requests;
