//! `echo`: one request/response of 64 bytes over loopback TCP on one
//! connection, against every server model of the `echo` experiment, grouped
//! by binary (`echo/blocking-io/thread-per-connection`,
//! `echo/nonblocking-socket/epoll`, `echo/nonblocking-socket/io-uring`,
//! `echo/coroutine/tokio-current-thread`); a model the machine cannot run
//! (io_uring refused) is skipped with its reason on stderr.
//!
//! The server is the experiment's own (started through the crate's
//! `SERVERS`) with one worker; the client is the bench thread, a blocking
//! socket that sends one message of `workload::message` and verifies every
//! byte of its echo. Both run on the first CPU of the set, as `pingpong`'s
//! same-cpu placement does: a round trip is then two hand-overs on one CPU
//! plus the loopback stack, and holds still from run to run.
//!
//! It measures the latency floor of each server model at one connection; it
//! is *not* the experiment's question (how a model holds up under many
//! connections, client and server on their own CPUs), which needs the load
//! generator. Across two CPUs of a virtual machine a round trip costs
//! whatever waking the idle CPU costs (tens of microseconds, varying from run
//! to run), which a micro-benchmark cannot hold still.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use conpar_benches::{model_id, timed_block};
use criterion::BenchmarkId;
use harness::CoreSet;
use harness::cores::pin_current_thread;
use network::echo::EchoServers;
use network::server::{Server, ServerCtx};
use workload::Message;

/// Bytes of every request and of its echo (the experiment's default `--message-bytes`).
const MESSAGE_BYTES: usize = 64;

/// One connection of a blocking client that checks every echo.
struct Client {
    stream: TcpStream,
    msg: Message,
    echo: Vec<u8>,
    seq: u64,
}

impl Client {
    fn connect(addr: SocketAddr) -> anyhow::Result<Client> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        Ok(Client {
            stream,
            msg: Message::new(0, MESSAGE_BYTES),
            echo: vec![0; MESSAGE_BYTES],
            seq: 0,
        })
    }

    /// Sends the next request and reads and checks its echo.
    fn round_trip(&mut self) -> anyhow::Result<()> {
        self.seq += 1;
        self.msg.set_seq(self.seq);
        self.stream.write_all(self.msg.bytes())?;
        self.stream.read_exact(&mut self.echo)?;
        self.msg.check(0, &self.echo)?;
        Ok(())
    }

    /// Bytes echoed and verified so far.
    fn verified_bytes(&self) -> u64 {
        self.seq * MESSAGE_BYTES as u64
    }
}

fn main() {
    let cores = conpar_benches::pin_cores();
    let cpu = cores.cpus[0];
    // One worker: async-std's executor, sized once from the environment, too.
    let one = CoreSet {
        cpus: vec![cpu],
        workers: 1,
        allowed: cores.allowed.clone(),
    };
    conpar_coroutine::rt::prepare_cores(&one).expect("cannot size the async runtimes");
    // The server's threads inherit the mask of the thread that starts them.
    pin_current_thread(cpu).expect("cannot pin the bench thread");
    let ctx = ServerCtx {
        port: 0,
        workers: 1,
        cpus: vec![cpu],
    };
    let mut c = conpar_benches::criterion();
    let binaries: [&EchoServers; 3] = [
        &conpar_blocking_io::echo::SERVERS,
        &conpar_nonblocking_socket::echo::SERVERS,
        &conpar_coroutine::echo::SERVERS,
    ];
    for servers in binaries {
        let mut g = conpar_benches::group(&mut c, "echo", servers.binary);
        for row in servers.models {
            let model = row.name;
            if let Err(u) = row.available() {
                // io_uring refused here: the bench says so and goes on.
                eprintln!("echo/{}/{model} skipped: {u}", servers.binary);
                continue;
            }
            let id = BenchmarkId::from_parameter(model_id(model, row.status));
            let mut running: Option<(Box<dyn Server>, Client)> = None;
            g.bench_function(id, |b| {
                let (_, client) = running.get_or_insert_with(|| {
                    let server = (row.start)(&ctx).expect("cannot start the server");
                    let client = Client::connect(server.addr()).expect("cannot connect");
                    (server, client)
                });
                b.iter_custom(|iters| {
                    timed_block(iters, || client.round_trip().expect("round trip failed"))
                })
            });
            if let Some((server, client)) = running {
                let verified = client.verified_bytes();
                drop(client);
                let stats = server.stop().expect("the server did not stop cleanly");
                assert!(
                    stats.connections == 1 && stats.bytes_echoed >= verified,
                    "{model}: the server counted {stats:?}, the client verified {verified} bytes"
                );
            }
        }
        g.finish();
    }
    c.final_summary();
}
