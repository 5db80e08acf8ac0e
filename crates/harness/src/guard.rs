//! The child guard and the deadline: no run leaves a process behind, and no
//! run hangs.
//!
//! Models that start processes register every child here. On an error
//! returned to [`crate::run_main`], a panic, Ctrl-C (SIGINT), SIGTERM, SIGHUP
//! or the `--timeout-secs` deadline (SIGALRM from `setitimer`), every
//! registered child is killed with SIGKILL before the process exits. Children
//! also get `PR_SET_PDEATHSIG` (see [`child_setup`]), so even a SIGKILL of
//! the parent takes them down.
//!
//! A child that starts processes of its own (a Python interpreter and its
//! `multiprocessing` workers) is registered as a *process group*
//! ([`register_group`]): the child leads a group of its own, and the whole
//! group is killed and every member reaped — the grandchildren too, which a
//! process that called [`become_subreaper`] inherits when their parent dies.
//!
//! The registry is a fixed array of atomics so that the signal handlers can
//! read it without locks or allocation (only async-signal-safe calls run in a
//! handler: atomic loads, `kill`, `write`, `_exit`). Records are written
//! whole, one line per case, as each case ends, so the records written before
//! an interruption are intact.

use std::os::unix::process::{CommandExt as _, ExitStatusExt as _};
use std::process::{Command, ExitStatus};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::time::Duration;

use nix::libc;
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::Pid;

/// Most children alive at once.
pub const MAX_CHILDREN: usize = 16_384;

static CHILDREN: [AtomicI32; MAX_CHILDREN] = [const { AtomicI32::new(0) }; MAX_CHILDREN];
static RECORDS_WRITTEN: AtomicU64 = AtomicU64::new(0);
static CONTEXT: OnceLock<String> = OnceLock::new();
static TIMEOUT_SECS: AtomicU64 = AtomicU64::new(0);

/// Exit code after SIGINT (128 + 2), SIGTERM and SIGHUP use 128 + their number.
const EXIT_SIGNAL_BASE: i32 = 128;

/// Registers a child process so it is killed if the run stops early.
/// Fails only when [`MAX_CHILDREN`] children are already registered.
pub fn register_child(pid: i32) -> anyhow::Result<()> {
    for slot in &CHILDREN {
        if slot
            .compare_exchange(0, pid, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            return Ok(());
        }
    }
    anyhow::bail!(
        "more than {MAX_CHILDREN} child processes alive at once; the child guard cannot track more"
    )
}

/// Registers the process group `pgid` (led by a child of this process) so
/// that every process in it is killed and reaped if the run stops early.
/// Call [`become_subreaper`] first, so the group's grandchildren come to
/// this process to be reaped when their parent dies.
pub fn register_group(pgid: i32) -> anyhow::Result<()> {
    anyhow::ensure!(pgid > 0, "process group {pgid} is not a group of a child");
    register_child(-pgid)
}

/// Forgets a process group whose members have all been reaped.
pub fn unregister_group(pgid: i32) {
    unregister_child(-pgid);
}

/// Makes this process the "child subreaper" of its descendants: a process
/// whose parent dies is re-parented here (not to PID 1), so that this
/// process can reap it. For models whose children start processes.
pub fn become_subreaper() -> anyhow::Result<()> {
    // SAFETY: prctl(PR_SET_CHILD_SUBREAPER) only sets an attribute of this process.
    let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    anyhow::ensure!(
        rc == 0,
        "cannot become the child subreaper: {}",
        std::io::Error::last_os_error()
    );
    Ok(())
}

/// Kills every process of group `pgid` with SIGKILL and reaps every member
/// that is (or becomes, through [`become_subreaper`]) a child of this
/// process, until none is left. Async-signal-safe (`kill`, `waitpid`).
pub fn kill_group(pgid: i32) {
    if pgid <= 0 {
        return;
    }
    // SAFETY: kill is async-signal-safe; a negative pid names the group.
    unsafe { libc::kill(-pgid, libc::SIGKILL) };
    loop {
        // SAFETY: waitpid is async-signal-safe; a null status pointer is allowed.
        let r = unsafe { libc::waitpid(-pgid, std::ptr::null_mut(), 0) };
        if r < 0 && nix::errno::Errno::last() != nix::errno::Errno::EINTR {
            // ECHILD: no child of this process is left in the group.
            break;
        }
    }
}

/// Forgets a child that has been reaped.
pub fn unregister_child(pid: i32) {
    for slot in &CHILDREN {
        if slot
            .compare_exchange(pid, 0, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            return;
        }
    }
}

/// Children registered now.
pub fn registered_children() -> Vec<i32> {
    CHILDREN
        .iter()
        .map(|s| s.load(Ordering::Acquire))
        .filter(|&p| p > 0)
        .collect()
}

