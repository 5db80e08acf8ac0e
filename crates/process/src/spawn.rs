//! `spawn`: the cost of creating a process, running an empty body and reaping it.
//!
//! One sample is one child created, ended and reaped (`waitpid`), timed in
//! the parent. Every child is registered with the guard and reaped inside the
//! sample, so the sample is the whole life of a process that does nothing.
//!
//! Models:
//! - `fork-exit`: `fork`, the child calls `_exit(0)` (after the guard's
//!   child setup: default signal actions, death signal); no new program.
//! - `fork-exec-self`: `fork`, then `execv` of this binary with a hidden
//!   `child` subcommand that exits at once: a new program, with Rust's start-up.
//! - `fork-exec-true`: `fork`, then `execv` of `/bin/true`.
//! - `posix-spawn`: `posix_spawn` of `/bin/true` (glibc uses `clone(CLONE_VM |
//!   CLONE_VFORK)`: the parent's page tables are not copied).
//! - `command`: `std::process::Command::new("/bin/true").spawn()` and a wait.
//! - `thread-spawn`: the reference, `std::thread` spawn + join of an empty
//!   body, run last (after all forking, which must happen single-threaded),
//!   so the C7 verdict compares process and thread creation in one run.
//!
//! Then `fork-exit` and `posix-spawn` again with a larger parent: a heap of
//! `--heap-sizes` bytes (default 1 MiB, 100 MiB, 1 GiB), every page touched.
//! `fork` copies the parent's page tables (one entry per 4 KiB page), so its
//! cost grows with the parent's memory; `posix_spawn` shares the parent's
//! memory until the exec and stays flat.

use std::ffi::CString;
use std::hint::black_box;
use std::os::unix::ffi::OsStrExt;

use clap::Args;
use harness::claims::c7;
use harness::cli::{format_bytes, parse_bytes};
use harness::{Common, Outcome, Session, Timer, Verdict, hist, limits, sample};
use nix::spawn::{PosixSpawnAttr, PosixSpawnFileActions, posix_spawn};

use crate::child::{Child, SingleThreaded, fork_child};

harness::models! {
    /// The models of this experiment, in the order they run (the thread reference last).
    pub enum Model {
        /// `fork`, `_exit(0)` in the child.
        ForkExit = "fork-exit",
        /// `fork`, `execv` of this binary's hidden `child` subcommand.
        ForkExecSelf = "fork-exec-self",
        /// `fork`, `execv` of `/bin/true`.
        ForkExecTrue = "fork-exec-true",
        /// `posix_spawn` of `/bin/true`.
        PosixSpawn = "posix-spawn",
        /// `std::process::Command` of `/bin/true`.
        Command = "command",
        /// The reference: `std::thread` spawn + join.
        ThreadSpawn = "thread-spawn",
    }
}

/// The models of this experiment, in the order they run (the thread reference last).
pub const MODELS: &[Model] = Model::ALL;

impl Model {
    /// True for the thread reference, which runs after every fork (a fork
    /// must happen single-threaded).
    pub const fn starts_threads(self) -> bool {
        match self {
            Model::ForkExit
            | Model::ForkExecSelf
            | Model::ForkExecTrue
            | Model::PosixSpawn
            | Model::Command => false,
            Model::ThreadSpawn => true,
        }
    }

    /// True for the models that run again with a larger parent heap.
    pub const fn with_heaps(self) -> bool {
        match self {
            Model::ForkExit | Model::PosixSpawn => true,
            Model::ForkExecSelf | Model::ForkExecTrue | Model::Command | Model::ThreadSpawn => {
                false
            }
        }
    }

    /// The program the model starts, as its records name it: `self` (this
    /// binary) or [`TRUE_PATH`]; `None` for the models that start none.
    pub const fn program(self) -> Option<&'static str> {
        match self {
            Model::ForkExecSelf => Some("self"),
            Model::ForkExecTrue | Model::PosixSpawn | Model::Command => Some(TRUE_PATH),
            Model::ForkExit | Model::ThreadSpawn => None,
        }
    }
}

