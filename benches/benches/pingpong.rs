//! `pingpong`: one round trip of a one-byte message between two units, both
//! pinned to the first CPU of the set (the `same-cpu` placement of the
//! `pingpong` experiment), one `BenchmarkId` per model.
//!
//! It measures two hand-overs (wake-ups) per iteration; it is *not* a
//! throughput test of the channel (see `channel`).

use conpar_benches::timed_block;
use criterion::BenchmarkId;

fn main() {
    let cores = conpar_benches::setup();
    let cpu = cores.cpus[0];
    harness::cores::pin_current_thread(cpu).expect("cannot pin the bench thread");
    let mut c = conpar_benches::criterion();
    let mut g = c.benchmark_group("pingpong");
    for &model in conpar_thread::pingpong::MODELS {
        let mut pair =
            conpar_thread::pingpong::start(model, cpu).expect("cannot start the partner");
        g.bench_function(BenchmarkId::new("thread", model), |b| {
            b.iter_custom(|iters| {
                timed_block(iters, || pair.round_trip().expect("round trip failed"))
            })
        });
    }
    g.finish();
    c.final_summary();
}
