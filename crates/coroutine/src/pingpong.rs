//! `pingpong`: one round trip of a one-byte token between two tasks.
//!
//! The measuring task (ping) sends a byte, the partner task (pong) receives it
//! and sends it back; a sample is the whole round trip, timed inside ping, so
//! it holds two hand-overs between tasks. With `--model <runtime>` the token
//! goes through the runtime's channels (tokio `mpsc`, async-channel for smol
//! and async-std), bounded to one slot each way: the waker of the other task
//! is called directly. With `--model <runtime>-socketpair` it goes through a
//! Unix socketpair registered with the runtime's reactor, so every hand-over
//! is a readiness event (epoll) as in a network server.
//!
//! Placement, as in `thread pingpong`:
//! - `same-cpu`: one executor thread, pinned to the first CPU: both tasks
//!   share it, every hand-over is a task switch with no thread switch.
//!   (async-std's thread count is fixed at start: all its threads are pinned
//!   to that CPU.)
//! - `cross-cpu`: two executor threads, pinned to the first two CPUs (tokio
//!   with `on_thread_start`, smol as its threads start, async-std by thread
//!   id). Where the two tasks run is then the scheduler's choice: tokio's LIFO
//!   slot tends to keep a ping-pong pair on one worker. The record counts the
//!   threads that ran either task (`worker_threads_seen`).
//!   `tokio-current-thread` is single-threaded by design and has no cross-cpu case.

use harness::cli::PlacementArgs;
use harness::sample::Sampled;
use harness::{Common, Outcome, Placement, Schedule, Session, Timer, hist};
use hdrhistogram::Histogram;

use crate::rt::{self, End, Job, Kind, Rt, Spec, ThreadsSeen};
use crate::sampling::Sampler;

harness::models! {
    /// The models of this experiment: each runtime through its channels,
    /// then through a socketpair.
    pub enum Model {
        /// tokio's current_thread runtime, through tokio `mpsc`.
        TokioCurrentThread = "tokio-current-thread",
        /// tokio's multi_thread runtime, through tokio `mpsc`.
        TokioMultiThread = "tokio-multi-thread",
        /// smol, through async-channel.
        Smol = "smol",
        /// async-std (discontinued), through async-channel.
        #[cfg(feature = "async-std")]
        AsyncStd = "async-std",
        /// tokio's current_thread runtime, through a socketpair.
        TokioCurrentThreadSocketpair = "tokio-current-thread-socketpair",
        /// tokio's multi_thread runtime, through a socketpair.
        TokioMultiThreadSocketpair = "tokio-multi-thread-socketpair",
        /// smol, through a socketpair.
        SmolSocketpair = "smol-socketpair",
        /// async-std (discontinued), through a socketpair.
        #[cfg(feature = "async-std")]
        AsyncStdSocketpair = "async-std-socketpair",
    }
}

/// The models of this experiment: each runtime through its channels, then through a socketpair.
pub const MODELS: &[Model] = Model::ALL;

impl Model {
    /// The runtime the model runs on.
    pub const fn kind(self) -> Kind {
        match self {
            Model::TokioCurrentThread | Model::TokioCurrentThreadSocketpair => {
                Kind::TokioCurrentThread
            }
            Model::TokioMultiThread | Model::TokioMultiThreadSocketpair => Kind::TokioMultiThread,
            Model::Smol | Model::SmolSocketpair => Kind::Smol,
            #[cfg(feature = "async-std")]
            Model::AsyncStd | Model::AsyncStdSocketpair => Kind::AsyncStd,
        }
    }

    /// True when the token goes through a socketpair, false through the
    /// runtime's channels.
    pub const fn socketpair(self) -> bool {
        match self {
            Model::TokioCurrentThread | Model::TokioMultiThread | Model::Smol => false,
            Model::TokioCurrentThreadSocketpair
            | Model::TokioMultiThreadSocketpair
            | Model::SmolSocketpair => true,
            #[cfg(feature = "async-std")]
            Model::AsyncStd => false,
            #[cfg(feature = "async-std")]
            Model::AsyncStdSocketpair => true,
        }
    }
}

const PING: u8 = 1;

