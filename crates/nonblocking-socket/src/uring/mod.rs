//! io_uring: completion-based I/O, hand-written over the `io-uring` crate as
//! the epoll loops are over epoll.
//!
//! Where epoll says *which socket is ready* and the program then makes the
//! call (`read`, `write`), io_uring takes the call itself: the program
//! places requests in a submission queue shared with the kernel, one
//! `io_uring_enter` hands over any number of them (and waits, if asked), and
//! the results come back as completions in a second shared queue that the
//! program reads without a system call.
//!
//! - [`echo`]: the `io-uring` and `io-uring-per-core` echo servers, whose
//!   loop is in `completion.rs`;
//! - [`bufring`]: a provided-buffer ring, the pool a multishot receive takes
//!   its buffers from;
//! - this module: whether io_uring can run here at all ([`probe`]), and if
//!   not, why and what would fix it ([`classify`]): a container's default
//!   seccomp profile (EPERM), `kernel.io_uring_disabled`, a kernel without it
//!   (ENOSYS), or a locked-memory limit too low for the rings (ENOMEM, before
//!   Linux 5.12). Models that need it are then skipped with that note, never
//!   crashed. [`FORCE_ERROR_ENV`] makes the probe fail on purpose, so that
//!   the skipped path is tested on a machine where io_uring works.

pub mod bufring;
mod completion;
pub mod echo;

use std::io;

use io_uring::IoUring;
use network::Unavailable;
use nix::errno::Errno;
use nix::sys::resource::{Resource, getrlimit};

/// Set to an errno name (`EPERM`, `ENOSYS`, `ENOMEM`, `EACCES`) to make
/// [`probe`] act as if `io_uring_setup` had failed with it: for tests of the
/// skipped path on machines where io_uring works.
pub const FORCE_ERROR_ENV: &str = "CONPAR_IO_URING_ERROR";

/// Where the io_uring sysctl lives.
const DISABLED_SYSCTL: &str = "/proc/sys/kernel/io_uring_disabled";

/// What [`classify`] needs to know about the machine, read by [`Host::read`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// `kernel.io_uring_disabled` (0, 1, 2), absent on kernels before 6.6.
    pub io_uring_disabled: Option<u32>,
    /// `RLIMIT_MEMLOCK` (soft), bytes; `None` when unlimited or unreadable.
    pub memlock_bytes: Option<u64>,
    /// `uname -r`.
    pub kernel: String,
}

impl Host {
    /// This machine's settings.
    pub fn read() -> Host {
        let io_uring_disabled = std::fs::read_to_string(DISABLED_SYSCTL)
            .ok()
            .and_then(|s| s.trim().parse().ok());
        let memlock_bytes = getrlimit(Resource::RLIMIT_MEMLOCK)
            .ok()
            .map(|(soft, _)| soft)
            .filter(|&soft| soft != nix::libc::RLIM_INFINITY);
        let kernel = nix::sys::utsname::uname()
            .map(|u| u.release().to_string_lossy().into_owned())
            .unwrap_or_default();
        Host {
            io_uring_disabled,
            memlock_bytes,
            kernel,
        }
    }

    /// The kernel's `(major, minor)` version, if `kernel` starts with one.
    pub fn version(&self) -> Option<(u32, u32)> {
        let mut parts = self.kernel.split(|c: char| !c.is_ascii_digit());
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some((major, minor))
    }
}

/// Why io_uring cannot run here, from the errno `io_uring_setup` returned
/// and the machine's settings, with the fix.
pub fn classify(errno: Errno, host: &Host) -> Unavailable {
    let disabled = host.io_uring_disabled.map_or_else(
        || "absent (before Linux 6.6)".to_string(),
        |d| d.to_string(),
    );
    let (cause, fix) = match (errno, host.io_uring_disabled) {
        (Errno::EPERM, Some(2)) => (
            "io_uring_setup returned EPERM: kernel.io_uring_disabled = 2 turns io_uring off for every process"
                .to_string(),
            "sysctl -w kernel.io_uring_disabled=0 (as root)".to_string(),
        ),
        (Errno::EPERM, Some(1)) => (
            "io_uring_setup returned EPERM: kernel.io_uring_disabled = 1 allows it only to root and to the group \
             in kernel.io_uring_group"
                .to_string(),
            "sysctl -w kernel.io_uring_disabled=0, or run as a member of kernel.io_uring_group".to_string(),
        ),
        (Errno::EPERM, _) => (
            format!(
                "io_uring_setup returned EPERM while kernel.io_uring_disabled is {disabled}: a seccomp filter denies \
                 it (the default profiles of Docker, containerd and Podman do)"
            ),
            "run under a seccomp profile that allows io_uring_setup, io_uring_enter and io_uring_register \
             (docker run --security-opt seccomp=unconfined, or a custom profile)"
                .to_string(),
        ),
        (Errno::ENOSYS, _) => (
            format!(
                "io_uring_setup returned ENOSYS: kernel {} has no io_uring (Linux 5.1 or later, built with \
                 CONFIG_IO_URING), or a seccomp filter answers ENOSYS for it",
                host.kernel
            ),
            "a Linux 6.0 or later kernel with io_uring (6.0 brought multishot receive), and a seccomp profile that \
             allows the io_uring calls"
                .to_string(),
        ),
        (Errno::ENOMEM, _) => (
            format!(
                "io_uring_setup returned ENOMEM: the locked-memory limit ({}) is too low for the rings (kernels \
                 before 5.12 count them against it; this is {})",
                host.memlock_bytes.map_or_else(
                    || "unlimited".to_string(),
                    |b| format!("ulimit -l = {} KiB", b / 1024)
                ),
                host.kernel
            ),
            "raise it (ulimit -l 65536; LimitMEMLOCK= for a systemd unit; docker run --ulimit memlock=-1), or use \
             Linux 5.12 or later"
                .to_string(),
        ),
        (Errno::EACCES, _) => (
            "io_uring_setup returned EACCES: a security module (SELinux, AppArmor) denies it".to_string(),
            "allow io_uring in the security policy for this program".to_string(),
        ),
        (e, _) => (
            format!("io_uring_setup failed: {e} (kernel {})", host.kernel),
            "run on Linux 6.0 or later with io_uring enabled (see dmesg for why the kernel refused)".to_string(),
        ),
    };
    Unavailable {
        what: "io_uring",
        cause,
        fix,
    }
}

