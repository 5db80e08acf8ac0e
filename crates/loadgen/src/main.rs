//! `loadgen`: the far end of the wire, on its own.
//!
//! `loadgen echo --addr IP:PORT ...` drives echo load at a server and prints
//! JSON lines on stdout: a line per milestone (`{"event":"measuring"}`…),
//! then `{"result":{…}}`. The concept binaries run it as a child process for
//! their `echo` experiment; people can point it at any echo server.
//! `loadgen delay-server` runs the delay server of `requests` on its own.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use harness::cli::positive_ms;
use loadgen::child::ClientArgs;
use loadgen::delay::DelayServer;
use loadgen::{client, net};

/// The load generator and delay server of conpar's network experiments.
#[derive(Debug, Parser)]
#[command(name = "loadgen", version, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Drive echo load at a server: C connections, closed or open loop; every
    /// echoed byte verified; prints JSON lines (milestones, then the result)
    Echo {
        #[command(flatten)]
        args: ClientArgs,
    },
    /// Run the delay server: answer every request DELAY ms after it arrives;
    /// prints its address, serves until interrupted
    DelayServer {
        /// Milliseconds before each answer
        #[arg(long, allow_negative_numbers = true, value_name = "MS", default_value_t = 20.0, value_parser = positive_ms)]
        delay_ms: f64,
        /// Port on 127.0.0.1 (0 picks a free one)
        #[arg(
            long,
            allow_negative_numbers = true,
            value_name = "PORT",
            default_value_t = 0
        )]
        port: u16,
    },
}

fn main() -> ExitCode {
    harness::run_main(run)
}

fn run() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Echo { args } => echo(&args),
        Command::DelayServer { delay_ms, port } => delay_server(delay_ms, port),
    }
}

fn echo(args: &ClientArgs) -> anyhow::Result<()> {
    let spec = args.spec();
    spec.validate()?;
    if !spec.cpus.is_empty() {
        let allowed = harness::cores::allowed_cpus()?;
        if let Some(c) = spec.cpus.iter().find(|c| !allowed.contains(c)) {
            return Err(harness::UsageError(format!(
                "--cpus {}: CPU {c} is not one this process may run on ({})",
                harness::cores::format_cpu_list(&spec.cpus),
                harness::cores::format_cpu_list(&allowed)
            ))
            .into());
        }
        // The whole process, before any thread exists.
        harness::cores::set_affinity(nix::unistd::Pid::from_raw(0), &spec.cpus)?;
    }
    harness::limits::ensure_open_files(spec.connections as u64 + 64)
        .map_err(|e| harness::UsageError(format!("--connections {}: {}", spec.connections, e.0)))?;
    harness::limits::check_memory(
        (spec.connections * spec.message_bytes) as u64 * 2,
        &format!(
            "--connections {} of --message-bytes {}",
            spec.connections, spec.message_bytes
        ),
    )?;
    let mut out = std::io::stdout().lock();
    let mut print = |line: serde_json::Value| {
        // A reader that went away ends the run with an error below.
        let _ = writeln!(out, "{line}").and_then(|()| out.flush());
    };
    let result = client::run(&spec, &mut |e| {
        print(serde_json::json!({ "event": e }));
        if args.ack {
            // End of input (a parent gone) lets the run go on.
            let _ = std::io::stdin().read_line(&mut String::new());
        }
    })?;
    if result.connections_served < spec.connections as u64 {
        eprintln!(
            "loadgen: note: the server at {} answered {} of {} connections within the window",
            spec.addr, result.connections_served, spec.connections
        );
    }
    print(serde_json::json!({ "result": result.to_json()? }));
    Ok(())
}

fn delay_server(delay_ms: f64, port: u16) -> anyhow::Result<()> {
    net::check_port(port)?;
    let signals = net::block_stop_signals()?;
    let server = DelayServer::start(port, Duration::from_secs_f64(delay_ms / 1e3), &[])?;
    println!("{}", server.addr());
    std::io::stdout().flush()?;
    eprintln!(
        "loadgen delay-server: on {}, answering after {delay_ms} ms; stop it with Ctrl-C or SIGTERM",
        server.addr()
    );
    let sig = net::wait_stop_signal(&signals)?;
    let answered = server.stop()?;
    eprintln!("loadgen delay-server: stopped by {sig} after {answered} answer(s)");
    Ok(())
}
