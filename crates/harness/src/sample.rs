//! The timing loop: warm-up, then samples until the case's time is up.
//!
//! A sample is timed by the model itself around exactly the operation the
//! experiment names (setup stays outside), with [`Timer`]. It reads the CPU's
//! invariant time-stamp counter through `quanta` (calibrated against the
//! monotonic clock at start; about 10 ns a read) where the CPU has one, and
//! `CLOCK_MONOTONIC` otherwise (about 25 ns a read on a virtual machine, where
//! two reads per sample would already cost 50 ns).
//! [`overhead_ns`] measures what the harness adds to every sample, and every
//! record stores it, so a reader can tell a 40 ns operation from the clock.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::cli::Common;
use crate::hist;

static CLOCK: OnceLock<quanta::Clock> = OnceLock::new();

/// The process's clock (calibrated on first use; no background thread).
#[inline]
fn clock() -> &'static quanta::Clock {
    CLOCK.get_or_init(quanta::Clock::new)
}

/// A monotonic stopwatch for samples.
#[derive(Debug, Clone, Copy)]
pub struct Timer(u64);

impl Timer {
    /// Starts timing now.
    #[inline]
    pub fn start() -> Timer {
        Timer(clock().raw())
    }

    /// Nanoseconds since start.
    #[inline]
    pub fn ns(&self) -> u64 {
        let c = clock();
        c.delta_as_nanos(self.0, c.raw())
    }

    /// Time since start.
    #[inline]
    pub fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.ns())
    }
}

/// Calibrates the sample clock now, so the first timed sample does not pay for it.
pub fn init_clock() {
    clock();
}

/// How long a sampled case warms up and measures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Schedule {
    /// Untimed warm-up.
    pub warmup: Duration,
    /// Sampling time, after which sampling stops once `min_samples` are in.
    pub duration: Duration,
    /// Samples to take at least, however long they take.
    pub min_samples: u64,
    /// Samples to take at most, however short they are.
    pub max_samples: u64,
}

impl Schedule {
    /// The schedule of `--warmup-secs` and `--duration-secs`.
    pub fn from_common(c: &Common) -> Schedule {
        Schedule {
            warmup: Duration::from_secs_f64(c.warmup_secs),
            duration: Duration::from_secs_f64(c.duration_secs),
            min_samples: 10,
            max_samples: 50_000_000,
        }
    }

    /// The same schedule with other sample bounds.
    pub fn with_samples(mut self, min: u64, max: u64) -> Schedule {
        self.min_samples = min;
        self.max_samples = max.max(min);
        self
    }
}

/// What a sampling loop did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampled {
    /// Samples recorded.
    pub samples: u64,
    /// Wall time of the measuring phase (warm-up excluded).
    pub wall: Duration,
}

/// Warms up, then records samples into `h` until the schedule is done.
///
/// `sample` performs one operation and returns its duration in nanoseconds,
/// timed around exactly the operation; an error stops the loop and fails the case.
pub fn run_samples(
    schedule: &Schedule,
    h: &mut Histogram<u64>,
    mut sample: impl FnMut() -> anyhow::Result<u64>,
) -> anyhow::Result<Sampled> {
    let warm = Instant::now();
    while warm.elapsed() < schedule.warmup {
        sample()?;
    }
    let start = Instant::now();
    let mut n = 0u64;
    while n < schedule.max_samples
        && (n < schedule.min_samples || start.elapsed() < schedule.duration)
    {
        let ns = sample()?;
        hist::record(h, ns);
        n += 1;
    }
    Ok(Sampled {
        samples: n,
        wall: start.elapsed(),
    })
}

/// Mean cost, in nanoseconds, of what the harness adds to every sample: two
/// clock reads and one histogram record, measured over many iterations.
pub fn overhead_ns() -> f64 {
    const ITERS: u32 = 200_000;
    let mut h = hist::new();
    // Warm the clock and the histogram's buckets first.
    for _ in 0..10_000 {
        let t = Timer::start();
        hist::record(&mut h, t.ns());
    }
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let outer = Instant::now();
        for _ in 0..ITERS {
            let t = Timer::start();
            hist::record(&mut h, t.ns());
        }
        best = best.min(outer.elapsed().as_nanos() as f64 / f64::from(ITERS));
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn honours_min_and_max_samples() {
        let s = Schedule {
            warmup: Duration::ZERO,
            duration: Duration::ZERO,
            min_samples: 7,
            max_samples: 100,
        };
        let mut h = hist::new();
        let r = run_samples(&s, &mut h, || Ok(5)).unwrap();
        assert_eq!(r.samples, 7);
        assert_eq!(h.len(), 7);
        let s = Schedule {
            duration: Duration::from_secs(60),
            max_samples: 20,
            ..s
        };
        let mut h = hist::new();
        assert_eq!(run_samples(&s, &mut h, || Ok(5)).unwrap().samples, 20);
    }

    #[test]
    fn an_error_stops_the_loop() {
        let s = Schedule {
            warmup: Duration::ZERO,
            duration: Duration::from_secs(60),
            min_samples: 1,
            max_samples: 1000,
        };
        let mut h = hist::new();
        let mut left = 3;
        let r = run_samples(&s, &mut h, || {
            left -= 1;
            if left == 0 {
                anyhow::bail!("model broke")
            } else {
                Ok(1)
            }
        });
        assert!(r.unwrap_err().to_string().contains("model broke"));
    }

    #[test]
    fn overhead_self_check_runs() {
        let o = overhead_ns();
        assert!(o.is_finite() && o > 0.0);
    }
}
