//! Non-blocking sockets as a server model: the experiments of the
//! `nonblocking-socket` binary. A non-blocking call returns at once
//! (`EWOULDBLOCK` when it cannot proceed), and a readiness loop (epoll) says
//! which sockets can proceed, so one thread serves many connections; a
//! completion queue (io_uring) takes the calls themselves and reports them
//! done.
//!
//! Every module but [`uring`] (the io_uring machinery the experiments share)
//! is one experiment, with its models public so that tests and `cargo bench`
//! use exactly what the binary measures.

pub mod echo;
pub mod quadrants;
pub mod uring;
pub mod wouldblock;
