//! `spawn`: the cost of creating a task, running an empty body and joining it.
//!
//! One sample is one `spawn` of a task whose body only returns a
//! `black_box`ed value, plus the `.await` of its handle until that value
//! arrives. It is timed from inside a task on the runtime (records say
//! `"clock": "inside-runtime"`), never from `block_on` on a foreign thread,
//! which would add the cross-thread wake-up of the waiting thread to every
//! sample. The task really exists: the runtime allocates it, queues it, polls
//! it and frees it.

use std::hint::black_box;

use harness::sample::Sampled;
use harness::{Common, Outcome, Schedule, Session, Timer, hist};
use hdrhistogram::Histogram;

use crate::rt::{self, Job, Kind, Rt, Spec};
use crate::sampling::Sampler;

/// The models of this experiment: the runtimes.
pub const MODELS: &[Kind] = Kind::ALL;

/// Spawns and awaits empty tasks for a schedule, timing each from inside the runtime.
#[derive(Debug, Clone)]
pub struct SpawnJoin {
    /// How long to sample.
    pub schedule: Schedule,
}

impl Job for SpawnJoin {
    type Output = (Histogram<u64>, Sampled);

    async fn run<R: Rt>(self, rt: R) -> anyhow::Result<Self::Output> {
        let mut h = hist::new();
        let mut sampler = Sampler::new(self.schedule);
        for keep in sampler.by_ref() {
            let t = Timer::start();
            let v = rt.spawn(async { black_box(1u64) }).await?;
            let ns = t.ns();
            anyhow::ensure!(v == 1, "the spawned task did not run its body");
            if keep {
                hist::record(&mut h, ns);
            }
        }
        Ok((h, sampler.done()))
    }
}

/// `coroutine spawn`.
pub fn run(common: &Common) -> anyhow::Result<()> {
    let mut s = Session::start("coroutine", "spawn", common)?;
    rt::prepare(&s)?;
    let models = s.select_models(MODELS)?;
    rt::note_discontinued(&s, models.iter().copied());
    for rep in 0..common.reps {
        for &kind in &models {
            let spec = Spec::spread(kind, &s);
            let case = spec
                .annotate(s.case(kind.name(), "", rep).param("unit", "coroutine"))
                .param("clock", "inside-runtime");
            let (h, done) = rt::run(
                &spec,
                SpawnJoin {
                    schedule: s.schedule(),
                },
            )?;
            let out = Outcome::sampled(done, h);
            let r = case.finish(&s, out)?;
            s.emit(r)?;
        }
    }
    s.finish()
}
