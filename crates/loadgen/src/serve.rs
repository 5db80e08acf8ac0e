//! `<binary> serve --model M --port P`: one server model on its own, so that
//! any load tool (or a `loadgen` in another process) can be pointed at it.
//! It prints its address on stdout, serves until SIGINT, SIGTERM or SIGHUP,
//! then stops cleanly (closes every connection, joins every thread) and
//! exits 0.
//!
//! The stop signals are blocked on the main thread before any server thread
//! exists, so every thread inherits the mask and the main thread alone
//! receives them, synchronously, with `sigwait`.

use std::io::Write as _;

use harness::cli::ServeArgs;
use harness::cores::CoreSet;
use harness::{UsageError, usage_bail};
use nix::sys::signal::{SigSet, Signal};

use crate::net;
use crate::server::{ServerCtx, StartFn};

/// Blocks SIGINT, SIGTERM and SIGHUP on the calling thread (and so on every
/// thread it starts afterwards) and returns the set to wait on.
pub fn block_stop_signals() -> anyhow::Result<SigSet> {
    let mut set = SigSet::empty();
    for s in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        set.add(s);
    }
    set.thread_block()
        .map_err(|e| anyhow::anyhow!("cannot block the stop signals: {e}"))?;
    Ok(set)
}

/// Waits for one of the signals of `set` (blocked beforehand).
pub fn wait_stop_signal(set: &SigSet) -> anyhow::Result<Signal> {
    set.wait()
        .map_err(|e| anyhow::anyhow!("cannot wait for a stop signal: {e}"))
}

/// Checks that `port` can be listened on, naming the flag if not.
pub fn check_port(port: u16) -> Result<(), UsageError> {
    if port == 0 {
        return Ok(());
    }
    net::bind_listener(port, false).map(drop).map_err(|e| {
        UsageError(format!(
            "--port {port}: cannot listen on 127.0.0.1:{port}: {e}"
        ))
    })
}

/// Runs `serve` for a binary whose server models are `models`.
pub fn run(binary: &str, models: &[&str], start: StartFn, args: &ServeArgs) -> anyhow::Result<()> {
    if !models.contains(&args.model.as_str()) {
        usage_bail!(
            "--model {} is not a server model of `{binary}`; choose from: {}",
            args.model,
            models.join(", ")
        );
    }
    check_port(args.port)?;
    let cores = CoreSet::pin(args.cores, args.oversubscribe)?;
    let signals = block_stop_signals()?;
    let ctx = ServerCtx {
        port: args.port,
        workers: cores.workers,
        cpus: cores.cpus.clone(),
    };
    let server = start(&args.model, &ctx)?;
    let addr = server.addr();
    println!("{addr}");
    std::io::stdout().flush()?;
    eprintln!(
        "{binary} serve: {} on {addr}, {} worker(s) on CPU(s) {}; stop it with Ctrl-C or SIGTERM",
        args.model,
        cores.workers,
        cores.cpu_list()
    );
    let sig = wait_stop_signal(&signals)?;
    let stats = server.stop()?;
    eprintln!(
        "{binary} serve: stopped by {sig} after {} connection(s) and {} echoed byte(s)",
        stats.connections, stats.bytes_echoed
    );
    Ok(())
}
