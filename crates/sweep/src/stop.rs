//! Ctrl-C and SIGTERM: the child stops, the sweep stops after it, the
//! records written so far stay.
//!
//! A Ctrl-C at the terminal reaches the whole foreground process group, so
//! the running benchmark gets it directly: it kills its own children and
//! exits 130 (the harness's guard does that). The sweep must not die first,
//! so it catches SIGINT, SIGTERM and SIGHUP, notes the stop, and forwards
//! the signal to the child it is waiting for (for a signal sent to the sweep
//! alone, `kill <pid>`); a second copy of a signal a benchmark is already
//! handling changes nothing. The sweep then writes its README and exits 130.
//!
//! The handler only stores and loads atomics and calls `kill(2)`, all
//! async-signal-safe. The child's pid is forgotten before the child is
//! reaped ([`wait`] waits with `WNOWAIT` first), so a forwarded signal can
//! never reach a recycled pid.

use std::io;
use std::process::{Child, Command, ExitStatus};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering};

use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, kill, sigaction};
use nix::sys::wait::{Id, WaitPidFlag, waitid};
use nix::unistd::Pid;

static STOP: AtomicBool = AtomicBool::new(false);
static CHILD: AtomicI32 = AtomicI32::new(0);
/// Signals received so far, so [`spawn`] can tell one that came while it
/// started a child from an earlier one.
static RECEIVED: AtomicU32 = AtomicU32::new(0);
/// The last signal received.
static LAST: AtomicI32 = AtomicI32::new(0);

const SIGNALS: [Signal; 3] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP];

extern "C" fn on_signal(sig: nix::libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
    LAST.store(sig, Ordering::SeqCst);
    RECEIVED.fetch_add(1, Ordering::SeqCst);
    let pid = CHILD.load(Ordering::SeqCst);
    if pid > 0
        && let Ok(sig) = Signal::try_from(sig)
    {
        let _ = kill(Pid::from_raw(pid), sig);
    }
}

/// Installs the handlers. Called once, before the first child starts.
pub fn install() -> anyhow::Result<()> {
    let action = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for sig in SIGNALS {
        // SAFETY: `on_signal` is async-signal-safe: it touches only atomics
        // and calls kill(2); it replaces the default action (terminate) of
        // signals that nothing else in this process handles.
        unsafe { sigaction(sig, &action) }
            .map_err(|e| anyhow::anyhow!("cannot install the {sig} handler: {e}"))?;
    }
    Ok(())
}

/// Whether the user asked the sweep to stop.
pub fn requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// Notes a stop that a child reported (it exited 130 or 143 after the
/// user's Ctrl-C reached it directly).
pub fn request() {
    STOP.store(true, Ordering::SeqCst);
}

/// Starts `cmd` as the child a stop is forwarded to.
pub fn spawn(cmd: &mut Command) -> io::Result<Child> {
    let before = RECEIVED.load(Ordering::SeqCst);
    let child = cmd.spawn()?;
    let pid = i32::try_from(child.id()).unwrap_or(0);
    CHILD.store(pid, Ordering::SeqCst);
    // A signal that came while the child started was not forwarded to it.
    if RECEIVED.load(Ordering::SeqCst) != before
        && pid > 0
        && let Ok(sig) = Signal::try_from(LAST.load(Ordering::SeqCst))
    {
        let _ = kill(Pid::from_raw(pid), sig);
    }
    Ok(child)
}

/// Waits for a child started with [`spawn`] and reaps it.
pub fn wait(child: &mut Child) -> io::Result<ExitStatus> {
    let pid = Pid::from_raw(i32::try_from(child.id()).unwrap_or(0));
    // Wait until it has exited, without reaping it yet (retrying when a
    // signal interrupts the wait).
    while let Err(nix::errno::Errno::EINTR) =
        waitid(Id::Pid(pid), WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT)
    {}
    CHILD.store(0, Ordering::SeqCst);
    child.wait()
}

/// The exit code as a shell reports it: the code, or 128 + the signal that
/// killed the child.
pub fn exit_code(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1)
}

/// Whether a child's exit code means the user stopped it (SIGINT, SIGTERM).
pub fn means_stopped(code: i32) -> bool {
    code == 130 || code == 143
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_as_a_shell_reports_them() {
        let status = |c: &str| {
            let mut child = spawn(Command::new("sh").args(["-c", c])).unwrap();
            exit_code(wait(&mut child).unwrap())
        };
        assert_eq!(status("exit 0"), 0);
        assert_eq!(status("exit 3"), 3);
        assert_eq!(status("kill -TERM $$"), 143);
        assert!(means_stopped(130) && means_stopped(143) && !means_stopped(1));
        assert!(!requested());
    }
}
