//! `wouldblock`: a read of a socket with no data, blocking and non-blocking
//! (C6). The non-blocking read returns `EWOULDBLOCK` at once — the caller
//! keeps its thread and can do other work — while the blocking read of the
//! same kind of socket waits until the peer sends, `--wait-ms` later.
//!
//! A sample is one `read` call, timed around exactly that call.
//!
//! Models:
//! - `nonblocking-read`: `O_NONBLOCK` socket, nothing sent: every call must
//!   return `EWOULDBLOCK` (counted; anything else fails the run).
//! - `blocking-read`: the peer thread sends one byte `--wait-ms` after being
//!   told to; the read waits for it (the byte is checked).

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use harness::claims::c6;
use harness::cli::positive_ms;
use harness::{Common, Outcome, Session, Timer, Verdict, hist, sample};

harness::models! {
    /// The models of this experiment.
    pub enum Model {
        /// `O_NONBLOCK` socket, nothing sent: every call returns `EWOULDBLOCK`.
        NonblockingRead = "nonblocking-read",
        /// The read waits for the byte the peer sends `--wait-ms` later.
        BlockingRead = "blocking-read",
    }
}

/// The models of this experiment.
pub const MODELS: &[Model] = Model::ALL;

/// Flags of `wouldblock`.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Workload")]
pub struct WouldblockArgs {
    /// Milliseconds the peer waits before sending to the blocking reader
    #[arg(long, allow_negative_numbers = true, value_name = "MS", default_value_t = 10.0, value_parser = positive_ms)]
    pub wait_ms: f64,
}

/// A connected loopback TCP pair: (the reader's end, the peer's end).
pub fn connected_pair() -> anyhow::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot listen on loopback")?;
    let reader = TcpStream::connect(listener.local_addr()?)?;
    let (peer, _) = listener.accept()?;
    reader.set_nodelay(true)?;
    peer.set_nodelay(true)?;
    Ok((reader, peer))
}

/// One non-blocking read of an empty socket: returns the nanoseconds it took,
/// failing unless it returned `EWOULDBLOCK`.
pub fn nonblocking_read(s: &mut TcpStream, buf: &mut [u8]) -> anyhow::Result<u64> {
    let t = Timer::start();
    let r = s.read(buf);
    let ns = t.ns();
    match r {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(ns),
        Ok(n) => anyhow::bail!("a non-blocking read of an empty socket returned {n} bytes"),
        Err(e) => {
            Err(e).context("a non-blocking read failed with something other than EWOULDBLOCK")
        }
    }
}

/// A peer that sends one byte `wait` after each request, until dropped.
pub struct LatePeer {
    go: Option<mpsc::Sender<u8>>,
    thread: Option<thread::JoinHandle<anyhow::Result<()>>>,
}

impl LatePeer {
    /// Starts the peer on its end of the pair.
    pub fn start(mut peer: TcpStream, wait: Duration) -> anyhow::Result<LatePeer> {
        let (go, rx) = mpsc::channel::<u8>();
        let thread = thread::Builder::new()
            .name("late-peer".into())
            .spawn(move || {
                for b in rx {
                    thread::sleep(wait);
                    peer.write_all(&[b])?;
                }
                Ok(())
            })
            .context("cannot start the peer thread")?;
        Ok(LatePeer {
            go: Some(go),
            thread: Some(thread),
        })
    }

    /// Asks for byte `b` and reads it with a blocking read; returns the
    /// nanoseconds the read waited.
    pub fn blocking_read(&self, s: &mut TcpStream, b: u8) -> anyhow::Result<u64> {
        self.go
            .as_ref()
            .expect("live until dropped")
            .send(b)
            .map_err(|_| anyhow::anyhow!("the peer thread has stopped"))?;
        let mut got = [0u8; 1];
        let t = Timer::start();
        s.read_exact(&mut got).context("the blocking read failed")?;
        let ns = t.ns();
        anyhow::ensure!(
            got[0] == b,
            "the blocking read got byte {} instead of {b}",
            got[0]
        );
        Ok(ns)
    }
}

impl Drop for LatePeer {
    fn drop(&mut self) {
        drop(self.go.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// `nonblocking-socket wouldblock`.
pub fn run(common: &Common, args: &WouldblockArgs) -> anyhow::Result<()> {
    let mut s = Session::start("nonblocking-socket", "wouldblock", common)?;
    let models = s.select_models(MODELS)?;
    let wait = Duration::from_secs_f64(args.wait_ms / 1e3);
    for rep in 0..common.reps {
        let mut p: Vec<(Model, u64, c6::Tail)> = Vec::new();
        for (i, &model) in models.iter().enumerate() {
            let (mut reader, peer) = connected_pair()?;
            let mut h = hist::new();
            let case = s.case(model.name(), "", rep).param("wait_ms", args.wait_ms);
            let done = match model {
                Model::NonblockingRead => {
                    reader.set_nonblocking(true)?;
                    let mut buf = [0u8; 64];
                    sample::run_samples(&s.schedule(), &mut h, || {
                        nonblocking_read(&mut reader, &mut buf)
                    })?
                }
                Model::BlockingRead => {
                    let late = LatePeer::start(peer.try_clone()?, wait)?;
                    let mut b = 0u8;
                    // Every sample waits for the peer: no warm-up, at least 10 samples.
                    let mut schedule = s.schedule().with_samples(10, 1_000_000);
                    schedule.warmup = Duration::ZERO;
                    sample::run_samples(&schedule, &mut h, || {
                        b = b.wrapping_add(1);
                        late.blocking_read(&mut reader, b)
                    })?
                }
            };
            drop(peer);
            let q = c6::tail_quantile(h.len()).unwrap_or(0.5);
            let tail = c6::Tail {
                ns: h.value_at_quantile(q),
                quantile: q,
                samples: h.len(),
            };
            p.push((model, h.value_at_quantile(0.5), tail));
            let mut out = Outcome::new(done.samples)
                .wall(done.wall)
                .figure("wait_ms", args.wait_ms);
            if model == Model::NonblockingRead {
                out = out.figure("returned_wouldblock", done.samples as f64);
            }
            out = out.histogram(h);
            if i + 1 == models.len()
                && let Some(v) = c6(&p, args.wait_ms)
            {
                out = out.verdict(v);
            }
            let r = case.finish(&s, out)?;
            s.emit(r)?;
        }
    }
    s.finish()
}

/// C6 from the reads of one repetition (`(model, p50, tail)`), `None` until both ran.
pub fn c6(p: &[(Model, u64, c6::Tail)], wait_ms: f64) -> Option<Verdict> {
    let read = |m: Model| p.iter().find(|r| r.0 == m);
    let nb = read(Model::NonblockingRead)?;
    let b = read(Model::BlockingRead)?;
    Some(c6::wouldblock(nb.2, nb.1, b.1, wait_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ns: u64) -> c6::Tail {
        c6::Tail {
            ns,
            quantile: 0.99,
            samples: 1000,
        }
    }

    #[test]
    fn c6_compares_both_reads() {
        let p = [
            (Model::NonblockingRead, 900, t(3_000)),
            (Model::BlockingRead, 10_100_000, t(10_400_000)),
        ];
        let v = c6(&p, 10.0).unwrap();
        assert!(v.holds(), "{}", v.text);
        let p = [
            (Model::NonblockingRead, 900, t(3_000)),
            (Model::BlockingRead, 2_000, t(4_000)),
        ];
        assert!(!c6(&p, 10.0).unwrap().holds());
        assert!(c6(&p[..1], 10.0).is_none());
    }
}
