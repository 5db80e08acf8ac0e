//! Operating-system limits, checked before a large run so it fails at once
//! with a message that names the limit and how to raise it, rather than
//! half-way with `EAGAIN`.

use nix::sys::resource::{Resource, getrlimit, setrlimit};

use crate::UsageError;

fn read_u64(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn available_memory_bytes() -> Option<u64> {
    let m = std::fs::read_to_string("/proc/meminfo").ok()?;
    m.lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|k| k * 1024)
}

/// Checks that `n` more threads can exist at once (threads-max, pid_max,
/// max_map_count, RLIMIT_NPROC and memory for `stack_bytes` each).
pub fn check_threads(n: u64, stack_bytes: u64) -> Result<(), UsageError> {
    check_tasks(n, "threads")?;
    if let Some(maps) = read_u64("/proc/sys/vm/max_map_count") {
        // Each thread stack is a mapping plus a guard page mapping.
        if 2 * n + 1000 > maps {
            return Err(UsageError(format!(
                "{n} threads need about {} memory mappings but vm.max_map_count is {maps}; \
                 raise it with `sudo sysctl -w vm.max_map_count={}` or ask for fewer",
                2 * n + 1000,
                (2 * n + 1000).next_power_of_two()
            )));
        }
    }
    check_memory(
        n.saturating_mul(stack_bytes.min(64 << 10)),
        &format!("{n} threads"),
    )
}

/// Checks that `n` more processes can exist at once.
pub fn check_processes(n: u64) -> Result<(), UsageError> {
    check_tasks(n, "processes")
}

fn check_tasks(n: u64, what: &str) -> Result<(), UsageError> {
    if let Some(max) = read_u64("/proc/sys/kernel/threads-max")
        && n + 500 > max
    {
        return Err(UsageError(format!(
            "{n} {what} exceed kernel.threads-max ({max}); raise it with \
                 `sudo sysctl -w kernel.threads-max={}` or ask for fewer",
            (n + 500).next_power_of_two()
        )));
    }
    if let Some(max) = read_u64("/proc/sys/kernel/pid_max")
        && n + 500 > max
    {
        return Err(UsageError(format!(
            "{n} {what} exceed kernel.pid_max ({max}); raise it with \
                 `sudo sysctl -w kernel.pid_max={}` or ask for fewer",
            (n + 500).next_power_of_two().min(4_194_304)
        )));
    }
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NPROC)
        && soft != nix::libc::RLIM_INFINITY
        && n + 100 > soft
    {
        if hard == nix::libc::RLIM_INFINITY || n + 100 <= hard {
            let _ = setrlimit(Resource::RLIMIT_NPROC, hard, hard);
        } else {
            return Err(UsageError(format!(
                "{n} {what} exceed the per-user process limit (ulimit -u: soft {soft}, hard {hard}); \
                     raise it in /etc/security/limits.conf or ask for fewer"
            )));
        }
    }
    Ok(())
}

/// Raises the open-files soft limit to what `n` descriptors need (up to the
/// hard limit), or fails naming the limit.
pub fn ensure_open_files(n: u64) -> Result<u64, UsageError> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)
        .map_err(|e| UsageError(format!("cannot read the open-files limit: {e}")))?;
    let want = n + 64;
    if want <= soft {
        return Ok(soft);
    }
    if want > hard {
        return Err(UsageError(format!(
            "{n} descriptors exceed the open-files hard limit (ulimit -Hn = {hard}); raise it \
             (limits.conf `nofile`, or systemd LimitNOFILE) or split client and server into two processes"
        )));
    }
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard).map_err(|e| {
        UsageError(format!(
            "cannot raise the open-files soft limit from {soft} to {hard}: {e}"
        ))
    })?;
    Ok(hard)
}

/// Checks that `bytes` more can be allocated without swapping (MemAvailable).
pub fn check_memory(bytes: u64, what: &str) -> Result<(), UsageError> {
    if let Some(avail) = available_memory_bytes()
        && bytes > avail / 10 * 9
    {
        return Err(UsageError(format!(
            "{what} need about {} MiB but only {} MiB of memory is available; ask for fewer",
            bytes >> 20,
            avail >> 20
        )));
    }
    Ok(())
}

/// The limits the largest runs of a sweep meet, as read on this machine;
/// `None` where a limit is unknown or unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OsLimits {
    /// `kernel.threads-max`.
    pub threads_max: Option<u64>,
    /// `kernel.pid_max`.
    pub pid_max: Option<u64>,
    /// `vm.max_map_count`.
    pub max_map_count: Option<u64>,
    /// The per-user process hard limit (`ulimit -Hu`).
    pub nproc_hard: Option<u64>,
    /// The open-files hard limit (`ulimit -Hn`).
    pub nofile_hard: Option<u64>,
    /// `MemAvailable`.
    pub available_bytes: Option<u64>,
}

impl OsLimits {
    /// Reads the limits of this machine and process.
    pub fn read() -> OsLimits {
        let hard = |r: Resource| {
            getrlimit(r)
                .ok()
                .map(|(_, hard)| hard)
                .filter(|&h| h != nix::libc::RLIM_INFINITY)
        };
        let known = |v: Option<u64>| v.filter(|&v| v > 0);
        OsLimits {
            threads_max: known(read_u64("/proc/sys/kernel/threads-max")),
            pid_max: known(read_u64("/proc/sys/kernel/pid_max")),
            max_map_count: known(read_u64("/proc/sys/vm/max_map_count")),
            nproc_hard: hard(Resource::RLIMIT_NPROC),
            nofile_hard: hard(Resource::RLIMIT_NOFILE),
            available_bytes: known(available_memory_bytes()),
        }
    }
}