/// The program the exec models start.
pub const TRUE_PATH: &str = "/bin/true";

/// The hidden subcommand `fork-exec-self` runs.
pub const CHILD_SUBCOMMAND: &str = "child";

/// Flags of `process spawn`.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Workload")]
pub struct SpawnArgs {
    /// Parent heap sizes (touched) at which fork-exit and posix-spawn run
    /// again (comma-separated, e.g. 1MiB,100MiB,1GiB)
    #[arg(long, allow_negative_numbers = true, value_name = "SIZES", value_delimiter = ',', value_parser = parse_bytes,
          default_value = "1MiB,100MiB,1GiB")]
    pub heap_sizes: Vec<u64>,
}

/// Everything the exec models need, prepared before timing.
#[derive(Debug)]
pub struct Programs {
    self_path: CString,
    self_argv: Vec<CString>,
    true_path: CString,
    true_argv: Vec<CString>,
    env: Vec<CString>,
    actions: PosixSpawnFileActions,
    attr: PosixSpawnAttr,
}

impl Programs {
    /// Resolves this binary and `/bin/true`, and copies the environment.
    pub fn new() -> anyhow::Result<Programs> {
        let exe = std::env::current_exe()
            .map_err(|e| anyhow::anyhow!("cannot find this binary to re-execute: {e}"))?;
        anyhow::ensure!(
            std::path::Path::new(TRUE_PATH).exists(),
            "{TRUE_PATH} does not exist here; the exec models need it"
        );
        let c = |b: &[u8]| CString::new(b).map_err(|e| anyhow::anyhow!("bad argument: {e}"));
        let env = std::env::vars_os()
            .filter_map(|(k, v)| {
                let mut kv = k.as_bytes().to_vec();
                kv.push(b'=');
                kv.extend_from_slice(v.as_bytes());
                CString::new(kv).ok()
            })
            .collect();
        Ok(Programs {
            self_path: c(exe.as_os_str().as_bytes())?,
            self_argv: vec![c(b"process")?, c(CHILD_SUBCOMMAND.as_bytes())?],
            true_path: c(TRUE_PATH.as_bytes())?,
            true_argv: vec![c(b"true")?],
            env,
            actions: PosixSpawnFileActions::init()
                .map_err(|e| anyhow::anyhow!("posix_spawn_file_actions_init failed: {e}"))?,
            attr: PosixSpawnAttr::init()
                .map_err(|e| anyhow::anyhow!("posix_spawnattr_init failed: {e}"))?,
        })
    }
}

/// `fork`, `_exit(0)` in the child, reap; returns nanoseconds.
pub fn fork_exit_once(proof: &SingleThreaded) -> anyhow::Result<u64> {
    let t = Timer::start();
    fork_child(proof, "spawned child", 0, || Ok(()))?.wait()?;
    Ok(t.ns())
}

/// `fork`, `execv` of `path` in the child, reap; returns nanoseconds.
pub fn fork_exec_once(
    proof: &SingleThreaded,
    path: &CString,
    argv: &[CString],
) -> anyhow::Result<u64> {
    let t = Timer::start();
    fork_child(proof, "spawned child", 0, || {
        let e = nix::unistd::execv(path, argv).unwrap_err();
        anyhow::bail!("cannot execute {}: {e}", path.to_string_lossy())
    })?
    .wait()?;
    Ok(t.ns())
}

/// `posix_spawn` of `/bin/true`, reap; returns nanoseconds.
pub fn posix_spawn_once(p: &Programs) -> anyhow::Result<u64> {
    let t = Timer::start();
    let pid = posix_spawn(
        p.true_path.as_c_str(),
        &p.actions,
        &p.attr,
        &p.true_argv,
        &p.env,
    )
    .map_err(|e| anyhow::anyhow!("posix_spawn of {TRUE_PATH} failed: {e}"))?;
    Child::adopt(pid.as_raw(), "spawned child", 0)?.wait()?;
    Ok(t.ns())
}

