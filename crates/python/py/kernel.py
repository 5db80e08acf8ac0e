"""The twin of conpar's Rust CPU kernel and network message, bit for bit.

A unit of work is 1024 dependent splitmix64 steps (`workload::kernel`): the
same seeds and the same units give the same 64-bit results here as in Rust,
so a Python model's checksum proves it did exactly the work the Rust plan
describes. Python does a unit about a hundred times slower than Rust; the
`python` binary calibrates units per millisecond for this interpreter.
"""

import struct
import time

M = 0xFFFFFFFFFFFFFFFF
GOLDEN = 0x9E3779B97F4A7C15
C1 = 0xBF58476D1CE4E5B9
C2 = 0x94D049BB133111EB
SEED_MUL = 0xD6E8FEB86659FD93
ITERS_PER_UNIT = 1024


def mix(z):
    """One splitmix64 finaliser step, as `workload::kernel::mix`."""
    z = (z + GOLDEN) & M
    z = ((z ^ (z >> 30)) * C1) & M
    z = ((z ^ (z >> 27)) * C2) & M
    return z ^ (z >> 31)


def _own(v):
    """A new int object equal to the 64-bit `v`, made by the calling thread."""
    return int.from_bytes(v.to_bytes(8, "little"), "little")


def work(x, units):
    """`units` units from seed `x`: the value after units * 1024 mixing steps.

    The constants are the call's own objects, not the module's: every use of
    an object changes its reference count, and on a free-threaded build
    (CPython 3.13t) threads sharing the module's constants contended on those
    counts. Two threads doing 300 units each ran 1.30-1.35x one thread with
    the module's constants, 1.75-2.35x with their own (2-vCPU VM); with the
    GIL it makes no difference."""
    g, c1, c2, m = _own(GOLDEN), _own(C1), _own(C2), _own(M)
    steps = range(ITERS_PER_UNIT)
    for _ in range(units):
        for _ in steps:
            x = (x + g) & m
            x = ((x ^ (x >> 30)) * c1) & m
            x = ((x ^ (x >> 27)) * c2) & m
            x ^= x >> 31
    return x


def task_seed(run_seed, index):
    """The seed of task `index` of a run seeded `run_seed`."""
    return mix(mix(run_seed) ^ ((index * SEED_MUL) & M))


def run_task(sizes, seed, i):
    """Task `i` of a plan: its result."""
    return work(task_seed(seed, i), sizes[i])


_WARM = []


def warm(ms=30):
    """Runs the kernel untimed for `ms` milliseconds, once per process,
    before the first measured work: CPython 3.11+ specialises the bytecode
    of a loop only after running it a while (the first 40 ms of a fresh
    interpreter's work ran up to 30 % slower), and an idle CPU leaves its
    low frequency. Children forked later inherit the warmed code."""
    if _WARM:
        return
    end = time.perf_counter_ns() + ms * 1_000_000
    while time.perf_counter_ns() < end:
        work(3, 1)
    _WARM.append(True)


def calibrate():
    """Units per millisecond of one core for this interpreter: the fastest of
    five timed trials of about 30 ms each, after 100 ms of untimed work (so
    an idle CPU has left its low frequency)."""
    units = 1
    while True:
        t = time.perf_counter_ns()
        work(1, units)
        ms = (time.perf_counter_ns() - t) / 1e6
        if ms > 2.0:
            guess = units / ms
            break
        units *= 2
    end = time.perf_counter_ns() + 100_000_000
    while time.perf_counter_ns() < end:
        work(7, units)
    _WARM.append(True)
    per_trial = max(1, int(guess * 30.0))
    best = 0.0
    for i in range(5):
        t = time.perf_counter_ns()
        work(i, per_trial)
        best = max(best, per_trial / ((time.perf_counter_ns() - t) / 1e6))
    return best


HEADER_BYTES = 16
TRAILER_BYTES = 8


def digest(conn, seq):
    """The digest of request `seq` of connection `conn` (`workload::message::digest`)."""
    return mix(mix(conn ^ 0xC022EC7100) ^ ((seq * SEED_MUL) & M))


def message(conn, length):
    """The bytes of request 0 of connection `conn`, `length` long
    (`workload::message::Message::new`)."""
    buf = bytearray(length)
    state = mix((conn * 0x2545F4914F6CDD1D) & M)
    pos, end = HEADER_BYTES, length - TRAILER_BYTES
    while pos < end:
        state = mix(state)
        n = min(8, end - pos)
        buf[pos:pos + n] = state.to_bytes(8, "little")[:n]
        pos += n
    struct.pack_into("<IIQ", buf, 0, conn, length, 0)
    buf[end:] = digest(conn, 0).to_bytes(8, "little")
    return bytes(buf)


def checked_digest(sent, got, conn):
    """The digest an answer carries, after checking it is the request itself."""
    if got != sent:
        at = next((i for i, (a, b) in enumerate(zip(sent, got)) if a != b), min(len(sent), len(got)))
        raise ValueError("request %d: the answer differs from the request at byte %d of %d"
                         % (conn, at, len(sent)))
    return int.from_bytes(got[-TRAILER_BYTES:], "little")
