//! What else ran on a case's CPUs while it ran, from the kernel's own
//! accounting, read at the start and the end of the case.
//!
//! - `/proc/stat`: per-CPU busy and steal time (in clock ticks). Busy time
//!   on the case's CPUs minus this run's own CPU time is what *other
//!   programs* used there; steal is what the hypervisor gave other machines.
//!   Ticks are coarse (10 ms on most kernels): one tick per CPU is allowed
//!   for the counting, so an idle machine reads 0.
//! - `/proc/pressure/cpu` "some": how long some task of the machine waited
//!   for a CPU (where the kernel has PSI).
//! - `/proc/self/task/*/schedstat`: how long this process's threads that
//!   lived through the case waited runnable (where the kernel keeps
//!   schedstats; many do not, and it then reads 0 and is left out).
//!
//! This run's own CPU time is this process's and its reaped children's, and
//! that of the process groups the session counts as its own
//! (`Session::count_as_own`: a Python interpreter and every process it
//! starts), read from `/proc/<pid>/stat` — else their work would count as
//! other programs'.
//!
//! The reads are a few small files, done outside the measured operation.

use std::time::Instant;

use crate::rusage::{self, Usage, tick_ns};
use record::Interference;

/// One reading.
#[derive(Debug, Clone)]
pub struct Reading {
    at: Instant,
    /// `(busy, steal)` ticks of each CPU of the case.
    cpus: Vec<(u64, u64)>,
    psi_some_us: Option<u64>,
    run_delay: Vec<(u32, u64)>,
    own: Usage,
    children: Usage,
    /// CPU time of the process groups counted as this run's own, by group.
    adopted: Vec<(i32, u64)>,
}

impl Reading {
    /// Reads the accounting of `cpus` now.
    pub fn now(cpus: &[usize]) -> Reading {
        Reading::counting(cpus, &[])
    }

    /// Reads the accounting of `cpus` now, counting the CPU time of the
    /// process groups `own` (every live member, and the children each
    /// reaped) as this run's.
    pub fn counting(cpus: &[usize], own: &[i32]) -> Reading {
        Reading {
            at: Instant::now(),
            cpus: cpu_ticks(cpus),
            psi_some_us: psi_some_us(),
            run_delay: run_delays(),
            own: Usage::this_process(),
            children: Usage::children(),
            adopted: own
                .iter()
                .filter_map(|&g| Some((g, rusage::process_group_cpu_ns(g)?)))
                .collect(),
        }
    }

    /// CPU time the adopted groups used from this reading to `end`: a group
    /// whose leader was reaped meanwhile moved its time into this process's
    /// children.
    fn adopted_since(&self, end: &Reading) -> u64 {
        self.adopted
            .iter()
            .filter_map(|(pid, a)| {
                let b = end.adopted.iter().find(|e| e.0 == *pid)?.1;
                Some(b.saturating_sub(*a))
            })
            .sum()
    }

    /// The interference from this reading to `end` (taken later).
    pub fn until(&self, end: &Reading) -> Interference {
        let window_ns = end.at.duration_since(self.at).as_nanos().max(1) as u64;
        let n = self.cpus.len().min(end.cpus.len()).max(1) as f64;
        let tick = tick_ns();
        let (mut busy, mut steal) = (0u64, 0u64);
        for (a, b) in self.cpus.iter().zip(&end.cpus) {
            busy += b.0.saturating_sub(a.0);
            steal += b.1.saturating_sub(a.1);
        }
        let own = end.own.since(&self.own);
        let kids = end.children.since(&self.children);
        let own_ns =
            (own.user_ns + own.sys_ns + kids.user_ns + kids.sys_ns + self.adopted_since(end))
                as f64;
        let capacity = window_ns as f64 * n;
        // One tick per CPU may be counting, not load.
        let others = (busy as f64 * tick - own_ns - n * tick).max(0.0);
        let steal_ns = (steal as f64 * tick - n * tick).max(0.0);
        let pressure = match (self.psi_some_us, end.psi_some_us) {
            (Some(a), Some(b)) => {
                Some((b.saturating_sub(a) as f64 * 1e3 / window_ns as f64).min(1.0))
            }
            _ => None,
        };
        let delay: u64 = self
            .run_delay
            .iter()
            .filter_map(|(tid, d0)| {
                end.run_delay
                    .iter()
                    .find(|(t, _)| t == tid)
                    .map(|(_, d1)| d1.saturating_sub(*d0))
            })
            .sum();
        Interference {
            others_cpu_fraction: (others / capacity).min(1.0),
            steal_fraction: (steal_ns / capacity).min(1.0),
            cpu_pressure_fraction: pressure,
            run_delay_ns: (!end.run_delay.is_empty()).then_some(delay),
            window_ns,
        }
    }
}

/// `(busy, steal)` ticks of each of `cpus` from `/proc/stat`: busy is user,
/// nice, system, irq and softirq (idle, iowait, steal and the guest times,
/// which user already counts, are not).
fn cpu_ticks(cpus: &[usize]) -> Vec<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    parse_cpu_ticks(&text, cpus)
}

fn parse_cpu_ticks(text: &str, cpus: &[usize]) -> Vec<(u64, u64)> {
    let mut out = Vec::with_capacity(cpus.len());
    for &c in cpus {
        let name = format!("cpu{c}");
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name.as_str()));
        let f: Vec<u64> = line
            .map(|l| {
                l.split_whitespace()
                    .skip(1)
                    .map(|x| x.parse().unwrap_or(0))
                    .collect()
            })
            .unwrap_or_default();
        let get = |i: usize| f.get(i).copied().unwrap_or(0);
        // user nice system idle iowait irq softirq steal guest guest_nice
        out.push((get(0) + get(1) + get(2) + get(5) + get(6), get(7)));
    }
    out
}

/// `/proc/pressure/cpu` "some" total, microseconds.
fn psi_some_us() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/pressure/cpu").ok()?;
    text.lines()
        .find(|l| l.starts_with("some"))?
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix("total="))?
        .parse()
        .ok()
}

/// `(tid, run delay ns)` of this process's threads, where schedstats count
/// anything (empty where they read 0, as on kernels without schedstats).
fn run_delays() -> Vec<(u32, u64)> {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut any_time = false;
    for e in dir.flatten() {
        let Some(tid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(s) = std::fs::read_to_string(e.path().join("schedstat")) else {
            continue;
        };
        let f: Vec<u64> = s
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        if f.len() >= 2 {
            any_time |= f[0] > 0;
            out.push((tid, f[1]));
        }
    }
    if any_time { out } else { Vec::new() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_busy_and_steal_ticks() {
        let text =
            "cpu  1 2 3 4 5 6 7 8 9 10\ncpu0 10 1 5 100 7 2 3 4 0 0\ncpu1 1 0 0 200 0 0 0 0 0 0\n";
        assert_eq!(parse_cpu_ticks(text, &[0, 1]), [(21, 4), (1, 0)]);
        assert_eq!(parse_cpu_ticks(text, &[7]), [(0, 0)]);
    }

    #[test]
    fn an_idle_window_reads_almost_nothing() {
        let cpus = crate::cores::allowed_cpus().unwrap();
        let a = Reading::now(&cpus[..1]);
        std::thread::sleep(std::time::Duration::from_millis(30));
        let i = a.until(&Reading::now(&cpus[..1]));
        assert!(i.window_ns >= 30_000_000);
        assert!((0.0..=1.0).contains(&i.others_cpu_fraction));
        assert!((0.0..=1.0).contains(&i.steal_fraction));
    }
}