/// The errno [`FORCE_ERROR_ENV`] asks for, if it is set.
fn forced() -> Option<Errno> {
    let name = std::env::var(FORCE_ERROR_ENV).ok()?;
    Some(match name.trim() {
        "EPERM" => Errno::EPERM,
        "ENOSYS" => Errno::ENOSYS,
        "ENOMEM" => Errno::ENOMEM,
        "EACCES" => Errno::EACCES,
        _ => Errno::EINVAL,
    })
}

/// The errno of an `io_uring_setup` failure.
fn errno_of(e: &io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(nix::libc::EINVAL))
}

/// Whether this process can create an io_uring, and if not why (with the fix).
pub fn probe() -> Result<(), Unavailable> {
    if let Some(e) = forced() {
        return Err(classify(e, &Host::read()));
    }
    IoUring::new(2)
        .map(drop)
        .map_err(|e| classify(errno_of(&e), &Host::read()))
}

/// Builds a ring with `build`, turning a refusal into [`Unavailable`] (with
/// the cause and the fix); [`FORCE_ERROR_ENV`] refuses it as [`probe`] does.
pub fn new_ring(build: impl FnOnce() -> io::Result<IoUring>) -> Result<IoUring, Unavailable> {
    if let Some(e) = forced() {
        return Err(classify(e, &Host::read()));
    }
    build().map_err(|e| classify(errno_of(&e), &Host::read()))
}

/// Whether the kernel has multishot receive (Linux 6.0) and so, with
/// buffer rings, the models' main path; older kernels take the fallback.
pub fn has_multishot_receive(host: &Host) -> bool {
    host.version().is_some_and(|v| v >= (6, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(disabled: Option<u32>) -> Host {
        Host {
            io_uring_disabled: disabled,
            memlock_bytes: Some(64 << 10),
            kernel: "5.10.0-test".into(),
        }
    }

    #[test]
    fn every_cause_names_its_fix() {
        let seccomp = classify(Errno::EPERM, &host(Some(0)));
        assert!(seccomp.cause.contains("seccomp"), "{seccomp}");
        assert!(seccomp.fix.contains("seccomp=unconfined"), "{seccomp}");
        let off = classify(Errno::EPERM, &host(Some(2)));
        assert!(off.cause.contains("io_uring_disabled = 2"), "{off}");
        assert!(off.fix.contains("io_uring_disabled=0"), "{off}");
        let group = classify(Errno::EPERM, &host(Some(1)));
        assert!(group.fix.contains("io_uring_group"), "{group}");
        let old = classify(Errno::ENOSYS, &host(None));
        assert!(old.cause.contains("5.10.0-test"), "{old}");
        let memlock = classify(Errno::ENOMEM, &host(None));
        assert!(memlock.cause.contains("ulimit -l = 64 KiB"), "{memlock}");
        assert!(memlock.fix.contains("5.12"), "{memlock}");
        let other = classify(Errno::EINVAL, &host(None));
        assert!(
            other
                .to_string()
                .starts_with("io_uring is unavailable here: io_uring_setup failed")
        );
    }

    #[test]
    fn kernel_versions_decide_the_path() {
        let mut h = host(None);
        assert_eq!(h.version(), Some((5, 10)));
        assert!(!has_multishot_receive(&h));
        h.kernel = "6.18.0-1-cloud".into();
        assert!(has_multishot_receive(&h));
        h.kernel = "weird".into();
        assert_eq!(h.version(), None);
    }
}
