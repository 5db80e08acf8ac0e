//! Resource use of the process and its children: CPU time, context switches,
//! resident memory.
//!
//! `getrusage` gives CPU time and context switches (for the whole process,
//! every thread included, and separately for reaped children). Peak resident
//! memory per case comes from `VmHWM` in `/proc/self/status`, which
//! [`reset_peak_rss`] resets between cases by writing `5` to
//! `/proc/self/clear_refs`; children's peak is `ru_maxrss` of
//! `RUSAGE_CHILDREN` (the largest reaped child).

use nix::sys::resource::{UsageWho, getrusage};

/// A snapshot of resource counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// User CPU time, nanoseconds.
    pub user_ns: u64,
    /// System CPU time, nanoseconds.
    pub sys_ns: u64,
    /// Voluntary context switches (the thread gave up the CPU, e.g. to wait).
    pub voluntary: u64,
    /// Involuntary context switches (the scheduler took the CPU away).
    pub involuntary: u64,
    /// Peak resident set, bytes (`ru_maxrss`).
    pub max_rss_bytes: u64,
}

impl Usage {
    /// Counters of this process (all its threads).
    pub fn this_process() -> Usage {
        read(UsageWho::RUSAGE_SELF)
    }

    /// Counters of the calling thread alone (`RUSAGE_THREAD`), for a part of
    /// a process (a load generator's threads) that must be told apart from the rest.
    pub fn this_thread() -> Usage {
        read(UsageWho::RUSAGE_THREAD)
    }

    /// Counters of this process's reaped children, added up.
    pub fn children() -> Usage {
        read(UsageWho::RUSAGE_CHILDREN)
    }

    /// Counter increases from `earlier` to `self` (peak memory is not a counter and is kept).
    pub fn since(&self, earlier: &Usage) -> Usage {
        Usage {
            user_ns: self.user_ns.saturating_sub(earlier.user_ns),
            sys_ns: self.sys_ns.saturating_sub(earlier.sys_ns),
            voluntary: self.voluntary.saturating_sub(earlier.voluntary),
            involuntary: self.involuntary.saturating_sub(earlier.involuntary),
            max_rss_bytes: self.max_rss_bytes,
        }
    }

    /// Adds the counters of `other`; the peak memory is the larger of the two.
    pub fn plus(&self, other: &Usage) -> Usage {
        Usage {
            user_ns: self.user_ns + other.user_ns,
            sys_ns: self.sys_ns + other.sys_ns,
            voluntary: self.voluntary + other.voluntary,
            involuntary: self.involuntary + other.involuntary,
            max_rss_bytes: self.max_rss_bytes.max(other.max_rss_bytes),
        }
    }
}

fn read(who: UsageWho) -> Usage {
    let Ok(u) = getrusage(who) else {
        return Usage::default();
    };
    let ns =
        |t: nix::sys::time::TimeVal| t.tv_sec() as u64 * 1_000_000_000 + t.tv_usec() as u64 * 1_000;
    Usage {
        user_ns: ns(u.user_time()),
        sys_ns: ns(u.system_time()),
        voluntary: u.voluntary_context_switches() as u64,
        involuntary: u.involuntary_context_switches() as u64,
        // Linux reports ru_maxrss in kibibytes.
        max_rss_bytes: u.max_rss() as u64 * 1024,
    }
}

/// One field of `/proc/<pid>/status` (`pid` may be `self`), without its unit.
pub fn proc_status_field(pid: &str, field: &str) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k == field).then(|| v.trim().trim_end_matches(" kB").trim().to_string())
    })
}

fn kib_field(pid: &str, field: &str) -> Option<u64> {
    proc_status_field(pid, field)?
        .parse::<u64>()
        .ok()
        .map(|k| k * 1024)
}

