//! Child processes, created and reaped safely: the one place this crate forks.
//!
//! The rules (DESIGN.md, "Reliability rules"), and where each is kept:
//!
//! - **fork only while single-threaded.** A child of a multi-threaded process
//!   gets a copy of every lock another thread held at the moment of the fork,
//!   and may deadlock on the first `malloc`. [`SingleThreaded::check`] reads
//!   the thread count from `/proc/self/status` and refuses otherwise;
//!   [`fork_child`] needs that proof. The harness starts no thread, so a
//!   binary is single-threaded from `Session::start` until a model starts one
//!   (the thread reference models run after all forking).
//! - **every child is registered and reaped.** [`fork_child`] registers the
//!   child with `harness::guard` (which kills registered children on an error,
//!   a panic, the deadline or a signal), and a [`Child`] that is dropped
//!   without [`Child::wait`] is killed and reaped, so an early `?` leaves no
//!   process and no zombie behind.
//! - **no window without a guard.** The stop signals (SIGINT, SIGTERM, SIGHUP,
//!   SIGALRM) are blocked from just before the fork until the child is
//!   registered; a signal that arrives meanwhile is delivered right after,
//!   and the handler then sees the child. In the child they stay blocked until
//!   `guard::child_setup` has restored their default action and asked for
//!   SIGKILL on the parent's death (and the child has checked the parent is
//!   still there, in case it died first).
//! - **a child never returns into the parent's code.** It runs its body,
//!   catches a panic, and leaves with `_exit`, so no destructor, atexit
//!   handler or buffered output of the parent runs twice.

use std::fmt;
use std::fs::File;
use std::io::{Read, Write};
use std::marker::PhantomData;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use harness::guard;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::libc;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, SigmaskHow, Signal, kill, sigprocmask};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork, getpid, getppid};

/// Exit code of a child whose body returned an error.
pub const EXIT_ERROR: i32 = 1;
/// Exit code of a child whose parent was gone before it could ask to die with it.
pub const EXIT_ORPHANED: i32 = 3;
/// Exit code of a child whose body panicked (the same as Rust's own).
pub const EXIT_PANIC: i32 = 101;

/// How long [`SingleThreaded::check`] waits for threads that were joined but
/// are still leaving the kernel (a joined thread's exit completes shortly
/// after `join` returns).
const THREAD_EXIT_GRACE: Duration = Duration::from_millis(500);

/// Proof that the process had one thread when it was made: what
/// [`fork_child`] requires. Make it right before forking; it cannot be sent
/// to another thread, and no thread may be started while it is in use.
#[derive(Debug)]
pub struct SingleThreaded(PhantomData<*const ()>);

impl SingleThreaded {
    /// Checks that this process has exactly one thread, and fails with a
    /// clear message otherwise (after a short grace for threads that were
    /// joined and are still exiting).
    pub fn check() -> anyhow::Result<SingleThreaded> {
        let deadline = Instant::now() + THREAD_EXIT_GRACE;
        loop {
            match harness::cores::thread_count() {
                Some(1) => return Ok(SingleThreaded(PhantomData)),
                Some(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(1));
                }
                Some(n) => anyhow::bail!(
                    "refusing to fork: this process has {n} threads, and a child forked from a \
                     multi-threaded process can deadlock on a lock another thread held; \
                     fork before any thread starts, or re-execute the binary"
                ),
                None => anyhow::bail!(
                    "refusing to fork: cannot read the thread count from /proc/self/status, \
                     so cannot tell whether forking is safe"
                ),
            }
        }
    }
}

/// A child process of this one, registered with the guard until reaped.
///
/// Dropping it without [`Child::wait`] kills it (SIGKILL) and reaps it.
#[derive(Debug)]
pub struct Child {
    pid: Pid,
    role: &'static str,
    index: usize,
    reaped: bool,
}

impl fmt::Display for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} (pid {})", self.role, self.index, self.pid)
    }
}

impl Child {
    /// Adopts a child started some other way (`posix_spawn`, `Command`):
    /// registers it with the guard. `role` and `index` name it in messages.
    pub fn adopt(pid: i32, role: &'static str, index: usize) -> anyhow::Result<Child> {
        let child = Child {
            pid: Pid::from_raw(pid),
            role,
            index,
            reaped: false,
        };
        guard::register_child(pid)?; // on failure the drop kills and reaps it
        Ok(child)
    }

    /// The child's process id.
    pub fn pid(&self) -> i32 {
        self.pid.as_raw()
    }

    /// Waits for the child to end and reaps it; an exit code other than 0 or
    /// a fatal signal is an error that says which.
    pub fn wait(mut self) -> anyhow::Result<()> {
        let status = self.reap()?;
        self.check(status)
    }

    /// Kills the child (SIGKILL) and reaps it.
    pub fn kill(mut self) {
        self.kill_and_reap();
    }

