//! `pingpong`: one round trip of a one-byte message between two threads.
//!
//! The main thread sends a byte, the partner thread receives it and sends one
//! back; a sample is the whole round trip, so it contains two hand-overs
//! (wake-ups of the other side). Both ends are pinned: on one CPU every
//! hand-over is a context switch there; across two CPUs it is a cross-CPU
//! wake-up, whose cost depends on whether the other CPU was idle.
//!
//! Models: `pipe` (two pipes, `read`/`write` system calls), `condvar`
//! (a mutex-protected turn flag and a condition variable, futex wake-ups),
//! `channel` (two `std::sync::mpsc` channels).

use std::fs::File;
use std::io::{Read, Write};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};

use harness::cli::PlacementArgs;
use harness::cores::pin_current_thread;
use harness::{Common, Outcome, Session, Timer, hist, sample};

harness::models! {
    /// The models of this experiment.
    pub enum Model {
        /// Two pipes, `read`/`write` system calls.
        Pipe = "pipe",
        /// A mutex-protected turn flag and a condition variable.
        Condvar = "condvar",
        /// Two `std::sync::mpsc` channels.
        Channel = "channel",
    }
}

/// The models of this experiment.
pub const MODELS: &[Model] = Model::ALL;

const PING: u8 = 1;
const STOP: u8 = 0;

/// Two ends exchanging one byte; dropping it stops and joins the partner.
pub trait PingPong {
    /// Sends one byte to the partner and waits for its reply.
    fn round_trip(&mut self) -> anyhow::Result<()>;
}

/// Starts the partner thread of `model`, pinned to CPU `partner_cpu`.
/// The caller pins itself to the other end's CPU.
pub fn start(model: Model, partner_cpu: usize) -> anyhow::Result<Box<dyn PingPong>> {
    Ok(match model {
        Model::Pipe => Box::new(PipePair::start(partner_cpu)?),
        Model::Condvar => Box::new(CondvarPair::start(partner_cpu)?),
        Model::Channel => Box::new(ChannelPair::start(partner_cpu)?),
    })
}

fn spawn_partner(
    cpu: usize,
    body: impl FnOnce() -> anyhow::Result<()> + Send + 'static,
) -> anyhow::Result<JoinHandle<anyhow::Result<()>>> {
    thread::Builder::new()
        .name("pingpong-partner".into())
        .spawn(move || {
            pin_current_thread(cpu)?;
            body()
        })
        .map_err(|e| anyhow::anyhow!("cannot start the partner thread: {e}"))
}

fn join_partner(h: Option<JoinHandle<anyhow::Result<()>>>) {
    if let Some(h) = h {
        let _ = h.join();
    }
}

/// Two pipes, one per direction.
pub struct PipePair {
    to_partner: File,
    from_partner: File,
    partner: Option<JoinHandle<anyhow::Result<()>>>,
}

impl PipePair {
    /// Creates the pipes and starts the partner on `cpu`.
    pub fn start(cpu: usize) -> anyhow::Result<PipePair> {
        let (ping_r, ping_w) =
            nix::unistd::pipe().map_err(|e| anyhow::anyhow!("pipe failed: {e}"))?;
        let (pong_r, pong_w) =
            nix::unistd::pipe().map_err(|e| anyhow::anyhow!("pipe failed: {e}"))?;
        let (mut rx, mut tx) = (File::from(ping_r), File::from(pong_w));
        let partner = spawn_partner(cpu, move || {
            let mut b = [0u8; 1];
            loop {
                rx.read_exact(&mut b)?;
                if b[0] == STOP {
                    return Ok(());
                }
                tx.write_all(&b)?;
            }
        })?;
        Ok(PipePair {
            to_partner: File::from(ping_w),
            from_partner: File::from(pong_r),
            partner: Some(partner),
        })
    }
}

impl PingPong for PipePair {
    fn round_trip(&mut self) -> anyhow::Result<()> {
        let mut b = [PING];
        self.to_partner.write_all(&b)?;
        self.from_partner.read_exact(&mut b)?;
        anyhow::ensure!(b[0] == PING, "pipe partner answered {}", b[0]);
        Ok(())
    }
}

impl Drop for PipePair {
    fn drop(&mut self) {
        let _ = self.to_partner.write_all(&[STOP]);
        join_partner(self.partner.take());
    }
}

/// A turn flag under a mutex, and a condition variable.
pub struct CondvarPair {
    shared: Arc<(Mutex<u8>, Condvar)>,
    partner: Option<JoinHandle<anyhow::Result<()>>>,
}