/// Checks, before a sweep starts, that its largest runs fit this machine:
/// up to `threads` threads alive at once, `files` descriptors in one
/// process, `memory_bytes` of memory. The hard limits count, as every
/// binary raises its soft limits to them. The error names the limit and
/// how to raise it.
pub fn check_sweep(threads: u64, files: u64, memory_bytes: u64) -> Result<(), UsageError> {
    check_sweep_against(&OsLimits::read(), threads, files, memory_bytes)
}

/// [`check_sweep`] against given limits.
pub fn check_sweep_against(
    l: &OsLimits,
    threads: u64,
    files: u64,
    memory_bytes: u64,
) -> Result<(), UsageError> {
    let fail = |msg: String| Err(UsageError(msg));
    let want = threads + 1000;
    if let Some(v) = l.threads_max.filter(|&v| v < want) {
        return fail(format!(
            "kernel.threads-max is {v} but the sweep starts up to {threads} threads at once \
             (thread memory); raise it with `sudo sysctl -w kernel.threads-max={}`",
            want * 2
        ));
    }
    if let Some(v) = l.pid_max.filter(|&v| v < want) {
        return fail(format!(
            "kernel.pid_max is {v} but the sweep starts up to {threads} threads at once; \
             raise it with `sudo sysctl -w kernel.pid_max={}`",
            (want * 2).min(4_194_304)
        ));
    }
    let maps = 2 * threads + 1000;
    if let Some(v) = l.max_map_count.filter(|&v| v < maps) {
        return fail(format!(
            "vm.max_map_count is {v} but {threads} threads need about {maps} mappings; \
             raise it with `sudo sysctl -w vm.max_map_count={}`",
            maps.next_power_of_two().max(262_144)
        ));
    }
    if let Some(v) = l.nproc_hard.filter(|&v| v < threads + 200) {
        return fail(format!(
            "the per-user process limit (ulimit -Hu) is {v} but the sweep starts up to \
             {threads} threads; raise nproc in /etc/security/limits.conf"
        ));
    }
    if let Some(v) = l.nofile_hard.filter(|&v| v < files) {
        return fail(format!(
            "the open-files hard limit (ulimit -Hn) is {v} but echo needs {files} descriptors; \
             raise nofile in /etc/security/limits.conf (or systemd LimitNOFILE)"
        ));
    }
    if let Some(v) = l.available_bytes.filter(|&v| v < memory_bytes) {
        return fail(format!(
            "only {} MiB of memory is available but the sweep needs about {} MiB \
             (coroutine memory, thread memory); free some",
            v >> 20,
            memory_bytes >> 20
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_runs_pass() {
        check_threads(10, 2 << 20).unwrap();
        check_processes(10).unwrap();
        check_memory(1 << 20, "a test").unwrap();
        assert!(ensure_open_files(16).unwrap() >= 80);
    }

    #[test]
    fn absurd_runs_name_the_limit() {
        let e = check_threads(u64::MAX / 4, 8192).unwrap_err().to_string();
        assert!(
            e.contains("threads-max") || e.contains("pid_max") || e.contains("max_map_count"),
            "{e}"
        );
        let e = check_memory(u64::MAX / 2, "a huge run")
            .unwrap_err()
            .to_string();
        assert!(e.contains("MiB"), "{e}");
        let e = ensure_open_files(u64::MAX / 2).unwrap_err().to_string();
        assert!(e.contains("ulimit -Hn"), "{e}");
    }

    #[test]
    fn a_sweep_names_the_limit_it_lacks() {
        let roomy = OsLimits {
            threads_max: Some(100_000),
            pid_max: Some(100_000),
            max_map_count: Some(65_530),
            nproc_hard: None,
            nofile_hard: Some(1 << 20),
            available_bytes: Some(8 << 30),
        };
        check_sweep_against(&roomy, 11_000, 10_100, 4 << 30).unwrap();
        check_sweep_against(&OsLimits::default(), 11_000, 10_100, 4 << 30).unwrap();
        let cases = [
            (
                OsLimits {
                    threads_max: Some(4000),
                    ..roomy
                },
                "kernel.threads-max is 4000",
            ),
            (
                OsLimits {
                    pid_max: Some(4000),
                    ..roomy
                },
                "sysctl -w kernel.pid_max=",
            ),
            (
                OsLimits {
                    max_map_count: Some(10_000),
                    ..roomy
                },
                "vm.max_map_count",
            ),
            (
                OsLimits {
                    nproc_hard: Some(4096),
                    ..roomy
                },
                "ulimit -Hu",
            ),
            (
                OsLimits {
                    nofile_hard: Some(4096),
                    ..roomy
                },
                "ulimit -Hn) is 4096",
            ),
            (
                OsLimits {
                    available_bytes: Some(1 << 30),
                    ..roomy
                },
                "only 1024 MiB",
            ),
        ];
        for (limits, names) in cases {
            let e = check_sweep_against(&limits, 11_000, 10_100, 4 << 30)
                .unwrap_err()
                .to_string();
            assert!(e.contains(names), "{e}");
        }
        // quick mode's needs fit where full mode's do not
        check_sweep_against(&cases[0].0, 3000, 300, 1 << 30).unwrap();
    }
}