/// `std::process::Command` of `/bin/true`, reap; returns nanoseconds.
pub fn command_once() -> anyhow::Result<u64> {
    let t = Timer::start();
    let child = std::process::Command::new(TRUE_PATH)
        .spawn()
        .map_err(|e| anyhow::anyhow!("cannot run {TRUE_PATH}: {e}"))?;
    // Reaped through the guard's registry, not std's handle (dropping that
    // neither waits nor kills).
    Child::adopt(child.id() as i32, "spawned child", 0)?.wait()?;
    Ok(t.ns())
}

/// Spawns and joins one `std::thread` with an empty body; returns nanoseconds.
pub fn thread_spawn_once() -> anyhow::Result<u64> {
    let t = Timer::start();
    let v = std::thread::Builder::new()
        .spawn(|| black_box(1u64))
        .map_err(|e| anyhow::anyhow!("thread spawn failed: {e}"))?
        .join()
        .map_err(|_| anyhow::anyhow!("spawned thread panicked"))?;
    let ns = t.ns();
    anyhow::ensure!(v == 1, "the spawned thread did not run its body");
    Ok(ns)
}

/// A heap of `bytes` with every page written, so `fork` has page tables to copy.
pub fn touched_heap(bytes: u64) -> Vec<u8> {
    let mut heap = vec![0u8; bytes as usize];
    for b in heap.iter_mut().step_by(4096) {
        *b = 1;
    }
    black_box(heap)
}

