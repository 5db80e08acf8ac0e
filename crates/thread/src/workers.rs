//! A set of worker threads released together, timed from release to the last
//! join: what `cpu`, `gil` and `race` run their models on, so that models
//! differ only in how they share out the work, not in how threads start.
//!
//! Worker `w` is pinned to `cpus[w % cpus.len()]`. Left to itself, the
//! scheduler often starts two freshly woken workers on one CPU (wake-affine
//! placement) and moves one away only milliseconds later: a static split then
//! loses a whole block's worth of time, and two racing threads may never
//! overlap. Pinning makes the placement part of the experiment, not luck.

use std::sync::{Condvar, Mutex};

use harness::cores::pin_round_robin;
use std::thread;
use std::time::{Duration, Instant};

/// The start line: workers check in, then wait for `go` (or `abort`, when a
/// later worker could not be created and the run must unwind without hanging).
/// Check-ins wake the main thread only once, when the last worker arrives, so
/// starting thousands of workers costs no thundering herd.
struct Gate {
    n: usize,
    state: Mutex<(usize, Option<bool>)>, // (checked in, released: Some(go) or Some(abort=false))
    arrived: Condvar,
    released: Condvar,
}

impl Gate {
    fn new(n: usize) -> Gate {
        Gate {
            n,
            state: Mutex::new((0, None)),
            arrived: Condvar::new(),
            released: Condvar::new(),
        }
    }

    /// A worker checks in and waits; false means the run was aborted.
    fn arrive_and_wait(&self) -> bool {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.0 += 1;
        if s.0 == self.n {
            self.arrived.notify_one();
        }
        loop {
            if let Some(go) = s.1 {
                return go;
            }
            s = self.released.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn wait_for_all(&self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while s.0 < self.n {
            s = self.arrived.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn release(&self, go: bool) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.1 = Some(go);
        self.released.notify_all();
    }
}

/// Spawns `n` scoped threads, waits until all have started, then releases
/// them at once and times until the last one returns. Returns each worker's
/// result (in worker order) and the time from release to the last join.
///
/// Thread creation is outside the timed region; the release (one condition
/// variable broadcast) is inside it and costs microseconds. If a thread cannot
/// be created, the ones already waiting are released without running and the
/// error is returned.
pub fn timed_workers<T: Send>(
    n: usize,
    cpus: &[usize],
    f: impl Fn(usize) -> T + Sync,
) -> anyhow::Result<(Vec<T>, Duration)> {
    let gate = Gate::new(n);
    thread::scope(|s| {
        let mut handles = Vec::with_capacity(n);
        for w in 0..n {
            let (gate, f) = (&gate, &f);
            let spawned = thread::Builder::new()
                .name(format!("worker-{w}"))
                .spawn_scoped(s, move || {
                    // Best effort: a CPU taken away meanwhile leaves the worker unpinned.
                    let _ = pin_round_robin(cpus, w);
                    gate.arrive_and_wait().then(|| f(w))
                });
            match spawned {
                Ok(h) => handles.push(h),
                Err(e) => {
                    gate.release(false);
                    anyhow::bail!("cannot start worker thread {w} of {n}: {e}");
                }
            }
        }
        gate.wait_for_all();
        let start = Instant::now();
        gate.release(true);
        let mut out = Vec::with_capacity(n);
        for (w, h) in handles.into_iter().enumerate() {
            match h.join() {
                Ok(Some(v)) => out.push(v),
                Ok(None) => anyhow::bail!("worker thread {w} was not released"),
                Err(_) => anyhow::bail!("worker thread {w} panicked"),
            }
        }
        Ok((out, start.elapsed()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_worker_runs_once() {
        let (out, d) = timed_workers(4, &[], |w| w * 10).unwrap();
        assert_eq!(out, [0, 10, 20, 30]);
        assert!(d > Duration::ZERO);
    }

    #[test]
    fn workers_run_in_separate_threads() {
        let (ids, _) = timed_workers(3, &[], |_| thread::current().id()).unwrap();
        assert_ne!(ids[0], ids[1]);
        assert_ne!(ids[1], ids[2]);
    }

    #[test]
    fn workers_are_pinned_round_robin() {
        let cpus = harness::cores::allowed_cpus().unwrap();
        let (seen, _) = timed_workers(cpus.len() + 1, &cpus, |_| {
            harness::cores::current_cpu().unwrap()
        })
        .unwrap();
        for (w, cpu) in seen.into_iter().enumerate() {
            assert_eq!(cpu, cpus[w % cpus.len()]);
        }
    }

    #[test]
    fn a_panicking_worker_is_an_error() {
        let r = timed_workers(2, &[], |w| assert_ne!(w, 1, "boom"));
        assert!(r.unwrap_err().to_string().contains("panicked"));
    }
}
