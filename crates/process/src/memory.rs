//! `memory`: resident and proportional memory per idle child process.
//!
//! N children are forked in steps; each tells the parent it is alive and
//! blocks reading a pipe that only the parent can write. After each step the
//! memory of the parent and every child is read from
//! `/proc/<pid>/smaps_rollup`:
//!
//! - **PSS** (proportional set size) charges each shared page to its sharers
//!   in equal parts, so the PSS of all processes together is the memory they
//!   really use: a forked child shares every page of its parent until one of
//!   them writes it. The slope of total PSS over N is the memory one more
//!   child really costs (`bytes_per_unit`).
//! - **RSS** counts every page a process maps, shared or not: the slope of
//!   the children's total RSS is what `top` would show per child
//!   (`rss_bytes_per_unit`), mostly pages shared with the parent.
//! - Kernel memory that neither shows: page tables (`VmPTE` of each
//!   process) and kernel stacks (`KernelStack` in `/proc/meminfo`,
//!   system-wide).
//!
//! At the end the parent closes its end of the pipe: every child reads
//! end-of-file, exits, and is reaped.
//!
//! Models: `fork-idle` (the children above) and `thread-idle`, the reference:
//! N threads of this process blocked on the same kind of pipe, run last
//! (after all forking), so the C7 verdict compares both from one run.

use std::fs::File;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use anyhow::Context as _;

use harness::claims::c7;
use harness::cli::MemoryArgs;
use harness::rusage::{proc_status_field, pss_rss_bytes_of};
use harness::stats::fit_line;
use harness::{Common, Outcome, Session, Timer, UsageError, Verdict, guard, limits};

use crate::child::{Child, SingleThreaded, close_in_child, fork_child, pipe, wait_all};

harness::models! {
    /// The models of this experiment (the thread reference last).
    pub enum Model {
        /// Idle forked children, blocked reading a pipe.
        ForkIdle = "fork-idle",
        /// Idle threads of this process, blocked reading a pipe.
        ThreadIdle = "thread-idle",
    }
}

/// The models of this experiment (the thread reference last).
pub const MODELS: &[Model] = Model::ALL;
/// Units alive at the end, unless `--tasks` says otherwise.
pub const DEFAULT_TASKS: u64 = 1_000;
/// Rust's default thread stack reservation (the reference threads use it).
const STACK_BYTES: u64 = 2 << 20;
/// Time for memory counters to settle after a step.
const SETTLE: Duration = Duration::from_millis(20);

/// Memory at one count of idle units.
#[derive(Debug, Clone, Copy, Default)]
struct Point {
    units: f64,
    pss: f64,
    rss: f64,
    page_tables: f64,
    kernel_stack: f64,
}

fn meminfo_bytes(field: &str) -> Option<u64> {
    let m = std::fs::read_to_string("/proc/meminfo").ok()?;
    m.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|k| k * 1024)
}

fn page_tables_of(pid: i32) -> u64 {
    proc_status_field(&pid.to_string(), "VmPTE")
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(0, |k| k * 1024)
}

/// Reads the memory of this process and of `children` (only they are
/// counted in `rss`, which is per-child RSS as `top` shows it).
fn read_point(units: u64, children: &[Child]) -> anyhow::Result<Point> {
    let me = std::process::id() as i32;
    let (pss, _) = pss_rss_bytes_of(me)
        .ok_or_else(|| anyhow::anyhow!("cannot read /proc/self/smaps_rollup"))?;
    let mut p = Point {
        units: units as f64,
        pss: pss as f64,
        rss: 0.0,
        page_tables: page_tables_of(me) as f64,
        kernel_stack: meminfo_bytes("KernelStack").unwrap_or(0) as f64,
    };
    for c in children {
        let (pss, rss) = pss_rss_bytes_of(c.pid())
            .ok_or_else(|| anyhow::anyhow!("cannot read the memory of {c}: is it still alive?"))?;
        p.pss += pss as f64;
        p.rss += rss as f64;
        p.page_tables += page_tables_of(c.pid()) as f64;
    }
    Ok(p)
}

/// What a model measured: memory at each step, and the time spent starting units.
struct Measured {
    points: Vec<Point>,
    start_ns: u64,
}

