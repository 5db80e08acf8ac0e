//! The timing loop of `harness::sample::run_samples`, as a state machine an
//! `async` loop can drive: a task cannot hand an `.await` to a synchronous
//! closure, so it asks the [`Sampler`] (an iterator) whether to take another sample and
//! whether that sample counts (warm-up samples do not), and times the sample
//! itself with `harness::Timer`.

use std::time::Instant;

use harness::Schedule;
use harness::sample::Sampled;

/// Warm-up, then samples until the schedule is done.
#[derive(Debug)]
pub struct Sampler {
    schedule: Schedule,
    warm_start: Instant,
    measure_start: Option<Instant>,
    samples: u64,
}

impl Sampler {
    /// Starts the warm-up now.
    pub fn new(schedule: Schedule) -> Sampler {
        Sampler {
            schedule,
            warm_start: Instant::now(),
            measure_start: None,
            samples: 0,
        }
    }

    /// What was sampled: the count and the wall time of the measuring phase.
    pub fn done(&self) -> Sampled {
        Sampled {
            samples: self.samples,
            wall: self.measure_start.map(|s| s.elapsed()).unwrap_or_default(),
        }
    }
}

/// Each item is one sample to take: `false` during the warm-up (do not
/// record it), `true` after; the iterator ends when the schedule is done.
impl Iterator for Sampler {
    type Item = bool;

    fn next(&mut self) -> Option<bool> {
        let start = match self.measure_start {
            Some(s) => s,
            None if self.warm_start.elapsed() < self.schedule.warmup => return Some(false),
            None => *self.measure_start.insert(Instant::now()),
        };
        let more = self.samples < self.schedule.max_samples
            && (self.samples < self.schedule.min_samples
                || start.elapsed() < self.schedule.duration);
        if more {
            self.samples += 1;
        }
        more.then_some(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn honours_warmup_and_sample_bounds() {
        let schedule = Schedule {
            warmup: Duration::from_millis(5),
            duration: Duration::ZERO,
            min_samples: 7,
            max_samples: 100,
        };
        let mut s = Sampler::new(schedule);
        let (mut warm, mut kept) = (0, 0);
        for keep in s.by_ref() {
            if keep { kept += 1 } else { warm += 1 }
        }
        assert!(warm > 0, "the warm-up took samples");
        assert_eq!(kept, 7);
        assert_eq!(s.done().samples, 7);
        let schedule = Schedule {
            warmup: Duration::ZERO,
            duration: Duration::from_secs(60),
            ..schedule.with_samples(1, 20)
        };
        let mut s = Sampler::new(schedule);
        s.by_ref().for_each(drop);
        assert_eq!(s.done().samples, 20);
    }
}
