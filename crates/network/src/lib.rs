//! The network experiments, the same in every binary with server or client
//! models, so that the models differ only in how they serve or wait:
//!
//! - [`echo`] (C12): each server model under one echo load from `loadgen`;
//! - [`requests`] (C5): N requests to `loadgen`'s delay server, made one
//!   after another or overlapped;
//! - [`serve`]: one server model on its own, for other load tools.
//!
//! A binary describes its server models as rows of [`ServerModel`] (name,
//! how to start it, how many connections it serves at once, its threads) and
//! its client models as [`requests::RequestModels`]; [`conformance`] holds the
//! checks every server model passes in its crate's tests. `loadgen` is the
//! far end of the wire (the client, its child process, the delay server);
//! concept crates depend on this crate, never on each other.

pub mod conformance;
pub mod echo;
pub mod requests;
pub mod serve;
pub mod server;

pub use server::{
    AtOnce, LoopStats, Server, ServerCtx, ServerModel, ServerStats, Threads, Unavailable,
};