/// Kills every registered child (and every registered process group) with
/// SIGKILL and reaps it. Returns how many were killed. Safe to call at any
/// time from normal (non-signal) code.
pub fn kill_children() -> usize {
    let mut n = 0;
    for slot in &CHILDREN {
        let pid = slot.swap(0, Ordering::AcqRel);
        if pid > 0 {
            // SAFETY: kill has no memory-safety preconditions; the pid was registered by us.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            let _ = waitpid(Pid::from_raw(pid), None);
            n += 1;
        } else if pid < 0 {
            kill_group(-pid);
            n += 1;
        }
    }
    n
}

/// Counts a record as durably written (for the message after an interruption).
pub fn note_record_written() {
    RECORDS_WRITTEN.fetch_add(1, Ordering::Relaxed);
}

/// Records written so far by this process.
pub fn records_written() -> u64 {
    RECORDS_WRITTEN.load(Ordering::Relaxed)
}

/// Installs the signal handlers, the panic hook and the deadline.
/// `context` names the run in messages (`thread cpu`).
pub fn install(context: &str, timeout: Duration) -> anyhow::Result<()> {
    let _ = CONTEXT.set(context.to_string());
    TIMEOUT_SECS.store(timeout.as_secs_f64().ceil() as u64, Ordering::Relaxed);
    let stop = SigAction::new(
        SigHandler::Handler(on_stop_signal),
        SaFlags::empty(),
        SigSet::empty(),
    );
    let alarm = SigAction::new(
        SigHandler::Handler(on_deadline),
        SaFlags::empty(),
        SigSet::empty(),
    );
    for sig in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        // SAFETY: the handler only does async-signal-safe work (atomic loads, kill, write, _exit).
        unsafe { sigaction(sig, &stop) }
            .map_err(|e| anyhow::anyhow!("cannot install {sig} handler: {e}"))?;
    }
    // SAFETY: as above.
    unsafe { sigaction(Signal::SIGALRM, &alarm) }
        .map_err(|e| anyhow::anyhow!("cannot install SIGALRM handler: {e}"))?;
    set_deadline(timeout)?;

    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let killed = kill_children();
        previous(info);
        if killed > 0 {
            eprintln!("conpar: killed {killed} child process(es) after the panic");
        }
    }));
    Ok(())
}

fn set_deadline(timeout: Duration) -> anyhow::Result<()> {
    let value = libc::timeval {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_usec: libc::suseconds_t::from(timeout.subsec_micros() as i32),
    };
    let timer = libc::itimerval {
        it_interval: libc::timeval {
            tv_sec: 0,
            tv_usec: 0,
        },
        it_value: value,
    };
    // SAFETY: both pointers are valid for the call; a null old value is allowed.
    let rc = unsafe { libc::setitimer(libc::ITIMER_REAL, &timer, std::ptr::null_mut()) };
    anyhow::ensure!(
        rc == 0,
        "setitimer failed: {}",
        std::io::Error::last_os_error()
    );
    Ok(())
}

/// Prepares a freshly forked child: forgets the parent's children (they are
/// its siblings), restores default signal handling, and asks the kernel to
/// SIGKILL it if the parent dies. Call it in the child right after `fork`;
/// it is async-signal-safe.
pub fn child_setup() {
    for slot in &CHILDREN {
        // Write only the slots in use: writing all of them would make the
        // child copy the registry's 64 KiB of pages it shares with the parent.
        if slot.load(Ordering::Relaxed) != 0 {
            slot.store(0, Ordering::Relaxed);
        }
    }
    let dfl = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    for sig in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGALRM,
    ] {
        // SAFETY: restoring the default disposition is always sound.
        let _ = unsafe { sigaction(sig, &dfl) };
    }
    // SAFETY: prctl(PR_SET_PDEATHSIG) only sets a per-process attribute.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
}

/// Makes the child `cmd` spawns run [`child_setup`] between fork and exec,
/// so it dies with this process and starts with default signal handling.
pub fn setup_on_spawn(cmd: &mut Command) {
    // SAFETY: child_setup only makes async-signal-safe calls (atomic
    // stores, sigaction, prctl), as required between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            child_setup();
            Ok(())
        });
    }
}

/// How a child ended, for a message: `exited with code 3`, `was killed by SIGKILL`.
pub fn describe_exit(st: ExitStatus) -> String {
    match (st.code(), st.signal()) {
        (Some(c), _) => format!("exited with code {c}"),
        (None, Some(sig)) => match Signal::try_from(sig) {
            Ok(s) => format!("was killed by {s}"),
            Err(_) => format!("was killed by signal {sig}"),
        },
        _ => format!("ended ({st})"),
    }
}

