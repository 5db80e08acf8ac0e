//! The far end of the wire, identical for every server model: the echo load
//! generator ([`client`]), run in this process or as the `loadgen` child
//! process ([`child`]), and the delay server of `requests` ([`delay`]).
//!
//! It also holds what every binary with server models shares, so that the
//! models differ only in how they serve: the [`server::Server`] interface,
//! the `echo` and `requests` experiments ([`echo`], [`requests`]) and the
//! standalone `serve` subcommand ([`serve`]), and the checks every server
//! model must pass in its crate's tests ([`conformance`]). Concept crates
//! depend on this library, never on each other.

pub mod child;
pub mod client;
pub mod conformance;
pub mod delay;
pub mod echo;
pub mod net;
pub mod requests;
pub mod serve;
pub mod server;
pub mod slab;

pub use client::{Event, LoadResult, LoadSpec};
pub use server::{Server, ServerCtx, ServerStats};
