//! Coroutines as a concurrency model: async tasks on tokio, smol and
//! async-std (discontinued; cargo feature `async-std`, on by default).
//!
//! Every module is one experiment, with its models public so that tests and
//! `cargo bench` use exactly what the binary measures.

pub mod echo;
pub mod requests;
