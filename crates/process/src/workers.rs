//! A set of worker processes released together, timed from the release to
//! the last result: what `cpu` and `gil` run their models on, so that models
//! differ only in how they share out the work, not in how processes start.
//!
//! The workers are forked before the clock starts; each tells the parent it
//! is ready (one byte on its result pipe) and blocks reading the *go* pipe.
//! The parent closes its end of that pipe: end-of-file wakes every worker at
//! once (the kernel wakes all readers when the last writer goes away), which
//! is the process counterpart of the threads' condition-variable broadcast.
//! Each worker sends its result through its own pipe and exits; the clock
//! stops when the last result has arrived, and the workers are reaped after.
//! A worker that dies is noticed at once (its pipe ends early) and the error
//! names it and how it died; the others are killed and reaped.
//!
//! Worker `w` pins itself to `cpus[w % cpus.len()]`, as `thread`'s workers
//! do: left to itself, the scheduler often starts two freshly woken workers
//! on one CPU and moves one away only milliseconds later, and pinning makes
//! the placement part of the experiment, not luck.
//!
//! When every worker has a CPU of its own, workers wait at the start line
//! spinning on a flag in a shared page (yielding to anything else runnable on
//! their CPU) rather than sleeping in `read`, as `thread`'s workers do, so
//! every CPU is awake at the release: a sleeping vCPU of a virtual machine
//! sometimes takes the hypervisor milliseconds to wake, and one late worker
//! costs a static split its whole block. The go pipe still closes, for the
//! workers that block (more workers than CPUs).

use std::io::{Read, Write};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use harness::cores::pin_round_robin;
use workload::Checksum;

use crate::child::{
    Child, SingleThreaded, close_in_child, fork_child, gather, gather_bytes, pipe, send_words,
    wait_all,
};
use crate::shm::SharedCounter;

/// The byte a worker sends when it is at the start line.
const READY: u8 = b'R';

/// Forks `n` worker processes (pinned round-robin to `cpus`, if any) that
/// each compute `f(worker)` once released,
/// waits until all are ready, releases them together and times until the
/// last result arrives. Returns the results in worker order and that time.
///
/// Forking is outside the timed region, and so is reaping. Must be called
/// while the process is single-threaded.
pub fn timed_workers<const W: usize>(
    n: usize,
    cpus: &[usize],
    f: impl Fn(usize) -> [u64; W],
) -> anyhow::Result<(Vec<[u64; W]>, Duration)> {
    let proof = SingleThreaded::check()?;
    let (go_r, go_w) = pipe()?;
    let spin = !cpus.is_empty() && n <= cpus.len();
    let go_flag = SharedCounter::new()?;
    let mut children: Vec<Child> = Vec::with_capacity(n);
    let mut pipes = Vec::with_capacity(n);
    for w in 0..n {
        let (result_r, mut result_w) = pipe()?;
        let child = fork_child(&proof, "worker process", w, || {
            // The go pipe reports end-of-file only once every write end is closed.
            close_in_child(&go_w);
            // Best effort, as for threads: a CPU taken away meanwhile leaves the worker unpinned.
            let _ = pin_round_robin(cpus, w);
            result_w.write_all(&[READY])?;
            if spin {
                while go_flag.get().load(Ordering::Acquire) == 0 {
                    std::thread::yield_now();
                }
            } else {
                let mut b = [0u8; 1];
                anyhow::ensure!((&go_r).read(&mut b)? == 0, "unexpected byte on the go pipe");
            }
            send_words(&mut result_w, f(w))?;
            Ok(())
        })?;
        drop(result_w);
        children.push(child);
        pipes.push(result_r);
    }
    let ready = gather_bytes(&mut children, &pipes, 1)?;
    anyhow::ensure!(
        ready.iter().all(|r| r[..] == [READY]),
        "a worker process sent a bad ready byte"
    );
    let start = Instant::now();
    go_flag.get().store(1, Ordering::Release);
    drop(go_w);
    let results = gather::<W>(&mut children, &pipes)?;
    let elapsed = start.elapsed();
    wait_all(children)?;
    Ok((results, elapsed))
}

/// A checksum as a two-word message.
pub fn checksum_words(c: Checksum) -> [u64; 2] {
    [c.sum, c.count]
}

/// A checksum from a two-word message.
pub fn words_checksum(w: [u64; 2]) -> Checksum {
    Checksum {
        sum: w[0],
        count: w[1],
    }
}

/// Merges the workers' checksums.
pub fn merge_checksums(parts: Vec<[u64; 2]>) -> Checksum {
    parts
        .into_iter()
        .map(words_checksum)
        .fold(Checksum::default(), Checksum::merge)
}