// Turn values: whose move it is.
const MAIN_TURN: u8 = 0;
const PARTNER_TURN: u8 = 1;
const STOPPED: u8 = 2;

impl CondvarPair {
    /// Starts the partner on `cpu`.
    pub fn start(cpu: usize) -> anyhow::Result<CondvarPair> {
        let shared = Arc::new((Mutex::new(MAIN_TURN), Condvar::new()));
        let theirs = Arc::clone(&shared);
        let partner = spawn_partner(cpu, move || {
            let (m, cv) = &*theirs;
            let mut turn = m.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
            loop {
                while *turn == MAIN_TURN {
                    turn = cv.wait(turn).map_err(|_| anyhow::anyhow!("poisoned"))?;
                }
                if *turn == STOPPED {
                    return Ok(());
                }
                *turn = MAIN_TURN;
                cv.notify_one();
            }
        })?;
        Ok(CondvarPair {
            shared,
            partner: Some(partner),
        })
    }
}

impl PingPong for CondvarPair {
    fn round_trip(&mut self) -> anyhow::Result<()> {
        let (m, cv) = &*self.shared;
        let mut turn = m.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        *turn = PARTNER_TURN;
        cv.notify_one();
        while *turn == PARTNER_TURN {
            turn = cv.wait(turn).map_err(|_| anyhow::anyhow!("poisoned"))?;
        }
        Ok(())
    }
}

impl Drop for CondvarPair {
    fn drop(&mut self) {
        let (m, cv) = &*self.shared;
        if let Ok(mut turn) = m.lock() {
            *turn = STOPPED;
            cv.notify_one();
        }
        join_partner(self.partner.take());
    }
}

/// Two `std::sync::mpsc` channels.
pub struct ChannelPair {
    to_partner: mpsc::Sender<u8>,
    from_partner: mpsc::Receiver<u8>,
    partner: Option<JoinHandle<anyhow::Result<()>>>,
}

impl ChannelPair {
    /// Starts the partner on `cpu`.
    pub fn start(cpu: usize) -> anyhow::Result<ChannelPair> {
        let (ping_tx, ping_rx) = mpsc::channel::<u8>();
        let (pong_tx, pong_rx) = mpsc::channel::<u8>();
        let partner = spawn_partner(cpu, move || {
            for b in ping_rx {
                if b == STOP {
                    break;
                }
                pong_tx.send(b)?;
            }
            Ok(())
        })?;
        Ok(ChannelPair {
            to_partner: ping_tx,
            from_partner: pong_rx,
            partner: Some(partner),
        })
    }
}

impl PingPong for ChannelPair {
    fn round_trip(&mut self) -> anyhow::Result<()> {
        self.to_partner.send(PING)?;
        let b = self.from_partner.recv()?;
        anyhow::ensure!(b == PING, "channel partner answered {b}");
        Ok(())
    }
}

impl Drop for ChannelPair {
    fn drop(&mut self) {
        let _ = self.to_partner.send(STOP);
        join_partner(self.partner.take());
    }
}

/// `thread pingpong`.
pub fn run(common: &Common, args: &PlacementArgs) -> anyhow::Result<()> {
    let mut s = Session::start("thread", "pingpong", common)?;
    let models = s.select_models(MODELS)?;
    let placements = s.placements(args.placement)?;
    for rep in 0..common.reps {
        for p in &placements {
            for &model in &models {
                pin_current_thread(p.a())?;
                let mut pair = start(model, p.b())?;
                let case = p
                    .annotate(s.case(model.name(), p.name(), rep))
                    .param("unit", "thread");
                let mut h = hist::new();
                let done = sample::run_samples(&s.schedule(), &mut h, || {
                    let t = Timer::start();
                    pair.round_trip()?;
                    Ok(t.ns())
                })?;
                drop(pair);
                s.cores.repin_current_thread()?;
                let out = Outcome::round_trips(done, h);
                let r = case.finish(&s, out)?;
                s.emit(r)?;
            }
        }
    }
    s.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_model_round_trips_and_stops() {
        let cpu = harness::cores::allowed_cpus().unwrap()[0];
        for &m in MODELS {
            let mut p = start(m, cpu).unwrap();
            for _ in 0..100 {
                p.round_trip().unwrap();
            }
            drop(p); // joins the partner: would hang if the stop message were lost
        }
    }
}