/// Round trips through channels or a socketpair for a schedule.
#[derive(Debug, Clone)]
pub struct PingPong {
    /// How long to sample.
    pub schedule: Schedule,
    /// Through a socketpair rather than channels.
    pub socketpair: bool,
}

/// What a ping-pong case measured.
#[derive(Debug)]
pub struct Exchanged {
    /// Round-trip times.
    pub histogram: Histogram<u64>,
    /// Samples and wall time.
    pub sampled: Sampled,
    /// Distinct threads that ran either task.
    pub threads_seen: usize,
}

/// The partner: returns every byte until the link closes.
async fn pong<E: End>(mut end: E) -> anyhow::Result<ThreadsSeen> {
    let mut seen = ThreadsSeen::default();
    while let Some(b) = end.recv().await? {
        seen.note();
        end.send(b).await?;
    }
    Ok(seen)
}

/// The measuring side: round trips for the schedule, then closes the link.
async fn ping<R: Rt, E: End>(
    rt: &R,
    mut end: E,
    partner: E,
    schedule: Schedule,
) -> anyhow::Result<Exchanged> {
    let partner = rt.spawn(pong(partner));
    let mut h = hist::new();
    let mut seen = ThreadsSeen::default();
    let mut sampler = Sampler::new(schedule);
    for keep in sampler.by_ref() {
        let t = Timer::start();
        end.send(PING).await?;
        let b = end.recv().await?;
        let ns = t.ns();
        anyhow::ensure!(b == Some(PING), "the partner answered {b:?}");
        seen.note();
        if keep {
            hist::record(&mut h, ns);
        }
    }
    drop(end);
    seen.merge(&partner.await??);
    Ok(Exchanged {
        histogram: h,
        sampled: sampler.done(),
        threads_seen: seen.count(),
    })
}

impl Job for PingPong {
    type Output = Exchanged;

    async fn run<R: Rt>(self, rt: R) -> anyhow::Result<Exchanged> {
        if self.socketpair {
            let (a, b) = rt.socket_pair()?;
            ping(&rt, a, b, self.schedule).await
        } else {
            let (a, b) = rt.channel_pair();
            ping(&rt, a, b, self.schedule).await
        }
    }
}

/// The runtime of `model` placed as `p` asks.
pub fn spec_for(kind: Kind, p: &Placement) -> Spec {
    match p {
        Placement::SameCpu(c) => Spec::new(kind, 1).pinned(vec![*c]),
        Placement::CrossCpu(a, b) => Spec::new(kind, 2).pinned(vec![*a, *b]),
    }
}

/// `coroutine pingpong`.
pub fn run(common: &Common, args: &PlacementArgs) -> anyhow::Result<()> {
    let mut s = Session::start("coroutine", "pingpong", common)?;
    rt::prepare(&s)?;
    let models = s.select_models(MODELS)?;
    rt::note_discontinued(&s, models.iter().map(|m| m.kind()));
    let placements = s.placements(args.placement)?;
    if placements
        .iter()
        .any(|p| matches!(p, Placement::CrossCpu(..)))
        && models.iter().any(|m| m.kind() == Kind::TokioCurrentThread)
    {
        s.note("tokio-current-thread has one thread by design: it runs same-cpu only");
    }
    for rep in 0..common.reps {
        for p in &placements {
            for &model in &models {
                let kind = model.kind();
                if kind.single_threaded() && matches!(p, Placement::CrossCpu(..)) {
                    continue;
                }
                let socketpair = model.socketpair();
                let spec = spec_for(kind, p);
                let case = p
                    .annotate(
                        spec.annotate(
                            s.case(model.name(), p.name(), rep)
                                .param("unit", "coroutine"),
                        ),
                    )
                    .param("link", if socketpair { "socketpair" } else { "channel" })
                    .param("clock", "inside-runtime");
                let x = rt::run(
                    &spec,
                    PingPong {
                        schedule: s.schedule(),
                        socketpair,
                    },
                )?;
                let out = Outcome::round_trips(x.sampled, x.histogram)
                    .figure("worker_threads_seen", x.threads_seen as f64);
                let r = case.finish(&s, out)?;
                s.emit(r)?;
            }
        }
    }
    s.finish()
}
