//! The io_uring echo servers: `io-uring` (one ring on one thread) and
//! `io-uring-per-core` (one ring per `--cores` worker, each thread pinned to
//! its CPU with its own listener on the shared port, `SO_REUSEPORT`).
//!
//! A completion loop asks for the operations themselves instead of asking
//! which socket is ready:
//! - one **multishot accept** on the listener posts a completion for every
//!   connection the kernel accepts, until cancelled;
//! - one **multishot receive** per connection posts a completion for every
//!   arrival, each in a buffer the kernel took from the ring's
//!   **provided-buffer ring** ([`BufRing`](super::bufring::BufRing));
//! - the echo is a **send** straight from that buffer (no copy), which goes
//!   back to the pool when the send completes. One send per connection is in
//!   flight at a time, so echoes leave in the order they came;
//! - one `io_uring_enter` submits everything queued since the last and waits
//!   for at least one completion: the loop's only system call on the hot path.
//!
//! When the pool runs dry a multishot receive ends with `ENOBUFS`; the
//! connection is armed again as buffers come back (the data waits in the
//! socket meanwhile). Kernels without buffer rings or multishot receive
//! (before 6.0) take the **fallback**: a one-shot accept re-armed after each
//! connection, and per connection a one-shot receive into its own buffer,
//! the echo sent from it, then the next receive.
//!
//! Every operation in flight is counted; stopping cancels them all and waits
//! for each one's last completion before the ring and the buffers go, so the
//! kernel never touches memory that is gone. The rings are created with
//! `SINGLE_ISSUER` and `DEFER_TASKRUN` where the kernel has them (6.1):
//! completions are then produced only inside this thread's `io_uring_enter`,
//! in one batch.

use std::sync::{Arc, mpsc};
use std::thread;

use anyhow::Context as _;
use network::server::{Counters, Server, ServerCtx};
use nix::sys::eventfd::{EfdFlags, EventFd};

use super::completion::Loop;
use crate::echo::{LoopServer, listeners};

/// The name the io_uring loops give their wait in [`LoopStats`](network::LoopStats).
pub const IO_URING_ENTER: &str = "io_uring_enter";

/// Submission queue entries per ring; a fuller queue is submitted early.
pub const SQ_ENTRIES: u32 = 4096;
/// Completion queue entries per ring: room for a burst of every connection.
pub const CQ_ENTRIES: u32 = 16384;
/// Buffers in each ring's pool (a power of two).
pub const POOL_BUFFERS: u16 = 1024;
/// Bytes of each pooled buffer: 4 MiB of pool per ring.
pub const BUFFER_BYTES: u32 = 4096;

/// How a loop gets connections and their data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// Multishot accept and receive with the provided-buffer ring.
    Multishot,
    /// One-shot accept and receive, one buffer per connection.
    Fallback,
}

/// How many rings, and which path they take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rings {
    /// One ring per worker, pinned, with `SO_REUSEPORT` listeners.
    pub per_core: bool,
    /// `None`: the multishot path where the kernel has it, else the fallback.
    pub path: Option<Path>,
}

impl Rings {
    /// `io-uring`: one ring on one thread.
    pub const ONE: Rings = Rings {
        per_core: false,
        path: None,
    };
    /// `io-uring-per-core`: one ring per worker.
    pub const PER_CORE: Rings = Rings {
        per_core: true,
        path: None,
    };
}

/// Starts the loops `how` says; each builds its ring on its own thread and
/// says whether it could before this returns. An io_uring the machine
/// refuses is an [`Unavailable`](network::Unavailable) error.
pub fn start(how: Rings, ctx: &ServerCtx) -> anyhow::Result<Box<dyn Server>> {
    let loops = if how.per_core { ctx.workers.max(1) } else { 1 };
    let model = if how.per_core {
        "io-uring-per-core"
    } else {
        "io-uring"
    };
    let (addr, listeners) = listeners(ctx.port, how.per_core, loops)?;
    let counters = Counters::new();
    let mut server = LoopServer::new(addr, "an io_uring loop", &counters);
    let (ready_tx, ready) = mpsc::channel::<anyhow::Result<()>>();
    for (k, listener) in listeners.into_iter().enumerate() {
        let stop = Arc::new(EventFd::from_flags(
            EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK,
        )?);
        let theirs = Arc::clone(&stop);
        let cpu = (how.per_core && !ctx.cpus.is_empty()).then(|| ctx.cpus[k % ctx.cpus.len()]);
        let (counters, ready_tx) = (Arc::clone(&counters), ready_tx.clone());
        let h = thread::Builder::new()
            .name(format!("{model}-{k}"))
            .spawn(move || {
                if let Some(c) = cpu {
                    harness::cores::pin_current_thread(c)?;
                }
                match Loop::new(listener, theirs, how.path, counters) {
                    Ok(l) => {
                        let _ = ready_tx.send(Ok(()));
                        l.run()
                    }
                    // Reported through `ready`, to `start`.
                    Err(e) => ready_tx
                        .send(Err(e))
                        .map_err(|_| anyhow::anyhow!("start gave up")),
                }
            })
            .with_context(|| format!("cannot start io_uring loop {k}"))?;
        server.add(stop, h);
    }
    drop(ready_tx);
    // Every loop answers (or its thread ends, which closes the channel).
    let refused = ready.iter().take(loops).find_map(Result::err);
    if let Some(e) = refused {
        let _ = Box::new(server).stop();
        return Err(e.context(format!("{model}: cannot set up io_uring")));
    }
    Ok(Box::new(server))
}
