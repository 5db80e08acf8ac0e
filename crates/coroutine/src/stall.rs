//! `stall`: who is held up when a task blocks its thread (C6).
//!
//! Two tasks share a runtime. The heartbeat wants to tick every millisecond
//! on a fixed schedule (tick k is due at start + k ms) and records its
//! lateness, the actual minus the intended time of every tick, so a tick it
//! could not take while blocked is counted late rather than skipped. The
//! other task, the blocker, alternates `--block-ms` of one of three calls
//! with as long an async sleep:
//!
//! - `async-sleep`: the runtime's sleep: the thread is free meanwhile;
//! - `spawn-blocking`: `std::thread::sleep` on the blocking pool, awaited;
//! - `blocking-sleep`: `std::thread::sleep` right in the task: the executor
//!   thread is stuck, and so is every task queued on it.
//!
//! On a runtime with one executor thread (tokio current_thread always, the
//! others with `--cores 1`) the blocking sleep must stall the heartbeat by
//! about the blocked time; the case decides C6 from this run's numbers. With
//! more threads another worker may pick the heartbeat up; the numbers are
//! recorded, with no verdict. A runtime's timer sets the heartbeat's floor:
//! tokio's timer wheel ticks in whole milliseconds (and its driver's epoll
//! timeout rounds up), so a tokio heartbeat is about 1–2 ms late even when
//! nothing blocks; smol's and async-std's timers (async-io) are finer.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::ValueEnum;
use harness::claims::c6;
use harness::{Common, Outcome, Schedule, Session, Verdict, hist};
use hdrhistogram::Histogram;

use crate::rt::{self, Job, Kind, Rt, Spec};

/// The models of this experiment: the runtimes.
pub const MODELS: &[Kind] = Kind::ALL;
/// The heartbeat's period.
pub const TICK: Duration = Duration::from_millis(1);

/// What the blocker calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Blocker {
    /// The runtime's async sleep.
    AsyncSleep,
    /// `std::thread::sleep` on the blocking pool.
    SpawnBlocking,
    /// `std::thread::sleep` inside the task.
    BlockingSleep,
}

impl Blocker {
    /// Every blocker, in the order cases run (the deciding one last).
    pub const ALL: [Blocker; 3] = [
        Blocker::AsyncSleep,
        Blocker::SpawnBlocking,
        Blocker::BlockingSleep,
    ];

    /// The name in records.
    pub fn name(self) -> &'static str {
        match self {
            Blocker::AsyncSleep => "async-sleep",
            Blocker::SpawnBlocking => "spawn-blocking",
            Blocker::BlockingSleep => "blocking-sleep",
        }
    }
}

pub use harness::cli::StallArgs;

/// A heartbeat beside a blocker, for a schedule.
#[derive(Debug, Clone)]
pub struct Heartbeat {
    /// Warm-up (ticks not recorded) and measured time.
    pub schedule: Schedule,
    /// What the blocker calls.
    pub blocker: Blocker,
    /// How long each call takes.
    pub block: Duration,
}

/// What a stall case saw.
#[derive(Debug)]
pub struct Beats {
    /// Lateness of every recorded tick, nanoseconds.
    pub lateness: Histogram<u64>,
    /// Recorded ticks.
    pub ticks: u64,
    /// Measured time (warm-up excluded).
    pub wall: Duration,
    /// Calls the blocker made.
    pub blocks: u64,
}

async fn heartbeat<R: Rt>(
    rt: R,
    schedule: Schedule,
    stop: Arc<AtomicBool>,
) -> (Histogram<u64>, u64, Duration) {
    let start = Instant::now();
    let measure_from = start + schedule.warmup;
    let until = measure_from + schedule.duration.max(TICK);
    let mut h = hist::new();
    let mut ticks = 0u64;
    let mut k = 1u32;
    loop {
        let due = start + TICK * k;
        if due > until {
            break;
        }
        rt.sleep_until(due).await;
        let late = Instant::now().saturating_duration_since(due);
        if due >= measure_from {
            hist::record(&mut h, late.as_nanos() as u64);
            ticks += 1;
        }
        k += 1;
    }
    stop.store(true, Ordering::Release);
    (h, ticks, until.saturating_duration_since(measure_from))
}

