//! Integration tests of the `coroutine` binary.
//!
//! The tests of the network experiments (`echo`, `requests`, `serve`) are in
//! `coroutine/network.rs`.

#[path = "coroutine/network.rs"]
mod network;