/// Forks `n` idle children in `steps` steps, reading memory after each.
fn fork_idle(n: u64, steps: u64) -> anyhow::Result<Measured> {
    let proof = SingleThreaded::check()?;
    let (hold_r, hold_w) = pipe()?;
    let (mut ready_r, ready_w) = pipe()?;
    let mut children: Vec<Child> = Vec::with_capacity(n as usize);
    let mut points = vec![read_point(0, &children)?];
    let mut start_ns = 0;
    for step in 1..=steps {
        let target = (n * step / steps) as usize;
        let before = children.len();
        let t = Timer::start();
        while children.len() < target {
            let i = children.len();
            children.push(fork_child(&proof, "idle child", i, || {
                close_in_child(&hold_w); // so that the parent's close is end-of-file
                (&ready_w).write_all(&[1])?;
                let mut b = [0u8; 1];
                anyhow::ensure!((&hold_r).read(&mut b)? == 0, "unexpected byte");
                Ok(())
            })?);
        }
        start_ns += t.ns();
        let mut ready = vec![0u8; target - before];
        ready_r.read_exact(&mut ready)?;
        thread::sleep(SETTLE);
        points.push(read_point(target as u64, &children)?);
    }
    drop(hold_w);
    wait_all(children)?;
    Ok(Measured { points, start_ns })
}