/// Kills the registered children from a signal handler, then reaps every
/// one of them: a child left unreaped would stay a zombie under PID 1 (for
/// ever in a container whose PID 1 does not reap). `kill` and `waitpid` are
/// both async-signal-safe.
fn kill_children_in_handler() -> u64 {
    let mut n = 0;
    for slot in &CHILDREN {
        let pid = slot.load(Ordering::Relaxed);
        if pid != 0 {
            // SAFETY: kill is async-signal-safe (a negative pid is a registered group).
            unsafe { libc::kill(pid, libc::SIGKILL) };
            n += 1;
        }
    }
    for slot in &CHILDREN {
        let pid = slot.swap(0, Ordering::AcqRel);
        if pid < 0 {
            kill_group(-pid);
        } else if pid > 0 {
            loop {
                // SAFETY: waitpid is async-signal-safe; a null status pointer is allowed.
                let r = unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
                if r >= 0 || nix::errno::Errno::last() != nix::errno::Errno::EINTR {
                    break;
                }
            }
        }
    }
    n
}

/// Writes to stderr from a signal handler.
fn write_stderr(bytes: &[u8]) {
    // SAFETY: write is async-signal-safe; the buffer is valid for its length.
    unsafe { libc::write(2, bytes.as_ptr().cast(), bytes.len()) };
}

/// Formats a number into `buf` without allocating; returns the digits.
fn digits(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

fn context_bytes() -> &'static [u8] {
    CONTEXT.get().map_or(b"conpar" as &[u8], |s| s.as_bytes())
}

fn report_kept(killed: u64) {
    let mut b = [0u8; 20];
    write_stderr(b"; killed ");
    write_stderr(digits(killed, &mut b));
    write_stderr(b" child process(es); the ");
    write_stderr(digits(RECORDS_WRITTEN.load(Ordering::Relaxed), &mut b));
    write_stderr(b" record(s) already written are intact\n");
}

extern "C" fn on_stop_signal(sig: libc::c_int) {
    let killed = kill_children_in_handler();
    write_stderr(b"\nerror: ");
    write_stderr(context_bytes());
    write_stderr(match sig {
        libc::SIGINT => b" interrupted (SIGINT)" as &[u8],
        libc::SIGTERM => b" terminated (SIGTERM)",
        _ => b" stopped by a signal",
    });
    report_kept(killed);
    // SAFETY: _exit is async-signal-safe and skips non-reentrant atexit work.
    unsafe { libc::_exit(EXIT_SIGNAL_BASE + sig) };
}

extern "C" fn on_deadline(_sig: libc::c_int) {
    let killed = kill_children_in_handler();
    let mut b = [0u8; 20];
    write_stderr(b"\nerror: ");
    write_stderr(context_bytes());
    write_stderr(b" did not finish within --timeout-secs ");
    write_stderr(digits(TIMEOUT_SECS.load(Ordering::Relaxed), &mut b));
    write_stderr(b"; a model is stuck or the run is too large for the deadline");
    report_kept(killed);
    // SAFETY: as above.
    unsafe { libc::_exit(crate::EXIT_FAILURE.into()) };
}

/// Reaps `pid` if it has exited, without waiting (for guards polling children).
pub fn try_reap(pid: i32) -> bool {
    matches!(
        waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG)),
        Ok(s) if s != nix::sys::wait::WaitStatus::StillAlive
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_adds_and_removes() {
        register_child(999_999_001).unwrap();
        register_child(999_999_002).unwrap();
        assert!(registered_children().contains(&999_999_001));
        unregister_child(999_999_001);
        unregister_child(999_999_002);
        assert!(!registered_children().contains(&999_999_001));
        assert!(!registered_children().contains(&999_999_002));
    }

    #[test]
    #[allow(
        clippy::zombie_processes,
        reason = "kill_group reaps every member, the leader too"
    )]
    fn a_killed_group_leaves_no_member_behind() {
        use std::os::unix::process::CommandExt as _;
        become_subreaper().unwrap();
        // A leader whose own child outlives nothing: both must go.
        let child = std::process::Command::new("sh")
            .args(["-c", "sleep 30 & sleep 30"])
            .process_group(0)
            .spawn()
            .unwrap();
        let pgid = child.id() as i32;
        register_group(pgid).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        unregister_group(pgid);
        kill_group(pgid);
        // SAFETY: kill with signal 0 only checks that the group exists.
        let rc = unsafe { libc::kill(-pgid, 0) };
        assert_eq!(rc, -1, "a member of group {pgid} is still alive");
        assert!(!registered_children().contains(&pgid));
    }

    #[test]
    fn digits_format_numbers() {
        let mut b = [0u8; 20];
        assert_eq!(digits(0, &mut b), b"0");
        assert_eq!(digits(1234, &mut b), b"1234");
        assert_eq!(digits(u64::MAX, &mut b), b"18446744073709551615");
    }
}
