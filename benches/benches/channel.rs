//! Channel throughput: a batch of messages sent, then received, by one unit
//! on an unbounded channel — the cost of the channel itself, without any
//! wake-up (compare `pingpong`, which is all wake-ups). One `BenchmarkId` per
//! channel: `std::sync::mpsc` on a thread; tokio's `mpsc`, smol's
//! async-channel and async-std's (an older async-channel; async-std is
//! discontinued) each in a task on its own runtime, one executor thread
//! pinned to the first CPU, timed inside the task.
//!
//! No conpar experiment measures this alone: it is the floor under
//! `pingpong`'s channel models.

use std::hint::black_box;
use std::time::Duration;

use conpar_benches::{in_runtime, model_id};
use conpar_coroutine::rt::{Job, Kind, Rt, Spec};
use criterion::{BenchmarkId, Throughput};
use harness::Timer;

/// Messages per batch (one criterion iteration).
const BATCH: u64 = 1_000;

/// Which async channel a [`Batches`] job fills and drains.
#[derive(Debug, Clone, Copy)]
enum Chan {
    TokioMpsc,
    SmolChannel,
    AsyncStdChannel,
}

/// `iters` batches through one channel, timed inside a task on the runtime.
struct Batches {
    chan: Chan,
    iters: u64,
}

/// Fills and drains an unbounded async-channel `$iters` times, inside an
/// async fn returning `anyhow::Result` (smol and async-std each re-export
/// their own version of the crate); evaluates to (sum received, nanoseconds).
macro_rules! async_channel_batches {
    ($iters:expr, $($chan:ident)::+) => {{
        let (tx, rx) = $($chan::)+unbounded::<u64>();
        let mut sum = 0u64;
        let t = Timer::start();
        for _ in 0..$iters {
            for i in 0..BATCH {
                tx.send(i).await?;
            }
            for _ in 0..BATCH {
                sum += rx.recv().await?;
            }
        }
        (sum, t.ns())
    }};
}

impl Job for Batches {
    type Output = Duration;

    async fn run<R: Rt>(self, _rt: R) -> anyhow::Result<Duration> {
        let (sum, ns) = match self.chan {
            Chan::TokioMpsc => {
                let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
                let mut sum = 0u64;
                let t = Timer::start();
                for _ in 0..self.iters {
                    for i in 0..BATCH {
                        tx.send(i)?;
                    }
                    for _ in 0..BATCH {
                        sum += rx.recv().await.unwrap_or(0);
                    }
                }
                (sum, t.ns())
            }
            Chan::SmolChannel => async_channel_batches!(self.iters, smol::channel),
            Chan::AsyncStdChannel => async_channel_batches!(self.iters, async_std::channel),
        };
        anyhow::ensure!(
            black_box(sum) == self.iters * BATCH * (BATCH - 1) / 2,
            "messages were lost"
        );
        Ok(Duration::from_nanos(ns))
    }
}

fn main() {
    let cores = conpar_benches::setup();
    let cpu = cores.cpus[0];
    harness::cores::pin_current_thread(cpu).expect("cannot pin the bench thread");
    let mut c = conpar_benches::criterion();
    let mut g = conpar_benches::group(&mut c, "channel", "thread");
    g.throughput(Throughput::Elements(BATCH));
    g.bench_function("std-mpsc", |b| {
        let (tx, rx) = std::sync::mpsc::channel::<u64>();
        b.iter(|| {
            for i in 0..BATCH {
                tx.send(i).expect("send");
            }
            (0..BATCH).map(|_| rx.recv().expect("recv")).sum::<u64>()
        })
    });
    g.finish();
    let mut g = conpar_benches::group(&mut c, "channel", "coroutine");
    g.throughput(Throughput::Elements(BATCH));
    for (name, kind, chan) in [
        ("tokio-mpsc", Kind::TokioCurrentThread, Chan::TokioMpsc),
        ("smol-channel", Kind::Smol, Chan::SmolChannel),
        ("async-std-channel", Kind::AsyncStd, Chan::AsyncStdChannel),
    ] {
        let spec = Spec::new(kind, 1).pinned(vec![cpu]);
        g.bench_function(
            BenchmarkId::from_parameter(model_id(name, kind.status())),
            |b| b.iter_custom(|iters| in_runtime(&spec, Batches { chan, iters }, |d| *d)),
        );
    }
    g.finish();
    c.final_summary();
}
