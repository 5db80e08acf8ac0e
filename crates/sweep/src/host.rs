//! What the README says about this machine and checkout when the sweep
//! starts: the time, the CPUs, memory, kernel, load, git and toolchain.
//!
//! Each fact is read from `/proc`, a syscall or a command (`git`, `rustc`,
//! `cargo`), and says "unknown" rather than failing: a sweep on a machine
//! without git or a toolchain (`--bin-dir`) still writes its README.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use harness::claims::noise::BUSY_MIN;
use harness::interference::Reading;

/// Now, in UTC to the second (`2026-11-23T04:31:41Z`).
pub fn now_utc() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

/// The CPUs this process may use (its affinity mask), at least 1.
pub fn allowed_cpus() -> u32 {
    harness::cores::allowed_cpus()
        .ok()
        .map(|c| c.len())
        .filter(|&n| n > 0)
        .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
        .map_or(1, |n| u32::try_from(n).unwrap_or(u32::MAX))
}

/// The CPUs online (`/sys/devices/system/cpu/online`).
pub fn online_cpus() -> Option<usize> {
    let list = std::fs::read_to_string("/sys/devices/system/cpu/online").ok()?;
    harness::cores::parse_cpu_list(&list).map(|c| c.len())
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The first `model name` of `/proc/cpuinfo`, and whether the CPU flags say
/// it runs under a hypervisor.
pub fn cpu_model() -> (Option<String>, bool) {
    let info = read("/proc/cpuinfo");
    let model = info
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, m)| m.trim().to_string());
    let hypervisor = info
        .lines()
        .filter(|l| l.starts_with("flags"))
        .any(|l| l.split_whitespace().any(|w| w == "hypervisor"));
    (model, hypervisor)
}

/// `MemTotal` in GiB with one decimal (`23.5`).
pub fn memory_gib() -> String {
    read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or_else(
            || "unknown".to_string(),
            |kib| format!("{:.1}", kib / 1_048_576.0),
        )
}

/// The kernel's name and release (`uname -sr`), and its name alone.
pub fn kernel() -> (String, String) {
    match nix::sys::utsname::uname() {
        Ok(u) => {
            let sys = u.sysname().to_string_lossy().into_owned();
            let rel = u.release().to_string_lossy().into_owned();
            (format!("{sys} {rel}"), sys)
        }
        Err(_) => ("unknown kernel".to_string(), "unknown".to_string()),
    }
}

/// The host name (`hostname`).
pub fn hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .map(|h| h.to_string_lossy().into_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

/// The 1, 5 and 15-minute load averages (`0.52 0.41 0.30`).
pub fn load_average() -> String {
    read("/proc/loadavg")
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// How long the sweep watches the CPUs before its first run.
pub const WATCH: Duration = Duration::from_millis(500);

/// The share of this process's CPUs that other programs (and the
/// hypervisor's steal) took over [`WATCH`], from the kernel's accounting as
/// every case measures its own. Not the load average: right after a build
/// its one-minute figure still carries the build (2.6 on an idle 2-CPU VM).
pub fn others_now() -> f64 {
    let cpus = harness::cores::allowed_cpus().unwrap_or_default();
    let start = Reading::now(&cpus);
    std::thread::sleep(WATCH);
    start.until(&Reading::now(&cpus)).taken_fraction()
}

/// A warning when other programs took at least [`BUSY_MIN`] of the CPUs
/// (the share that makes a case's verdict inconclusive). Empty otherwise.
pub fn busy(others: f64) -> &'static str {
    if others >= BUSY_MIN {
        " — busy: expect noisy numbers, and inconclusive verdicts where a case was slowed"
    } else {
        ""
    }
}

/// The first line a command prints on stdout, if it runs and succeeds.
fn first_line(cmd: &mut Command) -> Option<String> {
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().next().map(|l| l.trim().to_string())
}

/// The checkout's git revision (`None` where there is no git or no
/// checkout) and whether tracked files differ from it.
pub fn git(root: Option<&Path>) -> (Option<String>, bool) {
    let Some(root) = root else {
        return (None, false);
    };
    let rev = first_line(Command::new("git").arg("-C").arg(root).args([
        "rev-parse",
        "--verify",
        "-q",
        "HEAD",
    ]))
    .filter(|r| !r.is_empty());
    let dirty = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["status", "--porcelain", "--untracked-files=no"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success() && !o.stdout.is_empty());
    (rev, dirty)
}

/// `rustc -V` and `cargo -V` as run in `root` (which may pin a toolchain),
/// or `None` where there is no toolchain.
pub fn toolchain(root: Option<&Path>) -> Option<String> {
    let version = |tool: &str| {
        let mut cmd = Command::new(tool);
        cmd.arg("-V");
        if let Some(root) = root {
            cmd.current_dir(root);
        }
        first_line(&mut cmd)
    };
    let rustc = version("rustc")?;
    let cargo = version("cargo").unwrap_or_else(|| "no cargo".to_string());
    Some(format!("{rustc}, {cargo}"))
}

/// The width of the terminal on stderr (`COLUMNS`, else the window size),
/// 120 when there is none.
pub fn terminal_width() -> u16 {
    if let Some(c) = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()) {
        return c;
    }
    let mut ws = nix::libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one winsize into the valid pointer given; fd 2 is stderr.
    let rc = unsafe { nix::libc::ioctl(2, nix::libc::TIOCGWINSZ, &mut ws) };
    if rc == 0 && ws.ws_col > 0 {
        ws.ws_col
    } else {
        120
    }
}

/// Whole seconds as `m:ss`.
pub fn fmt_secs(secs: u64) -> String {
    format!("{}:{:02}", secs / 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_from_the_share_other_programs_took() {
        assert_eq!(busy(0.03), "");
        assert!(busy(BUSY_MIN).starts_with(" — busy: expect noisy numbers"));
        let now = others_now();
        assert!((0.0..=1.0).contains(&now), "{now}");
    }

    #[test]
    fn minutes_and_seconds() {
        assert_eq!(fmt_secs(0), "0:00");
        assert_eq!(fmt_secs(290), "4:50");
        assert_eq!(fmt_secs(3605), "60:05");
    }

    #[test]
    fn facts_of_this_machine_read_without_failing() {
        assert!(allowed_cpus() >= 1);
        assert!(now_utc().ends_with('Z'));
        assert!(!kernel().0.is_empty() && !hostname().is_empty());
        assert_eq!(load_average().split_whitespace().count(), 3);
        assert!(memory_gib().contains('.'));
    }
}
