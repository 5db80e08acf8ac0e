//! A set of worker threads released together, timed from release to the last
//! join: what `cpu`, `gil` and `race` run their models on, so that models
//! differ only in how they share out the work, not in how threads start.
//!
//! Worker `w` is pinned to `cpus[w % cpus.len()]`. Left to itself, the
//! scheduler often starts two freshly woken workers on one CPU (wake-affine
//! placement) and moves one away only milliseconds later: a static split then
//! loses a whole block's worth of time, and two racing threads may never
//! overlap. Pinning makes the placement part of the experiment, not luck.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

use harness::cores::pin_round_robin;
use std::thread;
use std::time::{Duration, Instant};

const WAITING: u8 = 0;
const GO: u8 = 1;
const ABORT: u8 = 2;

/// The start line: workers check in, then wait for `go` (or `abort`, when a
/// later worker could not be created and the run must unwind without hanging).
///
/// When every worker has a CPU of its own, workers wait *spinning* (yielding
/// to anything else runnable on their CPU), so every CPU is awake at the
/// release: on a virtual machine a sleeping vCPU takes the hypervisor
/// milliseconds to wake now and then, and one late worker costs a static split
/// its whole block (seen on the 16-CPU machine: balanced static-split at 0.49
/// to 0.92 efficiency, run to run, with a blocking start line). With more
/// workers than CPUs, spinning would steal the CPUs the others need, so they
/// block on a condition variable instead. Check-ins wake the main thread only
/// once, when the last worker arrives: no thundering herd.
struct Gate {
    n: usize,
    spin: bool,
    arrived: AtomicUsize,
    state: AtomicU8,
    lock: Mutex<()>,
    all_arrived: Condvar,
    released: Condvar,
}

impl Gate {
    fn new(n: usize, spin: bool) -> Gate {
        Gate {
            n,
            spin,
            arrived: AtomicUsize::new(0),
            state: AtomicU8::new(WAITING),
            lock: Mutex::new(()),
            all_arrived: Condvar::new(),
            released: Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A worker checks in and waits; false means the run was aborted.
    fn arrive_and_wait(&self) -> bool {
        if self.arrived.fetch_add(1, Ordering::AcqRel) + 1 == self.n {
            let _held = self.lock();
            self.all_arrived.notify_one();
        }
        if self.spin {
            loop {
                match self.state.load(Ordering::Acquire) {
                    WAITING => thread::yield_now(),
                    s => return s == GO,
                }
            }
        }
        let mut held = self.lock();
        loop {
            match self.state.load(Ordering::Acquire) {
                WAITING => held = self.released.wait(held).unwrap_or_else(|e| e.into_inner()),
                s => return s == GO,
            }
        }
    }

    fn wait_for_all(&self) {
        let mut held = self.lock();
        while self.arrived.load(Ordering::Acquire) < self.n {
            held = self
                .all_arrived
                .wait(held)
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    fn release(&self, go: bool) {
        let _held = self.lock();
        self.state
            .store(if go { GO } else { ABORT }, Ordering::Release);
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
    let gate = Gate::new(n, !cpus.is_empty() && n <= cpus.len());
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
