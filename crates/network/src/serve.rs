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
use harness::usage_bail;
use loadgen::net::{block_stop_signals, check_port, wait_stop_signal};

use crate::server::{ServerCtx, ServerModel};

/// Runs `serve` for a binary whose server models are `models`.
pub fn run(binary: &str, models: &'static [ServerModel], args: &ServeArgs) -> anyhow::Result<()> {
    let Some(model) = models.iter().find(|m| m.name == args.model) else {
        let names: Vec<&str> = models.iter().map(|m| m.name).collect();
        usage_bail!(
            "--model {} is not a server model of `{binary}`; choose from: {}",
            args.model,
            names.join(", ")
        );
    };
    check_port(args.port)?;
    model.available()?;
    let cores = args.cpus.pin()?;
    let signals = block_stop_signals()?;
    let ctx = ServerCtx {
        port: args.port,
        workers: cores.workers,
        cpus: cores.cpus.clone(),
    };
    let server = (model.start)(&ctx)?;
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
