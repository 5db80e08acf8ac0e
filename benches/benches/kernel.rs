//! The CPU kernel's unit: what every CPU experiment is made of (1024
//! dependent integer mixing steps; 3.5 µs on a 2-vCPU EPYC VM). The
//! calibration (`units_per_ms`, best of five trials) is the inverse of this
//! figure.

use criterion::Throughput;

fn main() {
    let cores = conpar_benches::setup();
    harness::cores::pin_current_thread(cores.cpus[0]).expect("cannot pin the bench thread");
    let mut c = conpar_benches::criterion();
    let mut g = conpar_benches::group(&mut c, "kernel", "workload");
    g.throughput(Throughput::Elements(1));
    g.bench_function("unit", |b| {
        let mut seed = 1u64;
        b.iter(|| {
            seed = workload::work(seed, 1);
            seed
        })
    });
    g.finish();
    c.final_summary();
}
