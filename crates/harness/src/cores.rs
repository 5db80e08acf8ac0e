//! `--cores N`: which CPUs a run may use, and how many workers it starts.
//!
//! The process is pinned to the first N CPUs of its allowed set with
//! `sched_setaffinity` on the main thread *before any other thread exists*, so
//! every later thread and child inherits the mask (and
//! `available_parallelism` honours it). Every pool and runtime is then sized
//! to N by the binary. Asking for more CPUs than allowed is an error that
//! names them, unless `--oversubscribe` is given: then the process keeps all
//! allowed CPUs and still runs N workers.

use std::fmt::Write as _;

use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use crate::UsageError;

/// The resolved `--cores`: the CPUs the process is pinned to and the number
/// of workers every pool and runtime is sized to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoreSet {
    /// CPUs the process is pinned to, ascending.
    pub cpus: Vec<usize>,
    /// Workers to start (N of `--cores N`); more than `cpus.len()` only when oversubscribed.
    pub workers: usize,
    /// CPUs the process was allowed before pinning.
    pub allowed: Vec<usize>,
}

impl CoreSet {
    /// Chooses the CPUs for `--cores` from `allowed` (pure: no system call).
    pub fn choose(
        allowed: &[usize],
        requested: Option<u32>,
        oversubscribe: bool,
    ) -> Result<CoreSet, UsageError> {
        if allowed.is_empty() {
            return Err(UsageError(
                "this process may run on no CPU at all (empty affinity mask)".into(),
            ));
        }
        let n = requested.map_or(allowed.len(), |n| n as usize);
        if n == 0 {
            return Err(UsageError("--cores must be at least 1".into()));
        }
        if n > allowed.len() && !oversubscribe {
            return Err(UsageError(format!(
                "--cores {n} is more than the {} CPU(s) this process may run on ({}); \
                 use --cores {} or less, or add --oversubscribe to run {n} workers on them anyway",
                allowed.len(),
                format_cpu_list(allowed),
                allowed.len()
            )));
        }
        let cpus = allowed[..n.min(allowed.len())].to_vec();
        Ok(CoreSet {
            cpus,
            workers: n,
            allowed: allowed.to_vec(),
        })
    }

    /// Resolves `--cores` against this process's affinity mask and pins the
    /// process to the chosen CPUs.
    ///
    /// Call it on the main thread before any other thread or runtime exists:
    /// the mask is then inherited by everything started later. It refuses to
    /// run in a multi-threaded process, where it would pin only the caller.
    pub fn pin(requested: Option<u32>, oversubscribe: bool) -> anyhow::Result<CoreSet> {
        let allowed = allowed_cpus()?;
        let set = CoreSet::choose(&allowed, requested, oversubscribe)?;
        if let Some(threads) = thread_count() {
            anyhow::ensure!(
                threads == 1,
                "internal error: --cores must be applied before any thread starts, but {threads} threads exist"
            );
        }
        set_affinity(Pid::from_raw(0), &set.cpus)?;
        Ok(set)
    }

    /// True when more workers run than CPUs are pinned.
    pub fn oversubscribed(&self) -> bool {
        self.workers > self.cpus.len()
    }

    /// The pinned CPUs as a list like `0-3,8`.
    pub fn cpu_list(&self) -> String {
        format_cpu_list(&self.cpus)
    }

    /// Pins the calling thread back to the whole set, after a placement (or
    /// anything else) pinned it to one CPU.
    pub fn repin_current_thread(&self) -> anyhow::Result<()> {
        set_affinity(Pid::from_raw(0), &self.cpus)
    }
}

/// The CPUs this process may run on now, ascending.
pub fn allowed_cpus() -> anyhow::Result<Vec<usize>> {
    let set = sched_getaffinity(Pid::from_raw(0))
        .map_err(|e| anyhow::anyhow!("sched_getaffinity failed: {e}"))?;
    Ok((0..CpuSet::count())
        .filter(|&c| set.is_set(c).unwrap_or(false))
        .collect())
}

/// Pins the calling thread (pid 0) or the given task to exactly `cpus`.
pub fn set_affinity(pid: Pid, cpus: &[usize]) -> anyhow::Result<()> {
    let mut set = CpuSet::new();
    for &c in cpus {
        set.set(c)
            .map_err(|e| anyhow::anyhow!("CPU {c} cannot be put in an affinity mask: {e}"))?;
    }
    sched_setaffinity(pid, &set).map_err(|e| {
        anyhow::anyhow!(
            "sched_setaffinity to CPUs {} failed: {e}",
            format_cpu_list(cpus)
        )
    })
}