/// Starts `n` idle threads in `steps` steps, reading memory after each.
fn thread_idle(n: u64, steps: u64) -> anyhow::Result<Measured> {
    let (hold_r, hold_w) = pipe()?;
    let alive = AtomicU64::new(0);
    let mut hold_w = Some(hold_w);
    thread::scope(|s| {
        let mut handles = Vec::with_capacity(n as usize);
        let mut points = vec![read_point(0, &[])?];
        let mut start_ns = 0;
        let mut failure = None;
        'steps: for step in 1..=steps {
            let target = n * step / steps;
            let t = Timer::start();
            while (handles.len() as u64) < target {
                let (hold_r, alive): (&File, &AtomicU64) = (&hold_r, &alive);
                match thread::Builder::new().spawn_scoped(s, move || {
                    alive.fetch_add(1, Ordering::Release);
                    let mut b = [0u8; 1];
                    let _ = (&*hold_r).read(&mut b);
                }) {
                    Ok(h) => handles.push(h),
                    Err(e) => {
                        failure = Some(anyhow::anyhow!(
                            "idle thread {} of {n} could not be created: {e}",
                            handles.len() + 1
                        ));
                        break 'steps;
                    }
                }
            }
            start_ns += t.ns();
            while alive.load(Ordering::Acquire) < target {
                thread::sleep(Duration::from_micros(200));
            }
            thread::sleep(SETTLE);
            match read_point(target, &[]) {
                Ok(p) => points.push(p),
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        drop(hold_w.take()); // end-of-file wakes every thread
        for h in handles {
            h.join()
                .map_err(|_| anyhow::anyhow!("an idle thread panicked"))?;
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(Measured { points, start_ns }),
        }
    })
}

/// Slopes of a model's points, bytes per unit.
#[derive(Debug, Clone, Copy)]
struct Slopes {
    pss: f64,
    rss: f64,
    page_tables: f64,
    kernel_stack: f64,
    r2: f64,
}

impl Slopes {
    fn fit(points: &[Point]) -> anyhow::Result<Slopes> {
        let line = |f: fn(&Point) -> f64| {
            fit_line(&points.iter().map(|p| (p.units, f(p))).collect::<Vec<_>>())
                .ok_or_else(|| anyhow::anyhow!("no memory points to fit"))
        };
        let pss = line(|p| p.pss)?;
        Ok(Slopes {
            pss: pss.slope,
            rss: line(|p| p.rss)?.slope,
            page_tables: line(|p| p.page_tables)?.slope,
            kernel_stack: line(|p| p.kernel_stack)?.slope,
            r2: pss.r2,
        })
    }

    /// User memory (PSS) and the kernel's page tables and stack, per unit.
    fn total(&self) -> f64 {
        self.unit().total()
    }

    /// What C7 compares.
    fn unit(&self) -> c7::UnitMemory {
        c7::UnitMemory {
            pss: self.pss,
            rss: self.rss,
            page_tables: self.page_tables,
            kernel_stack: self.kernel_stack,
        }
    }
}

/// `process memory`.
pub fn run(common: &Common, args: &MemoryArgs) -> anyhow::Result<()> {
    let n = args.tasks.unwrap_or(DEFAULT_TASKS);
    if n as usize > guard::MAX_CHILDREN - 1 {
        return Err(UsageError(format!(
            "--tasks {n} is more than the {} children the child guard can track; ask for fewer",
            guard::MAX_CHILDREN - 1
        ))
        .into());
    }
    limits::check_processes(n)?;
    let mut s = Session::start("process", "memory", common)?;
    let models = s.select_models(MODELS)?;
    if models.contains(&Model::ThreadIdle) {
        limits::check_threads(n, STACK_BYTES)?;
    }
    let mut process_slopes = Vec::new();
    // Every repetition of a model before the next: the threads only after
    // every fork (a fork must happen single-threaded).
    for &model in &models {
        for rep in 0..common.reps {
            let case = s
                .case(model.name(), "", rep)
                .param("tasks", n)
                .param("steps", args.steps);
            let context = || format!("{model}, rep {}", rep + 1);
            let r = match model {
                Model::ForkIdle => {
                    let case = case.param("unit", "process");
                    let m = fork_idle(n, args.steps).with_context(context)?;
                    let slopes = Slopes::fit(&m.points)?;
                    process_slopes.push(slopes);
                    case.finish(&s, outcome(n, &m, &slopes, None))?
                }
                Model::ThreadIdle => {
                    let case = case
                        .param("unit", "thread")
                        .param("stack_bytes", STACK_BYTES);
                    let m = thread_idle(n, args.steps).with_context(context)?;
                    let slopes = Slopes::fit(&m.points)?;
                    let v = process_slopes
                        .get(rep as usize)
                        .map(|p| verdict(p, &slopes));
                    case.finish(&s, outcome(n, &m, &slopes, v))?
                }
            };
            s.emit(r)?;
        }
    }
    s.finish()
}

fn outcome(n: u64, m: &Measured, slopes: &Slopes, verdict: Option<Verdict>) -> Outcome {
    let first = m.points[0];
    let last = m.points[m.points.len() - 1];
    let mut out = Outcome::new(n)
        .wall(Duration::from_nanos(m.start_ns))
        .figure("bytes_per_unit", slopes.pss)
        .figure("rss_bytes_per_unit", slopes.rss)
        .figure("page_tables_bytes_per_unit", slopes.page_tables)
        .figure("kernel_stack_bytes_per_unit", slopes.kernel_stack)
        .figure("total_bytes_per_unit", slopes.total())
        .figure("fit_r2", slopes.r2)
        .figure("pss_base_bytes", first.pss)
        .figure("pss_peak_bytes", last.pss)
        .figure("units_alive", n as f64);
    if let Some(v) = verdict {
        out = out.verdict(v);
    }
    out
}

/// C7: an idle process costs more memory than an idle thread.
fn verdict(process: &Slopes, thread: &Slopes) -> Verdict {
    c7::memory(&process.unit(), &thread.unit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slopes_come_from_the_points() {
        let points: Vec<Point> = (0..4)
            .map(|i| Point {
                units: f64::from(i) * 10.0,
                pss: 1000.0 + f64::from(i) * 10.0 * 100.0,
                rss: f64::from(i) * 10.0 * 5000.0,
                page_tables: f64::from(i) * 10.0 * 50.0,
                kernel_stack: f64::from(i) * 10.0 * 16384.0,
            })
            .collect();
        let s = Slopes::fit(&points).unwrap();
        assert!((s.pss - 100.0).abs() < 1e-6 && (s.rss - 5000.0).abs() < 1e-6);
        assert!((s.total() - (100.0 + 50.0 + 16384.0)).abs() < 1e-6);
        let thread = Slopes { pss: 10.0, ..s };
        assert!(verdict(&s, &thread).holds());
        assert!(!verdict(&thread, &s).holds());
    }

    #[test]
    fn this_process_has_page_tables() {
        assert!(page_tables_of(std::process::id() as i32) > 0);
        assert!(meminfo_bytes("MemTotal").unwrap() > 0);
    }
}