    fn check(&self, status: WaitStatus) -> anyhow::Result<()> {
        match status {
            WaitStatus::Exited(_, 0) => Ok(()),
            WaitStatus::Exited(_, EXIT_PANIC) => anyhow::bail!("{self} panicked"),
            WaitStatus::Exited(_, EXIT_ORPHANED) => {
                anyhow::bail!("{self} found its parent gone and stopped")
            }
            WaitStatus::Exited(_, code) => anyhow::bail!("{self} failed (exit code {code})"),
            WaitStatus::Signaled(_, sig, _) => anyhow::bail!("{self} was killed by {sig}"),
            other => anyhow::bail!("{self} ended in an unexpected state: {other:?}"),
        }
    }

    /// Blocks until the child has ended, reaps it and forgets it in the guard.
    fn reap(&mut self) -> anyhow::Result<WaitStatus> {
        loop {
            match waitpid(self.pid, None) {
                Err(Errno::EINTR) => continue,
                Err(e) => {
                    self.reaped = true;
                    guard::unregister_child(self.pid.as_raw());
                    anyhow::bail!("cannot wait for {self}: {e}");
                }
                Ok(WaitStatus::StillAlive) => continue,
                Ok(s) => {
                    self.reaped = true;
                    guard::unregister_child(self.pid.as_raw());
                    return Ok(s);
                }
            }
        }
    }

    fn kill_and_reap(&mut self) {
        if !self.reaped {
            let _ = kill(self.pid, Signal::SIGKILL);
            let _ = self.reap();
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.kill_and_reap();
    }
}

/// The signals whose handlers (in `harness::guard`) must see every child.
fn stop_signals() -> SigSet {
    let mut set = SigSet::empty();
    for sig in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGALRM,
    ] {
        set.add(sig);
    }
    set
}

/// Forks a child that runs `body` and exits: with 0 if it returns `Ok`, with
/// [`EXIT_ERROR`] (after printing the error) if it returns `Err`, with
/// [`EXIT_PANIC`] if it panics. The child is registered with the guard before
/// this returns. `role` and `index` name it in messages ("worker process 3").
///
/// The body runs in a copy of this process: it may use everything the parent
/// had (the work plan, the calibration, open pipes), and what it writes to
/// memory stays in the child unless the memory is a shared mapping.
pub fn fork_child(
    _proof: &SingleThreaded,
    role: &'static str,
    index: usize,
    body: impl FnOnce() -> anyhow::Result<()>,
) -> anyhow::Result<Child> {
    let parent = getpid();
    let mut old = SigSet::empty();
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&stop_signals()), Some(&mut old))
        .map_err(|e| anyhow::anyhow!("cannot block signals around fork: {e}"))?;
    // SAFETY: the caller holds a `SingleThreaded` proof, so no other thread
    // can hold a lock (allocator, stdio) that the child would inherit locked;
    // the child runs only `body` and leaves with `_exit`, never returning into
    // the parent's stack frames.
    let forked = unsafe { fork() };
    match forked {
        Ok(ForkResult::Child) => {
            guard::child_setup();
            let code = if getppid() != parent {
                EXIT_ORPHANED
            } else {
                let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
                match catch_unwind(AssertUnwindSafe(body)) {
                    Ok(Ok(())) => 0,
                    Ok(Err(e)) => {
                        eprintln!("error: {role} {index} (pid {}): {e:#}", getpid());
                        EXIT_ERROR
                    }
                    Err(_) => EXIT_PANIC,
                }
            };
            // SAFETY: _exit ends the child at once without running the
            // parent's destructors or atexit handlers a second time.
            unsafe { libc::_exit(code) }
        }
        Ok(ForkResult::Parent { child }) => {
            let registered = guard::register_child(child.as_raw());
            let child = Child {
                pid: child,
                role,
                index,
                reaped: false,
            };
            let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
            registered?; // on failure `child` is dropped: killed and reaped
            Ok(child)
        }
        Err(e) => {
            let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
            anyhow::bail!("cannot fork {role} {index}: {e}")
        }
    }
}

/// A pipe, as (read end, write end), closed on exec.
pub fn pipe() -> anyhow::Result<(File, File)> {
    let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC)
        .map_err(|e| anyhow::anyhow!("cannot create a pipe: {e}"))?;
    Ok((File::from(r), File::from(w)))
}

/// Closes, in a freshly forked child, its copy of a descriptor that belongs
/// to the parent (say, the write end of a pipe whose end-of-file the child
/// waits for: the pipe reports end-of-file only when every copy is closed).
///
/// Call it only in a child made by [`fork_child`], on a descriptor the child
/// will not use again: the owning `File` in the child's copy of memory is
/// never dropped (the child leaves with `_exit`), so it is closed only here.
pub fn close_in_child(fd: &impl AsRawFd) {
    let raw: RawFd = fd.as_raw_fd();
    // SAFETY: the child owns its own copy of the descriptor table; the only
    // object that refers to `raw` is the parent's `File`, which the child
    // never uses again and never drops, so the descriptor is closed once.
    unsafe { libc::close(raw) };
}

