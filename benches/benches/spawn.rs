//! `spawn`: create a unit, run an empty body, join or reap it — the operation
//! of the `spawn` experiment, one `BenchmarkId` per model, grouped by concept
//! (`spawn/process/fork-exit`, `spawn/thread/std-spawn`, `spawn/coroutine/smol`).
//!
//! It measures creation, exit and join (or reap: `waitpid` is part of a
//! process's life, as in `process spawn`) of a real unit; it is *not* the cost
//! of handing work to an existing pool.
//!
//! Order matters: `fork` is only sound in a single-threaded process, so the
//! process models run first, before any thread or runtime exists (criterion
//! itself, built without its `rayon` feature, starts no thread; every sample
//! checks it again through `SingleThreaded::check`). async-std's executor
//! threads, once started, live until the process ends, so the async models
//! run last.

use std::ffi::CString;

use conpar_benches::{exactly, in_runtime, model_id, self_timed, total};
use conpar_coroutine::rt::Spec;
use conpar_coroutine::spawn::SpawnJoin;
use conpar_process::child::SingleThreaded;
use conpar_process::spawn::{
    Programs, TRUE_PATH, command_once, fork_exec_once, fork_exit_once, posix_spawn_once,
};
use criterion::BenchmarkGroup;
use criterion::measurement::WallTime;
use harness::CoreSet;

fn main() {
    let cores = conpar_benches::setup();
    let mut c = conpar_benches::criterion();
    let mut g = conpar_benches::group(&mut c, "spawn", "process");
    processes(&mut g);
    g.finish();
    let mut g = conpar_benches::group(&mut c, "spawn", "thread");
    threads(&mut g);
    g.finish();
    let mut g = conpar_benches::group(&mut c, "spawn", "coroutine");
    coroutines(&mut g, &cores);
    g.finish();
    c.final_summary();
}

/// Proof that the process is single-threaded, made right before forking.
fn single_threaded() -> SingleThreaded {
    SingleThreaded::check().expect("the process benches must run before any thread starts")
}

/// `fork` + `_exit`, `fork` + exec of `/bin/true`, `posix_spawn`, `Command`;
/// each reaped inside the sample.
fn processes(g: &mut BenchmarkGroup<'_, WallTime>) {
    let programs = Programs::new().expect("cannot prepare the exec models");
    let true_path = CString::new(TRUE_PATH).expect("a path without NUL");
    let true_argv = [CString::new("true").expect("no NUL")];
    g.bench_function("fork-exit", |b| {
        b.iter_custom(|iters| {
            let proof = single_threaded();
            self_timed(iters, || fork_exit_once(&proof))
        })
    });
    g.bench_function("fork-exec-true", |b| {
        b.iter_custom(|iters| {
            let proof = single_threaded();
            self_timed(iters, || fork_exec_once(&proof, &true_path, &true_argv))
        })
    });
    g.bench_function("posix-spawn", |b| {
        b.iter_custom(|iters| self_timed(iters, || posix_spawn_once(&programs)))
    });
    g.bench_function("command", |b| {
        b.iter_custom(|iters| self_timed(iters, command_once))
    });
}

/// `std::thread` and scoped-thread spawn + join.
fn threads(g: &mut BenchmarkGroup<'_, WallTime>) {
    g.bench_function("std-spawn", |b| {
        b.iter_custom(|iters| self_timed(iters, conpar_thread::spawn::std_spawn_once))
    });
    g.bench_function("scoped-spawn", |b| {
        b.iter_custom(|iters| self_timed(iters, conpar_thread::spawn::scoped_spawn_once))
    });
}

/// A task spawned and awaited from inside a task on each runtime, sized and
/// pinned as `coroutine spawn` sizes them (N executor threads, thread i on
/// the i-th CPU).
fn coroutines(g: &mut BenchmarkGroup<'_, WallTime>, cores: &CoreSet) {
    for &kind in conpar_coroutine::spawn::MODELS {
        let spec = Spec::new(kind, cores.workers).pinned(cores.cpus.clone());
        g.bench_function(model_id(kind.name(), kind.status()), |b| {
            b.iter_custom(|iters| {
                let job = SpawnJoin {
                    schedule: exactly(iters),
                };
                in_runtime(&spec, job, |(h, _)| total(h))
            })
        });
    }
}
