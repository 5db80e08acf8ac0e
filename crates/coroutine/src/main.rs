//! `coroutine`: async tasks as a concurrency model.
//!
//! Each subcommand is an experiment with the same name, flags and record
//! shape as in the other concept binaries; `serve` runs one server model on
//! its own. `main` only dispatches.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use conpar_coroutine as exp;
use harness::Common;
use harness::cli::{
    CpuArgs, EchoArgs, KitchenArgs, MemoryArgs, PlacementArgs, RequestsArgs, ServeArgs,
};

/// Async tasks (coroutines) as a concurrency model, measured on conpar's
/// shared workload.
///
/// Runtimes: tokio-current-thread (one thread by design), tokio-multi-thread,
/// smol (an Executor on N threads) and async-std (discontinued by its
/// maintainers, who point to smol; built with the default cargo feature
/// `async-std`). --cores N sizes every runtime and blocking pool to N.
///
/// Every experiment writes one JSON record per case (to --out, or to stdout
/// when it is not a terminal) and prints a table and its verdicts on stderr.
#[derive(Debug, Parser)]
#[command(name = "coroutine", version, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    experiment: Experiment,
}

#[derive(Debug, Subcommand)]
enum Experiment {
    /// Spawn a task with an empty body and await it, timed inside the runtime
    /// (C7, C10). Models: tokio-current-thread, tokio-multi-thread, smol,
    /// async-std (discontinued)
    Spawn {
        #[command(flatten)]
        common: Common,
    },
    /// One round trip of a 1-byte token between two tasks, on one executor
    /// thread and on two (C10). Models: <runtime> (its channels) and
    /// <runtime>-socketpair (readiness-driven) for tokio-current-thread,
    /// tokio-multi-thread, smol, async-std (discontinued)
    Pingpong {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: PlacementArgs,
    },
    /// Resident memory per parked task: the slope of RSS over N tasks, each
    /// counted at its first poll, parked on a timer or a channel, one fresh
    /// process per case (C10). Models: tokio-current-thread,
    /// tokio-multi-thread, smol, async-std (discontinued) [default --tasks 1000000]
    Memory {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: MemoryArgs,
        #[command(flatten)]
        park: exp::memory::ParkArgs,
    },
    /// Fixed CPU work split into tasks; speedup against one thread (C2, C3).
    /// Models: sequential, tokio-current-thread, tokio-multi-thread, smol,
    /// async-std (discontinued), tokio-spawn-blocking
    Cpu {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: CpuArgs,
    },
    /// The seed notes' kitchen: every order a task, prep on the CPU, cooking
    /// as an async sleep (C1, C4). Models: sequential, parallel-only,
    /// tokio-current-thread, tokio-multi-thread, smol, async-std (discontinued)
    Kitchen {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: KitchenArgs,
    },
    /// A 1 ms heartbeat task beside a task that sleeps asynchronously, through
    /// spawn_blocking, or blocks its thread: heartbeat lateness shows who was
    /// stalled (C6). Models: tokio-current-thread, tokio-multi-thread, smol,
    /// async-std (discontinued)
    Stall {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: exp::stall::StallArgs,
    },
    /// Echo load over loopback TCP at 1 to 10,000 connections against each
    /// async server (C12). Models: tokio-current-thread, tokio-multi-thread,
    /// smol, async-std (discontinued)
    Echo {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: EchoArgs,
    },
    /// N requests to a server that answers each after a delay, awaited one
    /// after another and as concurrent tasks (C5). Models: tokio-sequential,
    /// tokio-concurrent, smol-concurrent, async-std-concurrent (discontinued)
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
    /// One `memory` case in a fresh process (started by `memory` itself)
    #[command(name = "memory-child", hide = true)]
    MemoryChild(exp::memory::ChildArgs),
}

fn main() -> ExitCode {
    harness::run_main(run)
}

fn run() -> anyhow::Result<()> {
    match Cli::parse().experiment {
        Experiment::Spawn { common } => exp::spawn::run(&common),
        Experiment::Pingpong { common, args } => exp::pingpong::run(&common, &args),
        Experiment::Memory { common, args, park } => exp::memory::run(&common, &args, &park),
        Experiment::Cpu { common, args } => exp::cpu::run(&common, &args),
        Experiment::Kitchen { common, args } => exp::kitchen::run(&common, &args),
        Experiment::Stall { common, args } => exp::stall::run(&common, &args),
        Experiment::MemoryChild(args) => exp::memory::child(&args),
        Experiment::Echo { common, args } => exp::echo::run(&common, &args),
        Experiment::Requests { common, args } => exp::requests::run(&common, &args),
        Experiment::Serve { args } => exp::echo::serve(&args),
    }
}