/// Pins the calling thread alone to one CPU (for placements inside a run).
pub fn pin_current_thread(cpu: usize) -> anyhow::Result<()> {
    set_affinity(Pid::from_raw(0), &[cpu])
}

/// Pins the calling thread, the `i`th of a group, to `cpus[i % cpus.len()]`:
/// workers spread round-robin over the `--cores` CPUs. Nothing to do (and
/// `Ok`) when `cpus` is empty.
pub fn pin_round_robin(cpus: &[usize], i: usize) -> anyhow::Result<()> {
    match cpus.len() {
        0 => Ok(()),
        n => pin_current_thread(cpus[i % n]),
    }
}

/// The CPU the calling thread is running on right now.
pub fn current_cpu() -> Option<usize> {
    // SAFETY: sched_getcpu takes no arguments and only reads per-thread state.
    let c = unsafe { nix::libc::sched_getcpu() };
    usize::try_from(c).ok()
}

/// Number of threads of this process, from `/proc/self/status`.
pub fn thread_count() -> Option<usize> {
    crate::rusage::proc_status_field("self", "Threads").and_then(|v| v.parse().ok())
}

/// Formats CPUs the way the kernel does (`0-3,8,10-11`).
pub fn format_cpu_list(cpus: &[usize]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < cpus.len() {
        let start = cpus[i];
        let mut end = start;
        while i + 1 < cpus.len() && cpus[i + 1] == end + 1 {
            i += 1;
            end = cpus[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            let _ = write!(out, "{start}");
        } else {
            let _ = write!(out, "{start}-{end}");
        }
        i += 1;
    }
    out
}

/// Parses a kernel CPU list (`0-3,8`), as in `/sys/devices/system/cpu/online`.
pub fn parse_cpu_list(s: &str) -> Option<Vec<usize>> {
    let mut out = Vec::new();
    for part in s.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => out.extend(a.parse::<usize>().ok()?..=b.parse::<usize>().ok()?),
            None => out.push(part.parse().ok()?),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chooses_the_first_n_allowed() {
        let s = CoreSet::choose(&[2, 3, 5, 7], Some(2), false).unwrap();
        assert_eq!(s.cpus, [2, 3]);
        assert_eq!(s.workers, 2);
        assert!(!s.oversubscribed());
        let all = CoreSet::choose(&[2, 3, 5, 7], None, false).unwrap();
        assert_eq!(all.cpus, [2, 3, 5, 7]);
    }

    #[test]
    fn too_many_cores_names_the_allowed_cpus() {
        let err = CoreSet::choose(&[0, 1], Some(8), false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("--cores 8"), "{err}");
        assert!(err.contains("0-1"), "{err}");
        assert!(err.contains("--oversubscribe"), "{err}");
    }

    #[test]
    fn oversubscribe_keeps_all_cpus_and_n_workers() {
        let s = CoreSet::choose(&[0, 1], Some(8), true).unwrap();
        assert_eq!(s.cpus, [0, 1]);
        assert_eq!(s.workers, 8);
        assert!(s.oversubscribed());
    }

    #[test]
    fn cpu_lists_round_trip() {
        for list in ["0", "0-3", "0-3,8", "1,3,5-6"] {
            let cpus = parse_cpu_list(list).unwrap();
            assert_eq!(format_cpu_list(&cpus), list);
        }
        assert_eq!(parse_cpu_list("0-2,5").unwrap(), [0, 1, 2, 5]);
        assert!(parse_cpu_list("x").is_none());
    }

    #[test]
    fn this_process_has_allowed_cpus() {
        let cpus = allowed_cpus().unwrap();
        assert!(!cpus.is_empty());
        assert!(current_cpu().is_some());
    }

    #[test]
    fn round_robin_pins_the_ith_thread_and_repin_restores_the_set() {
        let cpus = allowed_cpus().unwrap();
        let set = CoreSet::choose(&cpus, None, false).unwrap();
        std::thread::spawn(move || {
            pin_round_robin(&cpus, cpus.len() + 1).unwrap();
            assert_eq!(allowed_cpus().unwrap(), [cpus[1 % cpus.len()]]);
            set.repin_current_thread().unwrap();
            assert_eq!(allowed_cpus().unwrap(), cpus);
            pin_round_robin(&[], 3).unwrap();
            assert_eq!(allowed_cpus().unwrap(), cpus, "no CPUs: left alone");
        })
        .join()
        .unwrap();
    }
}
