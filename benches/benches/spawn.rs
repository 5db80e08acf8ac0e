//! `spawn`: create a unit, run an empty body, join or reap it — the operation
//! of the `spawn` experiment, one `BenchmarkId` per model.
//!
//! It measures creation, exit and join of a real unit; it is *not* the cost
//! of handing work to an existing pool.

use conpar_benches::self_timed;
use criterion::BenchmarkId;

fn main() {
    let _cores = conpar_benches::setup();
    let mut c = conpar_benches::criterion();
    let mut g = c.benchmark_group("spawn");
    g.bench_function(BenchmarkId::new("thread", "std-spawn"), |b| {
        b.iter_custom(|iters| self_timed(iters, conpar_thread::spawn::std_spawn_once))
    });
    g.bench_function(BenchmarkId::new("thread", "scoped-spawn"), |b| {
        b.iter_custom(|iters| self_timed(iters, conpar_thread::spawn::scoped_spawn_once))
    });
    g.finish();
    c.final_summary();
}
