//! `thread`: OS threads as a concurrency model.
//!
//! Each subcommand is an experiment with the same name, flags and record
//! shape as in the other concept binaries; `main` only dispatches.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use conpar_thread as exp;
use harness::Common;
use harness::cli::{
    CpuArgs, KitchenArgs, MemoryArgs, PlacementArgs, RaceArgs, RequestsArgs, ShareArgs,
};

/// OS threads as a concurrency model, measured on conpar's shared workload.
///
/// Every experiment writes one JSON record per case (to --out, or to stdout
/// when it is not a terminal) and prints a table and its verdicts on stderr.
#[derive(Debug, Parser)]
#[command(name = "thread", version, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    experiment: Experiment,
}

#[derive(Debug, Subcommand)]
enum Experiment {
    /// Create a thread, run an empty body, join it (C7). Models: std-spawn, scoped-spawn
    Spawn {
        #[command(flatten)]
        common: Common,
    },
    /// One round trip of a 1-byte message between two threads, on one CPU and
    /// across two (C7, C10). Models: pipe, condvar, channel
    Pingpong {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: PlacementArgs,
    },
    /// Resident memory per idle thread: the slope of RSS over N parked threads
    /// (C7, C10). Model: std-thread [default --tasks 10000]
    Memory {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: MemoryArgs,
    },
    /// Fixed CPU work split into tasks; speedup against one thread (C2, C3).
    /// Models: sequential, static-split, pool, rayon, spawn-per-task
    Cpu {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: CpuArgs,
    },
    /// The cpu work with one global lock held around every task, as Python's
    /// GIL does (C11). Models: sequential, gil-threads, no-gil-threads
    Gil {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: CpuArgs,
    },
    /// Threads increment one shared counter; unsynchronised updates get lost
    /// (C9). Models: fetch-add, mutex, load-store
    Race {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: RaceArgs,
    },
    /// Hand a buffer to another thread, which reads every byte: shared memory
    /// needs no copy (C8). Model: arc
    Share {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: ShareArgs,
    },
    /// The seed notes' kitchen: orders of prep (CPU) and cooking (waiting)
    /// steps (C1, C4). Models: sequential, parallel-only, concurrent-only,
    /// thread-per-order
    Kitchen {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: KitchenArgs,
    },
    /// N requests to a server that answers each after a delay, a thread per
    /// request (C5). Model: thread-per-request
    Requests {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: RequestsArgs,
    },
    /// Print the kernel's units per millisecond on this machine (one number
    /// on stdout), to pass as --units-per-ms so several runs do identical work
    Calibrate {
        #[command(flatten)]
        common: Common,
    },
}

fn main() -> ExitCode {
    harness::run_main(run)
}

fn run() -> anyhow::Result<()> {
    match Cli::parse().experiment {
        Experiment::Spawn { common } => exp::spawn::run(&common),
        Experiment::Pingpong { common, args } => exp::pingpong::run(&common, &args),
        Experiment::Memory { common, args } => exp::memory::run(&common, &args),
        Experiment::Cpu { common, args } => exp::cpu::run(&common, &args),
        Experiment::Gil { common, args } => exp::gil::run(&common, &args),
        Experiment::Race { common, args } => exp::race::run(&common, &args),
        Experiment::Share { common, args } => exp::share::run(&common, &args),
        Experiment::Kitchen { common, args } => exp::kitchen::run(&common, &args),
        Experiment::Requests { common, args } => exp::requests::run(&common, &args),
        Experiment::Calibrate { common } => exp::calibrate(&common),
    }
}
