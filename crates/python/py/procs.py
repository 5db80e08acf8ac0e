"""What every child process does first, and the multiprocessing contexts.

The Rust binary asks the kernel to kill the interpreter when the binary dies
(PR_SET_PDEATHSIG), but that request is not inherited: each process the
interpreter starts makes it again for itself with `die_with_parent`, so a
SIGKILL of the Rust binary takes the interpreter down, and the interpreter's
death takes its workers down. A child whose parent died before it asked
exits at once. The forkserver asks too, by preloading `conpar_py.deathsig`.
"""

import multiprocessing
import os
import signal
import threading
import time

PR_SET_PDEATHSIG = 1

# The interpreter's pid, in every process it starts (spawned ones read the
# environment: nothing else of the parent reaches a fresh interpreter).
ROOT_ENV = "CONPAR_PY_ROOT"


def _prctl_deathsig():
    """Asks for SIGKILL when the parent dies; False where ctypes cannot."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except Exception:
        return False


def _watch_parent(parent):
    while os.getppid() == parent:
        time.sleep(0.05)
    os._exit(1)


def _alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def die_with_parent(expected_parent=None):
    """Makes this process die with its parent: PR_SET_PDEATHSIG where ctypes
    works, else a thread that watches the parent. Exits now if the parent
    (`expected_parent` where known) or the interpreter is already gone."""
    parent = os.getppid()
    if not _prctl_deathsig():
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    root = int(os.environ.get(ROOT_ENV, "0") or 0)
    gone = os.getppid() == 1 or (expected_parent is not None and os.getppid() != expected_parent)
    if gone or (root and not _alive(root)):
        os._exit(1)


def mark_root():
    """Called once in the interpreter: its children learn its pid."""
    os.environ[ROOT_ENV] = str(os.getpid())


_CONTEXTS = {}


def context(method):
    """The multiprocessing context of a start method (`fork`, `forkserver`,
    `spawn`); the forkserver preloads `conpar_py.deathsig`."""
    ctx = _CONTEXTS.get(method)
    if ctx is None:
        ctx = multiprocessing.get_context(method)
        if method == "forkserver":
            ctx.set_forkserver_preload(["conpar_py.deathsig"])
        _CONTEXTS[method] = ctx
    return ctx


def fork_context():
    """The context of every model that is not about start methods: fork, as
    the Rust process models do (and the fastest to start)."""
    return context("fork")


def pin(cpu):
    """Pins the calling thread to `cpu` (os.sched_setaffinity with pid 0 acts
    on the calling thread on Linux); a no-op for None."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})


def allowed():
    """The calling thread's CPUs, to restore after a pin."""
    return os.sched_getaffinity(0)


def restore(cpus):
    os.sched_setaffinity(0, cpus)


def init_worker(expected_parent, state_setter=None, state=None):
    """A pool worker's initializer: die with the interpreter, then take the
    work's state."""
    die_with_parent(expected_parent)
    if state_setter is not None:
        state_setter(state)
