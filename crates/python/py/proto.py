"""The protocol with the Rust binary, the command table, and what every
command reports beside its result.

- Rust -> Python: one JSON object per line on stdin, `{"cmd": NAME, ...}`.
- Python -> Rust: one JSON object per line on the protocol channel (the
  original stdout): first `{"hello": {...}}`, then for every command
  `{"ok": RESULT, "usage": USAGE}` or `{"error": TEXT}` (after which the
  program exits).

USAGE is what the command cost this interpreter and the children it reaped
(getrusage deltas, nanoseconds and counts) and the peak resident memory
(VmHWM, reset at the command's start, or the largest reaped child's).
Timing is each model's own, with `time.perf_counter_ns` around exactly the
operation; `Sampler` is the warm-up-then-sample loop of `harness::sample`.
"""

import json
import os
import platform
import resource
import sys
import time
import traceback

from conpar_py import procs

_OUT = None


def send(obj):
    """Writes one protocol line (whole, in one write)."""
    data = (json.dumps(obj, separators=(",", ":")) + "\n").encode()
    view = memoryview(data)
    while view:
        n = os.write(_OUT, view)
        view = view[n:]


def gil_enabled():
    """Whether the GIL is on: `sys._is_gil_enabled()` where it exists (3.13+), else True."""
    probe = getattr(sys, "_is_gil_enabled", None)
    return bool(probe()) if probe is not None else True


def overhead_ns():
    """Mean cost of what a timed sample adds: two perf_counter_ns calls and a
    list append (the best of three rounds of 20,000)."""
    clock = time.perf_counter_ns
    best = float("inf")
    for _ in range(3):
        samples = []
        add = samples.append
        outer = clock()
        for _ in range(20_000):
            t = clock()
            add(clock() - t)
        best = min(best, (clock() - outer) / 20_000)
    return best


def hello():
    return {
        "executable": sys.executable,
        "version": platform.python_version(),
        "implementation": sys.implementation.name,
        "gil": gil_enabled(),
        "pid": os.getpid(),
        "overhead_ns": overhead_ns(),
    }


def _vm_hwm():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


class Usage:
    """getrusage of this interpreter and its reaped children, from now on."""

    def __init__(self):
        _reset_peak()
        self.me = resource.getrusage(resource.RUSAGE_SELF)
        self.kids = resource.getrusage(resource.RUSAGE_CHILDREN)

    def since(self):
        me = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)

        def d(field):
            return getattr(me, field) - getattr(self.me, field) + getattr(kids, field) - getattr(self.kids, field)

        reaped = kids.ru_utime + kids.ru_stime > self.kids.ru_utime + self.kids.ru_stime
        return {
            "user_ns": int(d("ru_utime") * 1e9),
            "sys_ns": int(d("ru_stime") * 1e9),
            "voluntary": d("ru_nvcsw"),
            "involuntary": d("ru_nivcsw"),
            "peak_rss_bytes": max(_vm_hwm(), kids.ru_maxrss * 1024 if reaped else 0),
        }


class Sampler:
    """Warm-up, then samples until the schedule is done (`harness::sample`):
    `next()` says whether to take another sample (None: done) and whether it
    counts (warm-up samples do not)."""

    def __init__(self, sched):
        self.warmup_ns = int(sched["warmup_ns"])
        self.duration_ns = int(sched["duration_ns"])
        self.min_samples = int(sched["min_samples"])
        self.max_samples = int(sched["max_samples"])
        self.warm_start = time.perf_counter_ns()
        self.start = None
        self.samples = 0

    def next(self):
        now = time.perf_counter_ns()
        if self.start is None:
            if now - self.warm_start < self.warmup_ns:
                return False
            self.start = now
        more = self.samples < self.max_samples and (
            self.samples < self.min_samples or now - self.start < self.duration_ns
        )
        if more:
            self.samples += 1
            return True
        return None

    def wall_ns(self):
        return 0 if self.start is None else time.perf_counter_ns() - self.start


def sample_loop(sched, sample):
    """Runs `sample()` (it returns one sample's nanoseconds) on the schedule;
    returns the kept samples and the measuring phase's wall time."""
    s = Sampler(sched)
    kept = []
    while True:
        keep = s.next()
        if keep is None:
            return {"samples_ns": kept, "wall_ns": s.wall_ns()}
        ns = sample()
        if keep:
            kept.append(ns)


def _commands():
    from conpar_py import cpu, fetch, kitchen, memory, pingpong, spawn, stall
    from conpar_py import kernel

    def twin(req):
        """For the tests: the kernel's and the message's results, to compare with Rust's."""
        return {
            "work": [kernel.work(int(x), int(u)) for x, u in req["work"]],
            "messages": [kernel.message(int(c), int(n)).hex() for c, n in req["messages"]],
        }

    return {
        "calibrate": lambda req: {"units_per_ms": kernel.calibrate()},
        "twin": twin,
        "cpu": cpu.run,
        "kitchen": kitchen.run,
        "requests": fetch.run,
        "stall": stall.run,
        "spawn": spawn.run,
        "pingpong": pingpong.run,
        "memory": memory.run,
    }


def serve():
    """The program: hello, then one answer per command, until stdin closes."""
    global _OUT
    _OUT = os.dup(1)
    os.dup2(2, 1)
    procs.mark_root()
    send({"hello": hello()})
    commands = _commands()
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            handler = commands[req["cmd"]]
            usage = Usage()
            result = handler(req)
            send({"ok": result, "usage": usage.since()})
        except BaseException as e:  # noqa: BLE001 - every failure is reported, then the program ends
            detail = "".join(traceback.format_exception_only(type(e), e)).strip()
            traceback.print_exc()
            send({"error": detail})
            return 1
    return 0