/// The transparent-huge-page mode (`always`, `madvise`, `never`): with huge
/// pages a large heap needs 512 times fewer page-table entries to copy.
fn thp_mode() -> String {
    std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .find(|w| w.starts_with('['))
                .map(|w| w.trim_matches(['[', ']']).to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// `process spawn`.
pub fn run(common: &Common, args: &SpawnArgs) -> anyhow::Result<()> {
    let largest = args.heap_sizes.iter().copied().max().unwrap_or(0);
    limits::check_memory(
        largest,
        &format!("--heap-sizes {} (a parent heap)", format_bytes(largest)),
    )?;
    let mut s = Session::start("process", "spawn", common)?;
    let models = s.select_models(MODELS)?;
    let programs = Programs::new()?;
    let thp = thp_mode();
    let (threads, processes): (Vec<Model>, Vec<Model>) =
        models.iter().copied().partition(|m| m.starts_threads());
    let heap_models: Vec<Model> = processes
        .iter()
        .copied()
        .filter(|m| m.with_heaps())
        .collect();
    // p50 of each process model without a heap, per repetition, in the
    // order they ran, for the verdict.
    let mut p50s: Vec<P50s> = vec![Vec::new(); common.reps as usize];

    for (rep, p50) in p50s.iter_mut().enumerate() {
        let rep = rep as u32;
        for &model in &processes {
            let ns = measure(&mut s, model, None, rep, &programs, &thp)?;
            p50.push((model, ns));
        }
        for &heap in &args.heap_sizes {
            if heap_models.is_empty() {
                break;
            }
            let held = touched_heap(heap);
            let mut line = Vec::new();
            for &model in &heap_models {
                let ns = measure(&mut s, model, Some(heap), rep, &programs, &thp)?;
                let base = p50
                    .iter()
                    .find(|p| p.0 == model)
                    .map_or(String::new(), |&(_, b)| {
                        format!(" ({:.1}× no heap)", ns as f64 / b.max(1) as f64)
                    });
                line.push(format!("{model} {:.1} µs{base}", ns as f64 / 1e3));
            }
            drop(held);
            s.note(&format!(
                "parent heap {}: {}",
                format_bytes(heap),
                line.join(", ")
            ));
        }
    }
    // Threads only after every fork: a fork must happen single-threaded.
    for &model in &threads {
        let once = match model {
            Model::ThreadSpawn => thread_spawn_once,
            Model::ForkExit
            | Model::ForkExecSelf
            | Model::ForkExecTrue
            | Model::PosixSpawn
            | Model::Command => anyhow::bail!("{model} forks: it runs before every thread"),
        };
        for (rep, p50) in p50s.iter().enumerate() {
            let case = s.case(model.name(), "", rep as u32).param("unit", "thread");
            let mut h = hist::new();
            let done = sample::run_samples(&s.schedule(), &mut h, once)?;
            let thread_ns = h.value_at_quantile(0.5);
            let mut out = Outcome::sampled(done, h);
            if let Some(v) = verdict(p50, thread_ns) {
                out = out.verdict(v);
            }
            let r = case.finish(&s, out)?;
            s.emit(r)?;
        }
    }
    s.finish()
}

/// The median of each process model of one repetition, in the order they ran.
type P50s = Vec<(Model, u64)>;

/// Samples one process model (with a parent heap of `heap` bytes, if
/// given), emits its record and returns its median in nanoseconds.
fn measure(
    s: &mut Session,
    model: Model,
    heap: Option<u64>,
    rep: u32,
    programs: &Programs,
    thp: &str,
) -> anyhow::Result<u64> {
    let variant = heap.map_or(String::new(), |b| format!("heap-{}", format_bytes(b)));
    let mut case = s
        .case(model.name(), &variant, rep)
        .param("unit", "process")
        .param("heap_bytes", heap.unwrap_or(0));
    if heap.is_some() {
        case.set_param("thp", thp);
    }
    if let Some(program) = model.program() {
        case.set_param("program", program);
    }
    let proof = SingleThreaded::check()?;
    let mut h = hist::new();
    let schedule = s.schedule();
    let done = match model {
        Model::ForkExit => sample::run_samples(&schedule, &mut h, || fork_exit_once(&proof))?,
        Model::ForkExecSelf => sample::run_samples(&schedule, &mut h, || {
            fork_exec_once(&proof, &programs.self_path, &programs.self_argv)
        })?,
        Model::ForkExecTrue => sample::run_samples(&schedule, &mut h, || {
            fork_exec_once(&proof, &programs.true_path, &programs.true_argv)
        })?,
        Model::PosixSpawn => sample::run_samples(&schedule, &mut h, || posix_spawn_once(programs))?,
        Model::Command => sample::run_samples(&schedule, &mut h, command_once)?,
        Model::ThreadSpawn => {
            anyhow::bail!("{model} starts a thread: it runs after every fork, not here")
        }
    };
    let p50 = h.value_at_quantile(0.5);
    let out = Outcome::sampled(done, h);
    let r = case.finish(s, out)?;
    s.emit(r)?;
    Ok(p50)
}

/// C7: creating (and reaping) a process costs more than a thread; the ratios
/// of every process model measured in this repetition to the thread's median.
fn verdict(process_p50: &[(Model, u64)], thread_ns: u64) -> Option<Verdict> {
    let ordered: Vec<(&str, u64)> = process_p50.iter().map(|&(m, ns)| (m.name(), ns)).collect();
    c7::spawn(&ordered, thread_ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_states_every_ratio() {
        let p = [(Model::ForkExit, 60_000u64), (Model::PosixSpawn, 300_000)];
        let v = verdict(&p, 20_000).unwrap();
        assert!(v.holds(), "{}", v.text);
        assert!(
            v.text.contains("3.0×") && v.text.contains("fork-exit"),
            "{}",
            v.text
        );
        assert!(!verdict(&p, 100_000).unwrap().holds());
        assert!(verdict(&[], 1).is_none());
    }

    #[test]
    fn a_touched_heap_has_its_size() {
        let h = touched_heap(3 * 4096 + 1);
        assert_eq!(h.len(), 3 * 4096 + 1);
        assert_eq!(h.iter().filter(|&&b| b == 1).count(), 4);
    }
}