async fn blocker<R: Rt>(
    rt: R,
    what: Blocker,
    block: Duration,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<u64> {
    let mut calls = 0u64;
    while !stop.load(Ordering::Acquire) {
        match what {
            Blocker::AsyncSleep => rt.sleep(block).await,
            Blocker::SpawnBlocking => rt.spawn_blocking(move || std::thread::sleep(block)).await?,
            Blocker::BlockingSleep => std::thread::sleep(block),
        }
        calls += 1;
        rt.sleep(block).await;
    }
    Ok(calls)
}

impl Job for Heartbeat {
    type Output = Beats;

    async fn run<R: Rt>(self, rt: R) -> anyhow::Result<Beats> {
        let stop = Arc::new(AtomicBool::new(false));
        let beat = rt.spawn(heartbeat(rt.clone(), self.schedule, Arc::clone(&stop)));
        let block = rt.spawn(blocker(rt.clone(), self.blocker, self.block, stop));
        let (lateness, ticks, wall) = beat.await?;
        let blocks = block.await??;
        Ok(Beats {
            lateness,
            ticks,
            wall,
            blocks,
        })
    }
}

/// Heartbeat tail of each blocker of one runtime, in the order they ran.
type Tails = Vec<(Blocker, c6::Tail)>;

/// The tail of `h` that its samples support (see `c6::tail_quantile`).
pub fn tail(h: &hdrhistogram::Histogram<u64>) -> c6::Tail {
    let q = c6::tail_quantile(h.len()).unwrap_or(0.5);
    c6::Tail {
        ns: h.value_at_quantile(q),
        quantile: q,
        samples: h.len(),
    }
}

/// `coroutine stall`.
pub fn run(common: &Common, args: &StallArgs) -> anyhow::Result<()> {
    let mut s = Session::start("coroutine", "stall", common)?;
    rt::prepare(&s)?;
    let models = s.select_models(MODELS)?;
    rt::note_discontinued(&s, models.iter().copied());
    let block = Duration::from_millis(args.block_ms);
    for rep in 0..common.reps {
        for &model in &models {
            let spec = Spec::spread(model, &s);
            let mut tails: Tails = Vec::new();
            for what in Blocker::ALL {
                let case = spec
                    .annotate(s.case(model.name(), what.name(), rep))
                    .param("blocker", what.name())
                    .param("block_ms", args.block_ms)
                    .param("tick_ns", TICK.as_nanos() as u64)
                    .param("clock", "inside-runtime");
                let beats = rt::run(
                    &spec,
                    Heartbeat {
                        schedule: s.schedule(),
                        blocker: what,
                        block,
                    },
                )?;
                anyhow::ensure!(beats.ticks > 0, "{model}: the heartbeat never ticked");
                let lateness = &beats.lateness;
                tails.push((what, tail(lateness)));
                let mut out = Outcome::new(beats.ticks)
                    .wall(beats.wall)
                    .figure("blocker_calls", beats.blocks as f64)
                    .figure(
                        "lateness_p99_over_block",
                        lateness.value_at_quantile(0.99) as f64 / block.as_nanos() as f64,
                    )
                    .histogram(beats.lateness);
                if what == Blocker::BlockingSleep {
                    let v = c6(&tails, block, spec.worker_threads(), model.name());
                    match v {
                        Some(v) if spec.worker_threads() == 1 => out = out.verdict(v),
                        Some(v) => s.note(&format!(
                            "no verdict on {} threads: {}",
                            spec.worker_threads(),
                            v.text
                        )),
                        None => {}
                    }
                }
                let r = case.finish(&s, out)?;
                s.emit(r)?;
            }
        }
    }
    s.finish()
}

/// C6 for one runtime from the heartbeat's tail beside each blocker, `None`
/// until all three ran.
pub fn c6(
    tails: &[(Blocker, c6::Tail)],
    block: Duration,
    threads: usize,
    model: &str,
) -> Option<Verdict> {
    let get = |b: Blocker| tails.iter().find(|p| p.0 == b).map(|p| p.1);
    let t = c6::Stall {
        blocking_sleep: get(Blocker::BlockingSleep)?,
        async_sleep: get(Blocker::AsyncSleep)?,
        spawn_blocking: get(Blocker::SpawnBlocking)?,
    };
    Some(c6::stall(t, block, threads, model))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c6_needs_all_three_blockers() {
        let block = Duration::from_millis(20);
        let t = |ns| c6::Tail {
            ns,
            quantile: 0.99,
            samples: 1000,
        };
        let p = [
            (Blocker::AsyncSleep, t(1_100_000)),
            (Blocker::SpawnBlocking, t(1_200_000)),
            (Blocker::BlockingSleep, t(19_000_000)),
        ];
        assert!(c6(&p, block, 1, "smol").unwrap().holds());
        assert!(c6(&p[..2], block, 1, "smol").is_none());
    }
}
