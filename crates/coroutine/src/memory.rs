//! `memory`: resident memory per idle task.
//!
//! A task on the runtime spawns N tasks in steps (1k, 10k, 100k, 1M where they
//! fit under `--tasks`, and `--steps` evenly spaced counts up to it). Each
//! task counts itself in an atomic on its first poll, then parks, either
//! - on a `timer` (the runtime's sleep, due in an hour), as the published
//!   "1M concurrent tasks" comparisons do, or
//! - on a `channel`: a gate (tokio `watch`, async-channel for smol and
//!   async-std) that opens at the end of the case, when every task must run
//!   to its end.
//!
//! After each step the spawner waits until exactly that many first polls were
//! counted, so every task was really spawned and polled, not a future joined
//! inside another one; then the process's resident memory (`VmRSS`) is read.
//! The slope of a least-squares line through those points is the memory one
//! more parked task costs (`bytes_per_unit`, as in `thread memory`). Tasks are
//! spawned in batches with a yield between, so the run queue never holds a
//! million entries at once; their handles are detached, so none is kept.
//!
//! Every case runs in a fresh child process (this binary, re-executed with a
//! hidden `memory-child` subcommand): in one process, a model would reuse the
//! heap pages an earlier model freed, and its slope would read low. The child
//! inherits the CPU mask and async-std's thread count, is registered with the
//! child guard, and prints its points as one JSON line.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use harness::cli::MemoryArgs;
use harness::stats::fit_line;
use harness::{Common, Outcome, Session, Timer, guard, limits, rusage};
use serde::{Deserialize, Serialize};

use crate::rt::{self, Job, Kind, Rt, Spec};

/// The models of this experiment: the runtimes.
pub const MODELS: &[Kind] = Kind::ALL;
/// Tasks alive at the end, unless `--tasks` says otherwise.
pub const DEFAULT_TASKS: u64 = 1_000_000;
/// Counts at which memory is read, where they fit under `--tasks`, besides the even steps.
pub const DECADES: &[u64] = &[1_000, 10_000, 100_000, 1_000_000];
/// A generous bound on one parked task's memory, for the preflight check.
const BYTES_PER_TASK_BOUND: u64 = 2048;
/// Tasks spawned between two yields of the spawner.
const BATCH: u64 = 4096;
/// Time for memory to settle after a step.
const SETTLE: Duration = Duration::from_millis(20);
/// How far away a timer-parked task's timer is: longer than any case.
const PARK_FOR: Duration = Duration::from_secs(3600);
/// The hidden subcommand a case runs in.
pub const CHILD_SUBCOMMAND: &str = "memory-child";

/// Tasks that have been polled once (reset per case).
static FIRST_POLLS: AtomicU64 = AtomicU64::new(0);
/// Tasks that have run to the end (reset per case).
static FINISHED: AtomicU64 = AtomicU64::new(0);

/// What a parked task waits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
pub enum Park {
    /// The runtime's timer, due in an hour.
    Timer,
    /// A channel-like gate that opens when the case ends.
    Channel,
}

impl Park {
    /// The name in records.
    pub fn name(self) -> &'static str {
        match self {
            Park::Timer => "timer",
            Park::Channel => "channel",
        }
    }
}

/// The `coroutine`-only flags of `memory`.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Workload")]
pub struct ParkArgs {
    /// What every task parks on (comma-separated): a far timer, or a channel
    /// that opens at the end
    #[arg(
        long,
        value_enum,
        value_name = "ON",
        value_delimiter = ',',
        default_value = "timer,channel"
    )]
    pub park: Vec<Park>,
}

/// Flags of the hidden child that measures one case.
#[derive(Debug, Clone, Args)]
pub struct ChildArgs {
    /// The runtime.
    #[arg(long, value_parser = runtime)]
    pub model: Kind,
    /// What tasks park on.
    #[arg(long, value_enum)]
    pub park: Park,
    /// Executor threads.
    #[arg(long)]
    pub workers: usize,
    /// Task counts at which memory is read, ascending.
    #[arg(long, value_delimiter = ',', required = true)]
    pub counts: Vec<u64>,
}

/// The runtime named `name`, as `--model` of the hidden child takes it.
fn runtime(name: &str) -> Result<Kind, String> {
    Kind::ALL
        .iter()
        .copied()
        .find(|k| k.name() == name)
        .ok_or_else(|| format!("{name} is not a runtime"))
}

/// The task counts at which memory is read, ascending, ending at `n`.
pub fn counts(n: u64, steps: u64) -> Vec<u64> {
    let mut c: Vec<u64> = (1..=steps).map(|k| n * k / steps).collect();
    c.extend(DECADES.iter().copied().filter(|&d| d < n));
    c.retain(|&x| x > 0);
    c.sort_unstable();
    c.dedup();
    c
}

