//! The far end of the wire, identical for every model: the echo load
//! generator ([`client`]), run in this process or as the `loadgen` child
//! process ([`child`]), and the delay server of `requests` ([`delay`]), with
//! the sockets and waits they and every server model share ([`net`],
//! [`slab`]). The experiments that use them live in the `network` crate.

pub mod child;
pub mod client;
pub mod delay;
pub mod net;
pub mod slab;

pub use client::{Event, LoadResult, LoadSpec};
