//! Contended increment: every allowed worker (`CONPAR_BENCH_CORES`) adds to
//! one shared counter, atomically or under a mutex — the synchronised models
//! of the `race` experiment. The figure is wall time per increment over all
//! workers (the experiment's `wall_ns_per_increment`).
//!
//! It does *not* bench the racy load-store model: losing updates is its point,
//! and its speed is not a cost anyone should pay.

use conpar_thread::race::{Increment, race};
use criterion::{BenchmarkId, Throughput};

/// Increments per worker per iteration: enough that starting and releasing
/// the workers is lost in the noise (at 10 000 it is not; from 100 000 on the
/// cost per increment is that of the experiment's default 1 000 000).
const PER_WORKER: u64 = 100_000;

fn main() {
    let cores = conpar_benches::setup();
    let workers = cores.workers.max(2);
    let mut c = conpar_benches::criterion();
    let mut g = conpar_benches::group(&mut c, "increment", "thread");
    g.throughput(Throughput::Elements(workers as u64 * PER_WORKER));
    for (name, how) in [
        ("fetch-add", Increment::FetchAdd),
        ("mutex", Increment::Mutex),
    ] {
        g.bench_function(
            BenchmarkId::from_parameter(format!("{name}/{workers}-threads")),
            |b| {
                b.iter_custom(|iters| {
                    (0..iters)
                        .map(|_| {
                            race(how, workers, &cores.cpus, PER_WORKER)
                                .expect("race failed")
                                .wall
                        })
                        .sum()
                })
            },
        );
    }
    g.finish();
    c.final_summary();
}
