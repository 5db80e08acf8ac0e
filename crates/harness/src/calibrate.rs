//! Calibration: how many kernel units one core does per millisecond.
//!
//! Experiments state work in milliseconds of one core (the menu's prep steps,
//! `--work-ms`) and run it in kernel units; this is the conversion. It is
//! measured on the pinned CPUs, and the record keeps it (`units_per_ms`), so a
//! run can be repeated with exactly the same work via `--units-per-ms`.

use std::time::Instant;

use workload::work;

/// Milliseconds of work timed per trial.
const TRIAL_MS: f64 = 40.0;
/// Trials; the fastest is kept (slower ones were interrupted by something else).
const TRIALS: usize = 5;
/// Milliseconds of untimed work first, so an idle CPU has left its low
/// frequency (and a vCPU its halt) before the trials: on the 16-CPU machine a
/// cold start calibrated 175 units/ms against 210 warm, which made every
/// "millisecond" of work about a fifth too long.
const WARMUP_MS: f64 = 200.0;

/// Measures kernel units per millisecond on the calling thread's CPU.
pub fn units_per_ms() -> f64 {
    // A first guess from a short run, to size the trials.
    let mut units = 64u64;
    let guess = loop {
        let t = Instant::now();
        std::hint::black_box(work(1, units));
        let ms = t.elapsed().as_secs_f64() * 1e3;
        if ms > 2.0 {
            break units as f64 / ms;
        }
        units *= 2;
    };
    let warm = Instant::now();
    while warm.elapsed().as_secs_f64() * 1e3 < WARMUP_MS {
        std::hint::black_box(work(7, units));
    }
    let per_trial = (guess * TRIAL_MS).max(1.0) as u64;
    let mut best: f64 = 0.0;
    for i in 0..TRIALS {
        let t = Instant::now();
        std::hint::black_box(work(i as u64, per_trial));
        best = best.max(per_trial as f64 / (t.elapsed().as_secs_f64() * 1e3));
    }
    best
}
