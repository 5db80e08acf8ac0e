//! Channel throughput: one message sent and received on the same thread, in
//! a loop — the cost of the channel itself, without any wake-up (compare
//! `pingpong`, which is all wake-ups).

use criterion::{BenchmarkId, Throughput};

/// Messages per batch.
const BATCH: u64 = 1_000;

fn main() {
    let cores = conpar_benches::setup();
    harness::cores::pin_current_thread(cores.cpus[0]).expect("cannot pin the bench thread");
    let mut c = conpar_benches::criterion();
    let mut g = c.benchmark_group("channel");
    g.throughput(Throughput::Elements(BATCH));
    g.bench_function(BenchmarkId::new("thread", "std-mpsc"), |b| {
        let (tx, rx) = std::sync::mpsc::channel::<u64>();
        b.iter(|| {
            for i in 0..BATCH {
                tx.send(i).expect("send");
            }
            (0..BATCH).map(|_| rx.recv().expect("recv")).sum::<u64>()
        })
    });
    g.finish();
    c.final_summary();
}