/// Spawns parked tasks up to each count and reads memory at each.
#[derive(Debug, Clone)]
pub struct ParkMany {
    /// Counts at which to read memory, ascending.
    pub counts: Vec<u64>,
    /// What the tasks park on.
    pub park: Park,
}

/// What `ParkMany` saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Parked {
    /// `(tasks alive, resident bytes)`, the first at zero tasks.
    pub points: Vec<(u64, u64)>,
    /// Time spent spawning, in total, nanoseconds.
    pub spawn_ns: u64,
    /// First polls counted when memory was last read.
    pub first_polls: u64,
    /// Tasks that ran to the end after the gate opened (timer-parked tasks never do).
    pub finished: u64,
    /// Size of one task's future (its state machine), bytes; the runtime adds its own header.
    pub future_bytes: usize,
}

/// Sleeps until `counter` reaches `target` (it never passes it: no more tasks exist).
async fn wait_for<R: Rt>(rt: &R, counter: &AtomicU64, target: u64) {
    while counter.load(Ordering::Acquire) < target {
        rt.sleep(Duration::from_millis(1)).await;
    }
}

impl Job for ParkMany {
    type Output = Parked;

    async fn run<R: Rt>(self, rt: R) -> anyhow::Result<Parked> {
        FIRST_POLLS.store(0, Ordering::Release);
        FINISHED.store(0, Ordering::Release);
        let (open, ticket) = rt.gate();
        let wake_at = Instant::now() + PARK_FOR;
        let mut points = vec![(0, rusage::current_rss_bytes().unwrap_or(0))];
        let mut spawned = 0u64;
        let mut spawn_ns = 0u64;
        let mut future_bytes = 0;
        for &target in &self.counts {
            while spawned < target {
                let t = Timer::start();
                let end = (spawned + BATCH).min(target);
                for _ in spawned..end {
                    // The park future is made inside the task: a future made
                    // outside, moved in and awaited, would be stored twice.
                    let task = match self.park {
                        Park::Timer => {
                            let rt2 = rt.clone();
                            let body = async move {
                                FIRST_POLLS.fetch_add(1, Ordering::AcqRel);
                                rt2.sleep_until(wake_at).await;
                                FINISHED.fetch_add(1, Ordering::AcqRel);
                            };
                            future_bytes = std::mem::size_of_val(&body);
                            rt.spawn(body)
                        }
                        Park::Channel => {
                            let ticket = ticket.clone();
                            let body = async move {
                                FIRST_POLLS.fetch_add(1, Ordering::AcqRel);
                                R::wait(ticket).await;
                                FINISHED.fetch_add(1, Ordering::AcqRel);
                            };
                            future_bytes = std::mem::size_of_val(&body);
                            rt.spawn(body)
                        }
                    };
                    R::detach(task);
                }
                spawn_ns += t.ns();
                spawned = end;
                rt.yield_now().await;
            }
            wait_for(&rt, &FIRST_POLLS, target).await;
            rt.sleep(SETTLE).await;
            let polled = FIRST_POLLS.load(Ordering::Acquire);
            anyhow::ensure!(
                polled == target,
                "{polled} tasks were polled but {target} were spawned"
            );
            points.push((target, rusage::current_rss_bytes().unwrap_or(0)));
        }
        let first_polls = FIRST_POLLS.load(Ordering::Acquire);
        drop(ticket);
        drop(open);
        if self.park == Park::Channel {
            wait_for(&rt, &FINISHED, spawned).await;
        }
        Ok(Parked {
            points,
            spawn_ns,
            first_polls,
            finished: FINISHED.load(Ordering::Acquire),
            future_bytes,
        })
    }
}

/// The hidden `memory-child` subcommand: measures one case and prints it as JSON.
pub fn child(args: &ChildArgs) -> anyhow::Result<()> {
    // Dies with the parent, whatever kills it.
    guard::child_setup();
    let parked = rt::run(
        &Spec::new(args.model, args.workers),
        ParkMany {
            counts: args.counts.clone(),
            park: args.park,
        },
    )?;
    println!("{}", serde_json::to_string(&parked)?);
    Ok(())
}

