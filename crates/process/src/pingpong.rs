//! `pingpong`: one round trip of a one-byte message between two processes.
//!
//! The parent sends a byte, the partner process (forked, pinned to its own
//! CPU) reads it and sends it back; a sample is the whole round trip, so it
//! contains two hand-overs. On one CPU every hand-over is a context switch
//! between two address spaces there; across two CPUs it is a cross-CPU
//! wake-up. `perf bench sched pipe` measures the same thing with two pipes.
//!
//! Models: `pipe` (two pipes, one per direction), `socketpair` (one Unix
//! stream socket pair, both directions).

use std::fs::File;
use std::io::{Read, Write};

use harness::cli::PlacementArgs;
use harness::cores::pin_current_thread;
use harness::{Common, Outcome, Session, Timer, hist, sample};
use nix::sys::socket::{AddressFamily, SockFlag, SockType, socketpair};

use crate::child::{Child, SingleThreaded, close_in_child, fork_child, pipe};

harness::models! {
    /// The models of this experiment.
    pub enum Model {
        /// Two pipes, one per direction.
        Pipe = "pipe",
        /// One Unix stream socket pair, both directions.
        Socketpair = "socketpair",
    }
}

/// The models of this experiment.
pub const MODELS: &[Model] = Model::ALL;

const PING: u8 = 1;

/// The parent's end of a partner process that echoes every byte; dropping it
/// kills the partner, [`Partner::stop`] ends it cleanly.
#[derive(Debug)]
pub struct Partner {
    to: File,
    from: File,
    child: Option<Child>,
}

/// The partner's loop: echo every byte until end-of-file.
fn echo(cpu: usize, mut rx: &File, mut tx: &File) -> anyhow::Result<()> {
    pin_current_thread(cpu)?;
    let mut b = [0u8; 1];
    loop {
        if rx.read(&mut b)? == 0 {
            return Ok(());
        }
        tx.write_all(&b)?;
    }
}

impl Partner {
    /// Forks the partner of `model`, which pins itself to CPU `cpu`. The
    /// caller pins itself to the other end's CPU.
    pub fn start(proof: &SingleThreaded, model: Model, cpu: usize) -> anyhow::Result<Partner> {
        match model {
            Model::Pipe => {
                let (ping_r, ping_w) = pipe()?;
                let (pong_r, pong_w) = pipe()?;
                let child = fork_child(proof, "pingpong partner", 0, || {
                    close_in_child(&ping_w); // so that the parent's close is end-of-file
                    echo(cpu, &ping_r, &pong_w)
                })?;
                Ok(Partner {
                    to: ping_w,
                    from: pong_r,
                    child: Some(child),
                })
            }
            Model::Socketpair => {
                let (ours, theirs) = socketpair(
                    AddressFamily::Unix,
                    SockType::Stream,
                    None,
                    SockFlag::SOCK_CLOEXEC,
                )
                .map_err(|e| anyhow::anyhow!("socketpair failed: {e}"))?;
                let (ours, theirs) = (File::from(ours), File::from(theirs));
                let child = fork_child(proof, "pingpong partner", 0, || {
                    close_in_child(&ours);
                    echo(cpu, &theirs, &theirs)
                })?;
                let from = ours.try_clone()?;
                Ok(Partner {
                    to: ours,
                    from,
                    child: Some(child),
                })
            }
        }
    }

    /// Sends one byte to the partner and waits for its reply.
    pub fn round_trip(&mut self) -> anyhow::Result<()> {
        let mut b = [PING];
        if let Err(e) = self
            .to
            .write_all(&b)
            .and_then(|()| self.from.read_exact(&mut b))
        {
            return Err(self.broken(e));
        }
        anyhow::ensure!(b[0] == PING, "the pingpong partner answered {}", b[0]);
        Ok(())
    }

    /// Ends the partner (end-of-file on its input) and reaps it.
    pub fn stop(mut self) -> anyhow::Result<()> {
        let child = self.child.take();
        drop(self);
        child.map_or(Ok(()), Child::wait)
    }

    /// Says why the partner stopped answering (it is reaped to find out).
    fn broken(&mut self, e: std::io::Error) -> anyhow::Error {
        match self.child.take().map(Child::wait) {
            Some(Err(why)) => why,
            _ => anyhow::anyhow!("the pingpong partner stopped answering: {e}"),
        }
    }
}

/// `process pingpong`.
pub fn run(common: &Common, args: &PlacementArgs) -> anyhow::Result<()> {
    let mut s = Session::start("process", "pingpong", common)?;
    let models = s.select_models(MODELS)?;
    let placements = s.placements(args.placement)?;
    for rep in 0..common.reps {
        for p in &placements {
            for &model in &models {
                pin_current_thread(p.a())?;
                let proof = SingleThreaded::check()?;
                let mut partner = Partner::start(&proof, model, p.b())?;
                let case = p
                    .annotate(s.case(model.name(), p.name(), rep))
                    .param("unit", "process");
                let mut h = hist::new();
                let done = sample::run_samples(&s.schedule(), &mut h, || {
                    let t = Timer::start();
                    partner.round_trip()?;
                    Ok(t.ns())
                })?;
                partner.stop()?;
                s.cores.repin_current_thread()?;
                let out = Outcome::round_trips(done, h);
                let r = case.finish(&s, out)?;
                s.emit(r)?;
            }
        }
    }
    s.finish()
}
