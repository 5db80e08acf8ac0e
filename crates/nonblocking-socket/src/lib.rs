//! Non-blocking sockets as a server model: the experiments of the
//! `nonblocking-socket` binary. A non-blocking call returns at once
//! (`EWOULDBLOCK` when it cannot proceed), and a readiness loop (epoll) says
//! which sockets can proceed, so one thread serves many connections.
//!
//! Every module is one experiment, with its models public so that tests and
//! `cargo bench` use exactly what the binary measures.

pub mod echo;
pub mod wouldblock;
