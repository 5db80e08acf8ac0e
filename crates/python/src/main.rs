//! `python`: CPython's `threading`, `multiprocessing` and `asyncio` as
//! concurrency models, measured on conpar's shared workload.
//!
//! Each subcommand is an experiment with the same name, flags and record
//! shape as in the other concept binaries (plus `--python`); `main` only
//! dispatches.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use conpar_python::{self as exp, PythonArgs};
use harness::Common;
use harness::cli::{CpuArgs, KitchenArgs, PlacementArgs, RequestsArgs, StallArgs};

/// CPython's threading, multiprocessing and asyncio, measured on conpar's
/// shared workload by a Python interpreter (3.9 or newer, standard library
/// only) that this binary starts, pins and guards.
///
/// Every experiment writes one JSON record per case (to --out, or to stdout
/// when it is not a terminal) and prints a table and its verdicts on stderr.
#[derive(Debug, Parser)]
#[command(name = "python", version, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    experiment: Experiment,
}

#[derive(Debug, Subcommand)]
enum Experiment {
    /// Fixed CPU work split into tasks; speedup against one thread (C2, C3).
    /// Models: sequential, threading, multiprocessing-pool,
    /// futures-thread-pool, futures-process-pool, asyncio
    Cpu {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: CpuArgs,
        #[command(flatten)]
        py: PythonArgs,
    },
    /// The cpu work under CPython's own GIL: threads flat, processes scale
    /// (C11). Models: sequential, threading, multiprocessing-pool
    Gil {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: CpuArgs,
        #[command(flatten)]
        py: PythonArgs,
    },
    /// The seed notes' kitchen: orders of prep (CPU) and cooking (waiting)
    /// steps (C1, C4). Models: sequential, asyncio, threading,
    /// multiprocessing, multiprocessing-pool, multiprocessing-asyncio
    Kitchen {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: KitchenArgs,
        #[command(flatten)]
        py: PythonArgs,
    },
    /// N requests to a server that answers each after a delay (C5).
    /// Models: sequential, asyncio, thread-pool
    Requests {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: RequestsArgs,
        #[command(flatten)]
        py: PythonArgs,
    },
    /// A 1 ms heartbeat on an asyncio loop beside a task that calls
    /// time.sleep, asyncio.sleep or loop.run_in_executor (C6). Model: asyncio
    Stall {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: StallArgs,
        #[command(flatten)]
        py: PythonArgs,
    },
    /// Create a unit, run an empty body, join it (C7). Models: threading,
    /// multiprocessing-fork, multiprocessing-forkserver,
    /// multiprocessing-spawn, asyncio
    Spawn {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        py: PythonArgs,
    },
    /// One round trip of a 1-byte token between two units, on one CPU and
    /// across two (C10). Models: asyncio-queue, queue-threads,
    /// multiprocessing-pipe
    Pingpong {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: PlacementArgs,
        #[command(flatten)]
        py: PythonArgs,
    },
    /// Resident memory per idle task, thread and process: the slope over N
    /// live units (C7, C10). Models: asyncio, threading, multiprocessing
    Memory {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: exp::memory::PyMemoryArgs,
        #[command(flatten)]
        py: PythonArgs,
    },
    /// Print the interpreter's kernel units per millisecond of one core (one
    /// number on stdout), to pass as --units-per-ms so several runs do
    /// identical work
    Calibrate {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        py: PythonArgs,
    },
}

fn main() -> ExitCode {
    harness::run_main(run)
}

fn run() -> anyhow::Result<()> {
    match Cli::parse().experiment {
        Experiment::Cpu { common, args, py } => exp::cpu::run(&common, &args, &py, false),
        Experiment::Gil { common, args, py } => exp::cpu::run(&common, &args, &py, true),
        Experiment::Kitchen { common, args, py } => exp::kitchen::run(&common, &args, &py),
        Experiment::Requests { common, args, py } => exp::requests::run(&common, &args, &py),
        Experiment::Stall { common, args, py } => exp::stall::run(&common, &args, &py),
        Experiment::Spawn { common, py } => exp::spawn::run(&common, &py),
        Experiment::Pingpong { common, args, py } => exp::pingpong::run(&common, &args, &py),
        Experiment::Memory { common, args, py } => exp::memory::run(&common, &args, &py),
        Experiment::Calibrate { common, py } => exp::calibrate(&common, &py),
    }
}
