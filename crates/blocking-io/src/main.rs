//! `blocking-io`: blocking sockets as a concurrency model.
//!
//! Each subcommand is an experiment with the same name, flags and record
//! shape as in the other concept binaries; `serve` runs one server model on
//! its own. `main` only dispatches.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use conpar_blocking_io as exp;
use harness::Common;
use harness::cli::{EchoArgs, RequestsArgs, ServeArgs};

/// Blocking sockets as a concurrency model, measured on conpar's shared workload.
///
/// Every experiment writes one JSON record per case (to --out, or to stdout
/// when it is not a terminal) and prints a table and its verdicts on stderr.
#[derive(Debug, Parser)]
#[command(name = "blocking-io", version, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    experiment: Experiment,
}

#[derive(Debug, Subcommand)]
enum Experiment {
    /// Echo load over loopback TCP at 1 to 10,000 connections against each
    /// blocking server (C12). Models: iterative, pool, thread-per-connection
    Echo {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: EchoArgs,
    },
    /// N requests to a server that answers each after a delay, one after
    /// another (C5). Model: sequential
    Requests {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: RequestsArgs,
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
        Experiment::Requests { common, args } => exp::requests::run(&common, &args),
        Experiment::Serve { args } => network::serve::run("blocking-io", exp::echo::MODELS, &args),
    }
}
