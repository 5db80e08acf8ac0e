//! The machine fingerprint every record carries: what ran, where, when, and
//! built from which code. The measuring side fills it in (`harness::machine::detect`);
//! readers only read it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Where and with what a record was measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// CPU model name from `/proc/cpuinfo`.
    pub cpu_model: String,
    /// Online CPUs, kernel list form (`0-15`).
    pub online_cpus: String,
    /// CPUs the process was allowed to run on at start, before `--cores` pinned it.
    pub allowed_cpus: String,
    /// Count of allowed CPUs.
    pub allowed_cpu_count: usize,
    /// Physical memory, bytes.
    pub mem_total_bytes: u64,
    /// Operating system and kernel release (`uname -sr`).
    pub kernel: String,
    /// Host name.
    pub hostname: String,
    /// Hypervisor if the CPU reports one (`hypervisor` flag), else empty.
    pub virtualization: String,
    /// `rustc -V` of the build.
    pub rustc: String,
    /// Versions of the runtimes and key crates, from `Cargo.lock` at build time.
    pub crates: BTreeMap<String, String>,
    /// Git revision of the build, or `unknown`.
    pub git_rev: String,
    /// Whether tracked files differed from the revision at build time (`unknown` outside git).
    pub git_dirty: String,
    /// The command line of the run.
    pub argv: Vec<String>,
    /// When the process started, RFC 3339 UTC.
    pub timestamp: String,
    /// Build profile of the binary (`release` is the only one worth comparing).
    pub profile: String,
}
