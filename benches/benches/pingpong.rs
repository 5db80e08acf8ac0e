//! `pingpong`: one round trip of a one-byte message between two units, both
//! on the first CPU of the set (the `same-cpu` placement of the `pingpong`
//! experiment), one `BenchmarkId` per model, grouped by concept
//! (`pingpong/process/pipe`, `pingpong/thread/condvar`, `pingpong/coroutine/smol`).
//!
//! It measures two hand-overs (wake-ups) per iteration; it is *not* a
//! throughput test of the channel (see `channel`). The cross-cpu placement is
//! left to the experiment: on a virtual machine its cost depends on whether
//! the other CPU is idle, which a micro-benchmark cannot hold still.
//!
//! Order: the process partners are forked first, while the process is
//! single-threaded; then the thread partners; the async models last
//! (async-std's threads live until the process ends).

use conpar_benches::{exactly, in_runtime, model_id, timed_block, total};
use conpar_coroutine::pingpong::{PingPong, spec_for};
use conpar_process::child::SingleThreaded;
use conpar_process::pingpong::Partner;
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId};
use harness::Placement;
use harness::cores::{pin_current_thread, set_affinity};
use nix::unistd::Pid;

fn main() {
    let cores = conpar_benches::setup();
    let cpu = cores.cpus[0];
    let mut c = conpar_benches::criterion();
    let mut g = conpar_benches::group(&mut c, "pingpong", "process");
    processes(&mut g, cpu);
    g.finish();
    let mut g = conpar_benches::group(&mut c, "pingpong", "thread");
    threads(&mut g, cpu);
    g.finish();
    let mut g = conpar_benches::group(&mut c, "pingpong", "coroutine");
    // The async models place their executor threads themselves; the main
    // thread, which only waits for the measuring task, gets the whole set
    // back, as in the experiment.
    set_affinity(Pid::from_raw(0), &cores.cpus).expect("cannot unpin the bench thread");
    coroutines(&mut g, cpu);
    g.finish();
    c.final_summary();
}

/// A forked partner process on `cpu`, through two pipes or a socketpair;
/// the bench thread on `cpu` too. Started when the bench first runs (so a
/// filtered-out model forks nothing), stopped and reaped after it.
fn processes(g: &mut BenchmarkGroup<'_, WallTime>, cpu: usize) {
    for &model in conpar_process::pingpong::MODELS {
        let mut partner: Option<Partner> = None;
        g.bench_function(BenchmarkId::from_parameter(model), |b| {
            let p = partner.get_or_insert_with(|| {
                pin_current_thread(cpu).expect("cannot pin the bench thread");
                let proof = SingleThreaded::check()
                    .expect("the process benches must run before any thread starts");
                Partner::start(&proof, model, cpu).expect("cannot fork the partner")
            });
            b.iter_custom(|iters| timed_block(iters, || p.round_trip().expect("round trip failed")))
        });
        if let Some(p) = partner {
            p.stop().expect("the partner process failed");
        }
    }
}

/// A partner thread on `cpu`, through pipes, a condition variable or
/// channels; the bench thread on `cpu` too.
fn threads(g: &mut BenchmarkGroup<'_, WallTime>, cpu: usize) {
    for &model in conpar_thread::pingpong::MODELS {
        let mut pair = None;
        g.bench_function(BenchmarkId::from_parameter(model), |b| {
            let p = pair.get_or_insert_with(|| {
                pin_current_thread(cpu).expect("cannot pin the bench thread");
                conpar_thread::pingpong::start(model, cpu).expect("cannot start the partner")
            });
            b.iter_custom(|iters| timed_block(iters, || p.round_trip().expect("round trip failed")))
        });
        drop(pair); // stops and joins the partner
    }
}

/// Two tasks on one executor thread pinned to `cpu`, through the runtime's
/// channels or a socketpair on its reactor, timed inside the measuring task
/// (the experiment's own `PingPong` job).
fn coroutines(g: &mut BenchmarkGroup<'_, WallTime>, cpu: usize) {
    for &model in conpar_coroutine::pingpong::MODELS {
        let spec = spec_for(model.kind(), &Placement::SameCpu(cpu));
        let socketpair = model.socketpair();
        g.bench_function(
            BenchmarkId::from_parameter(model_id(model.name(), model.kind().status())),
            |b| {
                b.iter_custom(|iters| {
                    let job = PingPong {
                        schedule: exactly(iters),
                        socketpair,
                    };
                    in_runtime(&spec, job, |x| total(&x.histogram))
                })
            },
        );
    }
}