/// Runs one case in a fresh child process and reads what it measured.
pub fn in_child(model: Kind, park: Park, workers: usize, counts: &[u64]) -> anyhow::Result<Parked> {
    let exe = std::env::current_exe()?;
    let list: Vec<String> = counts.iter().map(u64::to_string).collect();
    let child = Command::new(exe)
        .args([
            CHILD_SUBCOMMAND,
            "--model",
            model.name(),
            "--park",
            park.name(),
        ])
        .args([
            "--workers",
            &workers.to_string(),
            "--counts",
            &list.join(","),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| anyhow::anyhow!("cannot start the child that measures {model}: {e}"))?;
    let pid = child.id() as i32;
    guard::register_child(pid)?;
    let out = child.wait_with_output();
    guard::unregister_child(pid);
    let out = out?;
    anyhow::ensure!(
        out.status.success(),
        "the child that measured {model} ({}) failed: {}",
        park.name(),
        out.status
    );
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.trim()).map_err(|e| {
        anyhow::anyhow!("the child that measured {model} printed no result ({e}): {text}")
    })
}

/// `coroutine memory`.
pub fn run(common: &Common, args: &MemoryArgs, parks: &ParkArgs) -> anyhow::Result<()> {
    let n = args.tasks.unwrap_or(DEFAULT_TASKS);
    limits::check_memory(
        n.saturating_mul(BYTES_PER_TASK_BOUND),
        &format!("{n} parked tasks (--tasks)"),
    )?;
    let mut s = Session::start("coroutine", "memory", common)?;
    rt::prepare(&s)?;
    let models = s.select_models(MODELS)?;
    rt::note_discontinued(&s, models.iter().copied());
    let counts = counts(n, args.steps);
    for rep in 0..common.reps {
        for &park in &parks.park {
            for &model in &models {
                let spec = Spec::new(model, s.workers());
                let case = spec
                    .annotate(
                        s.case(model.name(), park.name(), rep)
                            .param("unit", "coroutine"),
                    )
                    .param("tasks", n)
                    .param("steps", args.steps)
                    .param("counts", counts.clone())
                    .param("parked_on", park.name())
                    .param("process", "fresh child per case")
                    .param("clock", "inside-runtime");
                let parked = in_child(model, park, s.workers(), &counts)?;
                let ended = if park == Park::Channel { n } else { 0 };
                anyhow::ensure!(
                    parked.first_polls == n && parked.finished == ended,
                    "{model}: {} of {n} tasks were polled and {} finished (expected {ended})",
                    parked.first_polls,
                    parked.finished
                );
                let r = case.finish(&s, outcome(n, &parked)?)?;
                s.emit(r)?;
            }
        }
    }
    s.finish()
}

/// The record's figures: the fitted slope, and memory per task at each decade.
fn outcome(n: u64, parked: &Parked) -> anyhow::Result<Outcome> {
    let pts: Vec<(f64, f64)> = parked
        .points
        .iter()
        .map(|&(x, y)| (x as f64, y as f64))
        .collect();
    let line = fit_line(&pts).ok_or_else(|| anyhow::anyhow!("no memory points to fit"))?;
    let base = parked.points[0].1;
    let peak = parked.points.iter().map(|p| p.1).max().unwrap_or(0);
    let mut out = Outcome::new(n)
        .wall(Duration::from_nanos(parked.spawn_ns))
        .figure("bytes_per_unit", line.slope)
        .figure("fit_r2", line.r2)
        .figure("rss_base_bytes", base as f64)
        .figure("rss_peak_bytes", peak as f64)
        .figure("units_alive", n as f64)
        .figure("first_polls", parked.first_polls as f64)
        .figure("future_bytes", parked.future_bytes as f64)
        .figure("spawn_ns_per_unit", parked.spawn_ns as f64 / n as f64);
    for &(count, rss) in &parked.points[1..] {
        if DECADES.contains(&count) {
            out = out.figure(
                &format!("bytes_per_unit_at_{count}"),
                rss.saturating_sub(base) as f64 / count as f64,
            );
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_hold_the_decades_and_the_even_steps() {
        assert_eq!(
            counts(1_000_000, 5),
            [
                1_000, 10_000, 100_000, 200_000, 400_000, 600_000, 800_000, 1_000_000
            ]
        );
        assert_eq!(counts(64, 2), [32, 64]);
        assert_eq!(counts(1, 3), [1]);
    }

    #[test]
    fn every_runtime_parks_and_counts_every_task() {
        for &model in MODELS {
            for park in [Park::Timer, Park::Channel] {
                let spec = Spec::new(model, 2);
                let job = ParkMany {
                    counts: vec![10, 300],
                    park,
                };
                let p = rt::run(&spec, job).unwrap();
                assert_eq!(p.first_polls, 300, "{model}");
                let ended = if park == Park::Channel { 300 } else { 0 };
                assert_eq!(p.finished, ended, "{model}");
                assert_eq!(p.points.len(), 3);
            }
        }
    }
}