/// CPU time of the calling thread so far, nanoseconds, exact to the moment
/// (`CLOCK_THREAD_CPUTIME_ID`): `RUSAGE_THREAD` lags by up to a scheduler
/// tick, too coarse for a part of a case that lasts a few milliseconds.
pub fn thread_cpu_ns() -> u64 {
    let mut ts = nix::libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the call to fill.
    let rc = unsafe { nix::libc::clock_gettime(nix::libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0;
    }
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Resident memory of this process now, bytes (`VmRSS`).
pub fn current_rss_bytes() -> Option<u64> {
    kib_field("self", "VmRSS")
}

/// Resident memory of process `pid` now, bytes.
pub fn rss_bytes_of(pid: i32) -> Option<u64> {
    kib_field(&pid.to_string(), "VmRSS")
}

/// Peak resident memory of this process since start or the last reset, bytes (`VmHWM`).
pub fn peak_rss_bytes() -> Option<u64> {
    kib_field("self", "VmHWM")
}

/// Resets the peak resident memory to the current one, so the next
/// [`peak_rss_bytes`] is the peak of one case. Returns false where the kernel
/// does not allow it (then the peak is the process's lifetime peak).
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Hands memory that was freed back to the kernel (glibc's `malloc_trim`),
/// so that the resident memory of a case does not include what an earlier
/// case of the same process freed but the allocator kept. No-op elsewhere.
pub fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        nix::libc::malloc_trim(0);
    }
}

/// `(process group, CPU ticks)` of process `pid` from `/proc/<pid>/stat`:
/// `utime + stime + cutime + cstime`, its own and its reaped children's.
fn stat_group_ticks(pid: &str) -> Option<(i32, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name, which is in parentheses: pgrp is
    // field 5 of the whole line, utime 14 … cstime 17.
    let rest: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    let pgrp = rest.get(2)?.parse().ok()?;
    let ticks = rest
        .get(11..15)?
        .iter()
        .map(|x| x.parse::<u64>().unwrap_or(0))
        .sum();
    Some((pgrp, ticks))
}

/// CPU time of every live process of group `pgid`, each with the children
/// it has reaped, nanoseconds (a scan of `/proc`); `None` when the group has
/// no member. A member's time moves into its parent's when the parent reaps
/// it, so each process counts once.
pub fn process_group_cpu_ns(pgid: i32) -> Option<u64> {
    let mut any = false;
    let mut ticks = 0u64;
    for e in std::fs::read_dir("/proc").ok()?.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        if let Some((g, t)) = stat_group_ticks(pid)
            && g == pgid
        {
            any = true;
            ticks += t;
        }
    }
    any.then(|| (ticks as f64 * tick_ns()) as u64)
}

/// Nanoseconds per clock tick of `/proc` (`USER_HZ`).
pub fn tick_ns() -> f64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let hz = unsafe { nix::libc::sysconf(nix::libc::_SC_CLK_TCK) };
    1e9 / if hz > 0 { hz as f64 } else { 100.0 }
}

/// Proportional and resident memory of process `pid` from `/proc/<pid>/smaps_rollup`, bytes.
pub fn pss_rss_bytes_of(pid: i32) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    let field = |name: &str| {
        text.lines().find_map(|l| {
            let rest = l.strip_prefix(name)?.strip_prefix(':')?;
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
                .map(|k| k * 1024)
        })
    };
    Some((field("Pss")?, field("Rss")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_move_forward() {
        let a = Usage::this_process();
        let mut x = 0u64;
        for i in 0..3_000_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        let b = Usage::this_process();
        let d = b.since(&a);
        assert!(d.user_ns + d.sys_ns > 0);
        assert!(b.max_rss_bytes > 0);
        let t = Usage::this_thread();
        let p = Usage::this_process();
        assert!(t.user_ns + t.sys_ns > 0, "{t:?}");
        // The kernel splits each total into user and system time by sampled
        // ticks, separately for the thread and the process, so only the
        // totals compare: a thread's user time can exceed the process's.
        assert!(t.user_ns + t.sys_ns <= p.user_ns + p.sys_ns, "{t:?} {p:?}");
    }

    #[test]
    fn a_process_groups_cpu_is_read_from_proc() {
        let mut x = 0u64;
        for i in 0..30_000_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        // SAFETY: getpgrp has no preconditions.
        let group = unsafe { nix::libc::getpgrp() };
        let (_, mine) = stat_group_ticks(&std::process::id().to_string()).unwrap();
        assert!(process_group_cpu_ns(group).unwrap() as f64 >= mine as f64 * tick_ns() - 1.0);
        assert_eq!(process_group_cpu_ns(i32::MAX), None);
    }

    #[test]
    fn memory_fields_are_read() {
        assert!(current_rss_bytes().unwrap() > 0);
        assert!(peak_rss_bytes().unwrap() >= current_rss_bytes().unwrap() / 2);
        let (pss, rss) = pss_rss_bytes_of(std::process::id() as i32).unwrap();
        assert!(pss > 0 && rss > 0);
    }
}
