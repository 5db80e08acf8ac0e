//! `nonblocking-socket`: non-blocking sockets and readiness loops as a
//! concurrency model.
//!
//! Each subcommand is an experiment with the same name, flags and record
//! shape as in the other concept binaries; `serve` runs one server model on
//! its own. `main` only dispatches.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use conpar_nonblocking_socket as exp;
use exp::quadrants::QuadrantsArgs;
use exp::wouldblock::WouldblockArgs;
use harness::Common;
use harness::cli::{EchoArgs, ServeArgs};

/// Non-blocking sockets on epoll readiness loops and io_uring completion
/// loops, measured on conpar's shared workload.
///
/// Every experiment writes one JSON record per case (to --out, or to stdout
/// when it is not a terminal) and prints a table and its verdicts on stderr.
#[derive(Debug, Parser)]
#[command(name = "nonblocking-socket", version, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    experiment: Experiment,
}

#[derive(Debug, Subcommand)]
enum Experiment {
    /// Echo load over loopback TCP at 1 to 10,000 connections against each
    /// epoll and io_uring server (C12). Models: epoll, epoll-edge,
    /// epoll-per-core, io-uring, io-uring-per-core (the io_uring ones are
    /// skipped, with the cause and the fix, where the machine refuses io_uring)
    Echo {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: EchoArgs,
    },
    /// A read of a socket with no data: non-blocking returns EWOULDBLOCK at
    /// once, blocking waits for the data (C6). Models: nonblocking-read, blocking-read
    Wouldblock {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: WouldblockArgs,
    },
    /// N requests to a server that answers each d ms later, done sync or
    /// async and with blocking or non-blocking calls, the caller offered CPU
    /// work while it waits (C13). Models: sync-blocking, sync-nonblocking,
    /// async-blocking (epoll_wait), async-nonblocking (io_uring)
    Quadrants {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: QuadrantsArgs,
    },
    /// Run one server model on its own: prints its address on stdout and
    /// serves until Ctrl-C or SIGTERM
    Serve {
        #[command(flatten)]
        args: ServeArgs,
    },
}

fn main() -> ExitCode {
    harness::run_main(run)
}

fn run() -> anyhow::Result<()> {
    match Cli::parse().experiment {
        Experiment::Echo { common, args } => exp::echo::run(&common, &args),
        Experiment::Wouldblock { common, args } => exp::wouldblock::run(&common, &args),
        Experiment::Quadrants { common, args } => exp::quadrants::run(&common, &args),
        Experiment::Serve { args } => {
            network::serve::run("nonblocking-socket", exp::echo::MODELS, &args)
        }
    }
}
