//! What every server model must do, as checks that any crate's tests run
//! against its own models: echo exactly (messages larger than a socket
//! buffer included, so partial reads and writes happen), survive clients
//! that vanish mid-message, stop cleanly, and run on its own with `serve`.
//! Not used by the binaries.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use anyhow::Context as _;
use nix::sys::signal::{Signal, kill};
use nix::sys::socket::{setsockopt, sockopt};
use nix::unistd::Pid;
use workload::Message;

use loadgen::client::{self, LoadResult, LoadSpec};

use crate::server::{Server, ServerCtx, ServerModel, ServerStats};

/// A message far larger than loopback socket buffers: 8 MiB.
pub const LARGE_MESSAGE_BYTES: usize = 8 << 20;

/// How long a server may take to stop before a check fails.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// A context on a free port with `workers` workers on the allowed CPUs.
pub fn ctx(workers: usize) -> ServerCtx {
    ServerCtx {
        port: 0,
        workers,
        cpus: harness::cores::allowed_cpus().unwrap_or_default(),
    }
}

/// A short closed-loop run: no warm-up, a 30 ms window.
pub fn quick_spec(addr: SocketAddr, connections: usize, message_bytes: usize) -> LoadSpec {
    LoadSpec {
        message_bytes,
        warmup: Duration::ZERO,
        duration: Duration::from_millis(30),
        ..LoadSpec::closed(addr, connections)
    }
}

/// Stops `server`, failing if that takes longer than [`STOP_TIMEOUT`].
pub fn stop_within_timeout(server: Box<dyn Server>) -> anyhow::Result<ServerStats> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(server.stop());
    });
    rx.recv_timeout(STOP_TIMEOUT).map_err(|_| {
        anyhow::anyhow!(
            "the server did not stop within {} s",
            STOP_TIMEOUT.as_secs()
        )
    })?
}

/// The models of `models` that can run on this machine; each that cannot is
/// named on stderr with the reason, so a test run says what it skipped.
pub fn runnable(models: &'static [ServerModel]) -> Vec<&'static ServerModel> {
    models
        .iter()
        .filter(|m| match m.available() {
            Ok(()) => true,
            Err(u) => {
                eprintln!("{} skipped: {u}", m.name);
                false
            }
        })
        .collect()
}

/// Starts `model`, runs `connections` connections of `bytes`-byte messages
/// against it, stops it, and checks that every connection was answered and
/// the server echoed at least every byte the client verified.
pub fn echo_exactly(
    model: &ServerModel,
    workers: usize,
    connections: usize,
    bytes: usize,
) -> anyhow::Result<(LoadResult, ServerStats)> {
    let server = (model.start)(&ctx(workers))?;
    let spec = quick_spec(server.addr(), connections, bytes);
    let model = model.name;
    let result = client::run(&spec, &mut |_| {});
    let stats = stop_within_timeout(server)?;
    let result = result
        .with_context(|| format!("{model} with {connections} connection(s) of {bytes} bytes"))?;
    anyhow::ensure!(
        result.connections_served == connections as u64 && result.unanswered == 0,
        "{model}: {} of {connections} connections served, {} requests unanswered",
        result.connections_served,
        result.unanswered
    );
    anyhow::ensure!(
        result.bytes_verified >= (bytes * connections) as u64,
        "{model}: only {} bytes verified",
        result.bytes_verified
    );
    anyhow::ensure!(
        stats.bytes_echoed >= result.bytes_verified && stats.connections >= connections as u64,
        "{model}: the server counted {stats:?}, the client verified {} bytes",
        result.bytes_verified
    );
    Ok((result, stats))
}

/// Abandons three connections mid-message — half a header then close; a
/// large message written as far as the socket takes it, then close without
/// reading its echo; a message then a reset — and checks that the server
/// still echoes a new client exactly and stops.
pub fn survives_disconnects(model: &ServerModel, workers: usize) -> anyhow::Result<()> {
    let server = (model.start)(&ctx(workers))?;
    let model = model.name;
    let addr = server.addr();
    let result = (|| -> anyhow::Result<()> {
        let msg = Message::new(1, 64);
        let mut half = TcpStream::connect(addr)?;
        half.write_all(&msg.bytes()[..10])?;
        drop(half);

        let big = Message::new(2, LARGE_MESSAGE_BYTES);
        let unread = TcpStream::connect(addr)?;
        unread.set_nonblocking(true)?;
        let mut off = 0;
        while off < big.len() {
            match (&unread).write(&big.bytes()[off..]) {
                Ok(n) => off += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e.into()),
            }
        }
        drop(unread);

        let mut reset = TcpStream::connect(addr)?;
        reset.write_all(msg.bytes())?;
        setsockopt(
            &reset,
            sockopt::Linger,
            &nix::libc::linger {
                l_onoff: 1,
                l_linger: 0,
            },
        )?;
        drop(reset);

        let spec = quick_spec(addr, 1, 1000);
        let r =
            client::run(&spec, &mut |_| {}).context("a new client after three abandoned ones")?;
        anyhow::ensure!(
            r.connections_served == 1 && r.unanswered == 0,
            "the new client was not served"
        );
        Ok(())
    })();
    let stopped = stop_within_timeout(server);
    result.with_context(|| format!("{model} after clients vanished mid-message"))?;
    stopped.map(drop)
}

/// Runs `<binary> serve --model MODEL --port 0 --cores 1`, checks that it
/// prints an address that echoes, and that SIGTERM ends it cleanly (exit 0).
pub fn serve_answers(binary: &Path, model: &str) -> anyhow::Result<()> {
    let mut child = Command::new(binary)
        .args(["serve", "--model", model, "--port", "0", "--cores", "1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {}", binary.display()))?;
    let pid = Pid::from_raw(child.id() as i32);
    let mut out = BufReader::new(child.stdout.take().expect("piped"));
    let checked = (|| -> anyhow::Result<()> {
        let mut line = String::new();
        out.read_line(&mut line)?;
        let addr: SocketAddr = line
            .trim()
            .parse()
            .with_context(|| format!("serve printed {line:?}, not an address"))?;
        let r = client::run(&quick_spec(addr, 2, 100), &mut |_| {})?;
        anyhow::ensure!(
            r.connections_served == 2 && r.requests > 0,
            "serve did not answer"
        );
        Ok(())
    })();
    kill(pid, Signal::SIGTERM)?;
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let output = rx.recv_timeout(STOP_TIMEOUT).map_err(|_| {
        let _ = kill(pid, Signal::SIGKILL);
        anyhow::anyhow!(
            "serve did not stop within {} s of SIGTERM",
            STOP_TIMEOUT.as_secs()
        )
    })??;
    checked?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    anyhow::ensure!(
        output.status.success() && stderr.contains("stopped by SIGTERM"),
        "serve ended with {} and said: {stderr}",
        output.status
    );
    Ok(())
}
