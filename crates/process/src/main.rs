//! `process`: processes as a concurrency model.
//!
//! Each subcommand is an experiment with the same name, flags and record
//! shape as in the other concept binaries; `main` only dispatches.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use conpar_process as exp;
use harness::Common;
use harness::cli::{CpuArgs, KitchenArgs, MemoryArgs, PlacementArgs, ShareArgs};

/// Processes as a concurrency model, measured on conpar's shared workload.
///
/// Every experiment writes one JSON record per case (to --out, or to stdout
/// when it is not a terminal) and prints a table and its verdicts on stderr.
#[derive(Debug, Parser)]
#[command(name = "process", version, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    experiment: Experiment,
}

#[derive(Debug, Subcommand)]
enum Experiment {
    /// Create a process, run an empty body, reap it; then fork and
    /// posix_spawn from a larger parent (C7). Models: fork-exit,
    /// fork-exec-self, fork-exec-true, posix-spawn, command, thread-spawn
    Spawn {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: exp::spawn::SpawnArgs,
    },
    /// One round trip of a 1-byte message between two processes, on one CPU
    /// and across two (C7). Models: pipe, socketpair
    Pingpong {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: PlacementArgs,
    },
    /// Proportional and resident memory per idle child process: slopes over
    /// N blocked children (C7). Models: fork-idle, thread-idle [default --tasks 1000]
    Memory {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: MemoryArgs,
    },
    /// The CPU work of `thread cpu`, split over N worker processes; speedup
    /// against one process (C2, C3). Models: sequential, static-split, pool
    Cpu {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: CpuArgs,
    },
    /// The cpu work with a lock held around every task, one process per core
    /// each with its own lock, as Python's multiprocessing does (C11).
    /// Models: sequential, gil-processes, gil-threads
    Gil {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: CpuArgs,
    },
    /// Move a buffer to another process, which reads every byte: a pipe copies
    /// it, a shared memfd mapping does not (C8). Models: pipe, memfd-mmap
    Share {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: ShareArgs,
    },
    /// The seed notes' kitchen: orders of prep (CPU) and cooking (waiting)
    /// steps, one process per order (C1). Models: sequential, process-per-order
    Kitchen {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: KitchenArgs,
    },
    /// The child that `spawn`'s fork-exec-self model executes: exits at once
    #[command(name = "child", hide = true)]
    Child,
}

fn main() -> ExitCode {
    harness::run_main(run)
}

fn run() -> anyhow::Result<()> {
    match Cli::parse().experiment {
        Experiment::Spawn { common, args } => exp::spawn::run(&common, &args),
        Experiment::Pingpong { common, args } => exp::pingpong::run(&common, &args),
        Experiment::Memory { common, args } => exp::memory::run(&common, &args),
        Experiment::Cpu { common, args } => exp::cpu::run(&common, &args),
        Experiment::Gil { common, args } => exp::gil::run(&common, &args),
        Experiment::Share { common, args } => exp::share::run(&common, &args),
        Experiment::Kitchen { common, args } => exp::kitchen::run(&common, &args),
        Experiment::Child => Ok(()),
    }
}
