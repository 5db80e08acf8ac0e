//! Reading the machine fingerprint every record carries (the type is
//! `record::Machine`): CPU, memory, kernel, and the provenance baked in at
//! build time (git revision, rustc, crate versions).

pub use record::machine::Machine;

use crate::cores::{allowed_cpus, format_cpu_list, parse_cpu_list};

/// Reads the fingerprint. Call it before `--cores` pins the process, so
/// `allowed_cpus` is what the user gave the process.
pub fn detect() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .and_then(|r| r.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let virtualization = if cpuinfo
        .lines()
        .any(|l| l.starts_with("flags") && l.contains(" hypervisor"))
    {
        "hypervisor".to_string()
    } else {
        String::new()
    };
    let online = std::fs::read_to_string("/sys/devices/system/cpu/online").unwrap_or_default();
    let online_cpus = parse_cpu_list(&online)
        .map(|c| format_cpu_list(&c))
        .unwrap_or_default();
    let allowed = allowed_cpus().unwrap_or_default();
    let mem_total_bytes = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |k| k * 1024);
    let uname = nix::sys::utsname::uname().ok();
    let kernel = uname
        .as_ref()
        .map(|u| {
            format!(
                "{} {}",
                u.sysname().to_string_lossy(),
                u.release().to_string_lossy()
            )
        })
        .unwrap_or_default();
    let hostname = uname
        .map(|u| u.nodename().to_string_lossy().into_owned())
        .unwrap_or_default();
    let crates = env!("CONPAR_CRATES")
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Machine {
        cpu_model,
        online_cpus,
        allowed_cpus: format_cpu_list(&allowed),
        allowed_cpu_count: allowed.len(),
        mem_total_bytes,
        kernel,
        hostname,
        virtualization,
        rustc: env!("CONPAR_RUSTC").to_string(),
        crates,
        git_rev: env!("CONPAR_GIT_REV").to_string(),
        git_dirty: env!("CONPAR_GIT_DIRTY").to_string(),
        argv: std::env::args().collect(),
        timestamp: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        profile: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
        .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_something_sensible() {
        let m = detect();
        assert!(m.allowed_cpu_count >= 1);
        assert!(m.mem_total_bytes > 0);
        assert!(m.kernel.starts_with("Linux"));
        assert!(m.rustc.starts_with("rustc"), "{}", m.rustc);
        assert!(m.timestamp.ends_with('Z'));
        assert!(m.crates.contains_key("hdrhistogram"), "{:?}", m.crates);
    }
}
