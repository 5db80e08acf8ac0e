//! `memory`: resident memory per idle thread.
//!
//! N threads are started in steps; each parks on a read lock that the main
//! thread holds for writing. After each step, once every thread has checked
//! in, the process's resident memory (`VmRSS`) and the kernel's stack memory
//! (`KernelStack` in `/proc/meminfo`, which RSS does not show) are read. The
//! slope of a least-squares line through those points is the memory one more
//! thread costs. Threads get the default stack size (2 MiB of address space,
//! of which only the touched pages are resident).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::thread;
use std::time::Duration;

use harness::cli::MemoryArgs;
use harness::stats::fit_line;
use harness::{Common, Outcome, Session, Timer, limits, rusage};

harness::models! {
    /// The models of this experiment.
    pub enum Model {
        /// `std::thread` with the default stack size.
        StdThread = "std-thread",
    }
}

/// The models of this experiment.
pub const MODELS: &[Model] = Model::ALL;
/// Threads alive at the end, unless `--tasks` says otherwise.
pub const DEFAULT_TASKS: u64 = 10_000;
/// Rust's default thread stack reservation.
const STACK_BYTES: u64 = 2 << 20;

fn kernel_stack_bytes() -> Option<u64> {
    let m = std::fs::read_to_string("/proc/meminfo").ok()?;
    m.lines()
        .find_map(|l| l.strip_prefix("KernelStack:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|k| k * 1024)
}

/// Waits until `alive` reaches `target`, then lets memory settle briefly.
fn wait_alive(alive: &AtomicU64, target: u64) {
    while alive.load(Ordering::Acquire) < target {
        thread::sleep(Duration::from_micros(200));
    }
    thread::sleep(Duration::from_millis(20));
}

/// `thread memory`.
pub fn run(common: &Common, args: &MemoryArgs) -> anyhow::Result<()> {
    let n = args.tasks.unwrap_or(DEFAULT_TASKS);
    limits::check_threads(n, STACK_BYTES)?;
    let mut s = Session::start("thread", "memory", common)?;
    let models = s.select_models(MODELS)?;
    for rep in 0..common.reps {
        for &model in &models {
            let case = s
                .case(model.name(), "", rep)
                .param("unit", "thread")
                .param("tasks", n)
                .param("steps", args.steps)
                .param("stack_bytes", STACK_BYTES);
            let gate = Arc::new(RwLock::new(()));
            let alive = Arc::new(AtomicU64::new(0));
            let held = gate.write().map_err(|_| anyhow::anyhow!("poisoned gate"))?;
            let mut rss_points = vec![(0.0, rusage::current_rss_bytes().unwrap_or(0) as f64)];
            let mut kstack_points = vec![(0.0, kernel_stack_bytes().unwrap_or(0) as f64)];
            let mut handles = Vec::with_capacity(n as usize);
            let mut spawn_ns = 0u64;
            let mut failure = None;
            for step in 1..=args.steps {
                let target = n * step / args.steps;
                let t = Timer::start();
                while (handles.len() as u64) < target {
                    let (g, a) = (Arc::clone(&gate), Arc::clone(&alive));
                    match thread::Builder::new().spawn(move || {
                        a.fetch_add(1, Ordering::Release);
                        drop(g.read());
                    }) {
                        Ok(h) => handles.push(h),
                        Err(e) => {
                            failure = Some(anyhow::anyhow!(
                                "thread {} of {n} could not be created: {e}",
                                handles.len() + 1
                            ));
                            break;
                        }
                    }
                }
                spawn_ns += t.ns();
                if failure.is_some() {
                    break;
                }
                wait_alive(&alive, target);
                rss_points.push((
                    target as f64,
                    rusage::current_rss_bytes().unwrap_or(0) as f64,
                ));
                kstack_points.push((target as f64, kernel_stack_bytes().unwrap_or(0) as f64));
            }
            let peak = rusage::current_rss_bytes().unwrap_or(0);
            drop(held);
            let started = handles.len() as u64;
            for h in handles {
                h.join()
                    .map_err(|_| anyhow::anyhow!("an idle thread panicked"))?;
            }
            if let Some(e) = failure {
                return Err(e);
            }
            anyhow::ensure!(
                alive.load(Ordering::Acquire) == n,
                "only {} of {n} threads ran",
                alive.load(Ordering::Acquire)
            );
            let rss =
                fit_line(&rss_points).ok_or_else(|| anyhow::anyhow!("no memory points to fit"))?;
            let mut out = Outcome::new(started)
                .wall(Duration::from_nanos(spawn_ns))
                .figure("bytes_per_unit", rss.slope)
                .figure("fit_r2", rss.r2)
                .figure("rss_base_bytes", rss_points[0].1)
                .figure("rss_peak_bytes", peak as f64)
                .figure("units_alive", n as f64);
            if let Some(k) = fit_line(&kstack_points) {
                out = out.figure("kernel_stack_bytes_per_unit", k.slope);
            }
            let r = case.finish(&s, out)?;
            s.emit(r)?;
        }
    }
    s.finish()
}