/// Sends `words` as one message (little-endian); at most `PIPE_BUF` bytes,
/// so one `write` delivers it whole.
pub fn send_words<const W: usize>(out: &mut File, words: [u64; W]) -> std::io::Result<()> {
    let mut bytes = [0u8; 512];
    let len = W * 8;
    assert!(len <= bytes.len(), "messages are at most 64 words");
    for (i, w) in words.iter().enumerate() {
        bytes[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
    }
    out.write_all(&bytes[..len])
}

fn decode<const W: usize>(bytes: &[u8]) -> [u64; W] {
    let mut words = [0u64; W];
    for (i, w) in words.iter_mut().enumerate() {
        let mut b = [0u8; 8];
        b.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
        *w = u64::from_le_bytes(b);
    }
    words
}

/// Reads one message of `W` words, as [`send_words`] wrote it.
pub fn recv_words<const W: usize>(input: &mut File) -> std::io::Result<[u64; W]> {
    let mut bytes = vec![0u8; W * 8];
    input.read_exact(&mut bytes)?;
    Ok(decode(&bytes))
}

/// Reads one `W`-word message from each child's pipe, in whatever order they
/// arrive, and returns them in child order (see [`gather_bytes`]).
pub fn gather<const W: usize>(
    children: &mut [Child],
    pipes: &[File],
) -> anyhow::Result<Vec<[u64; W]>> {
    Ok(gather_bytes(children, pipes, W * 8)?
        .iter()
        .map(|b| decode::<W>(b))
        .collect())
}

/// Reads `len` bytes from each child's pipe, in whatever order they arrive,
/// and returns them in child order.
///
/// A pipe that reaches end-of-file before its `len` bytes means the child
/// ended without answering: the child is reaped at once and the error says
/// how it ended (`worker process 1 (pid 4242) was killed by SIGKILL`).
/// The children are not reaped otherwise; the caller waits for them.
pub fn gather_bytes(
    children: &mut [Child],
    pipes: &[File],
    len: usize,
) -> anyhow::Result<Vec<Vec<u8>>> {
    assert_eq!(children.len(), pipes.len(), "one pipe per child");
    let mut got: Vec<Vec<u8>> = vec![Vec::with_capacity(len); pipes.len()];
    let mut pending: Vec<usize> = (0..pipes.len()).filter(|_| len > 0).collect();
    let mut chunk = vec![0u8; len];
    while !pending.is_empty() {
        let mut fds: Vec<PollFd<'_>> = pending
            .iter()
            .map(|&i| PollFd::new(pipes[i].as_fd(), PollFlags::POLLIN))
            .collect();
        match poll(&mut fds, PollTimeout::NONE) {
            Err(Errno::EINTR) => continue,
            Err(e) => anyhow::bail!("poll on the children's pipes failed: {e}"),
            Ok(_) => {}
        }
        let ready: Vec<usize> = fds
            .iter()
            .zip(&pending)
            .filter(|(fd, _)| fd.any().unwrap_or(true))
            .map(|(_, &i)| i)
            .collect();
        drop(fds);
        for i in ready {
            let want = len - got[i].len();
            let n_read = match (&pipes[i]).read(&mut chunk[..want]) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => anyhow::bail!("cannot read the answer of {}: {e}", children[i]),
                Ok(n) => n,
            };
            if n_read == 0 {
                let status = children[i].reap()?;
                children[i].check(status)?;
                anyhow::bail!(
                    "{} exited without sending its answer ({} of {len} bytes arrived)",
                    children[i],
                    got[i].len()
                );
            }
            got[i].extend_from_slice(&chunk[..n_read]);
        }
        pending.retain(|&i| got[i].len() < len);
    }
    Ok(got)
}

/// Waits for every child in turn; the first failure is returned after the
/// rest have been reaped (or killed, by their drop).
pub fn wait_all(children: Vec<Child>) -> anyhow::Result<()> {
    let mut first = None;
    for c in children {
        if let Err(e) = c.wait()
            && first.is_none()
        {
            first = Some(e);
        }
    }
    first.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fork_is_refused_in_a_multithreaded_process() {
        // A thread that is alive for the whole check (the grace period only
        // forgives threads that are already leaving).
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let t = std::thread::spawn(move || {
            let _ = rx.recv();
        });
        let err = SingleThreaded::check().unwrap_err().to_string();
        drop(tx);
        t.join().unwrap();
        assert!(err.contains("refusing to fork"), "{err}");
        assert!(err.contains("threads"), "{err}");
    }

    #[test]
    fn words_round_trip_through_a_pipe() {
        let (mut r, mut w) = pipe().unwrap();
        send_words(&mut w, [1u64, u64::MAX, 42]).unwrap();
        assert_eq!(recv_words::<3>(&mut r).unwrap(), [1, u64::MAX, 42]);
    }
}
