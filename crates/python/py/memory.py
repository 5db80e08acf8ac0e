"""`memory`: resident memory per idle unit, read at several counts.

N units are started in steps and left waiting. After each step, once every
unit has checked in and memory has settled for 20 ms, the memory is read:

- `threading`: threads waiting on one `threading.Event`; the interpreter's
  VmRSS and PSS (each thread adds its stack pages and its thread state);
- `asyncio`: tasks awaiting one `asyncio.Event` on one loop; the same reads;
- `multiprocessing`: fork-context processes waiting on one
  `multiprocessing.Event`; the PSS of the interpreter and every child
  (`/proc/<pid>/smaps_rollup`: shared pages divided among their sharers, so
  a forked child counts for the pages it copied, not for the whole
  interpreter), and their summed RSS.

The Rust side fits a line through the points: its slope is one unit's cost.
"""

import asyncio
import os
import threading
import time

from conpar_py import procs

SETTLE_S = 0.02


def _pss_rss(pid):
    pss = rss = 0
    try:
        with open("/proc/%s/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1]) * 1024
                elif line.startswith("Rss:"):
                    rss = int(line.split()[1]) * 1024
    except OSError:
        pass
    return pss, rss


def _point(units, pids):
    pss, rss = _pss_rss(os.getpid())
    for pid in pids:
        p, r = _pss_rss(pid)
        pss += p
        rss += r
    return [units, rss, pss]


def _targets(n, steps):
    return [n * k // steps for k in range(1, steps + 1)]


def with_threads(n, steps):
    gate, lock, alive = threading.Event(), threading.Lock(), [0]

    def idle():
        with lock:
            alive[0] += 1
        gate.wait()

    threads, points = [], [_point(0, [])]
    try:
        for target in _targets(n, steps):
            while len(threads) < target:
                th = threading.Thread(target=idle)
                th.start()
                threads.append(th)
            while alive[0] < target:
                time.sleep(0.0002)
            time.sleep(SETTLE_S)
            points.append(_point(target, []))
    finally:
        gate.set()
        for th in threads:
            th.join()
    return points, alive[0]


def with_tasks(n, steps):
    async def main():
        gate, alive = asyncio.Event(), [0]

        async def idle():
            alive[0] += 1
            await gate.wait()

        tasks, points = [], [_point(0, [])]
        try:
            for target in _targets(n, steps):
                while len(tasks) < target:
                    tasks.append(asyncio.ensure_future(idle()))
                while alive[0] < target:
                    await asyncio.sleep(0)
                time.sleep(SETTLE_S)
                points.append(_point(target, []))
        finally:
            gate.set()
            await asyncio.gather(*tasks)
        return points, alive[0]

    return asyncio.run(main())


def _idle_process(parent, gate, checkin):
    procs.die_with_parent(parent)
    checkin.put(os.getpid())
    gate.wait()


def with_processes(n, steps):
    ctx = procs.fork_context()
    gate, checkin = ctx.Event(), ctx.SimpleQueue()
    ps, alive, points = [], 0, [_point(0, [])]
    try:
        for target in _targets(n, steps):
            while len(ps) < target:
                p = ctx.Process(target=_idle_process, args=(os.getpid(), gate, checkin))
                p.start()
                ps.append(p)
            while alive < target:
                checkin.get()
                alive += 1
            time.sleep(SETTLE_S)
            points.append(_point(target, [p.pid for p in ps]))
    finally:
        gate.set()
        for p in ps:
            p.join()
    bad = [p.exitcode for p in ps if p.exitcode != 0]
    if bad:
        raise RuntimeError("%d idle processes exited with %s" % (len(bad), bad[0]))
    return points, alive


def run(req):
    model, n, steps = req["model"], int(req["units"]), int(req["steps"])
    t = time.perf_counter_ns()
    if model == "threading":
        points, started = with_threads(n, steps)
    elif model == "asyncio":
        points, started = with_tasks(n, steps)
    elif model == "multiprocessing":
        points, started = with_processes(n, steps)
    else:
        raise ValueError("no memory model %r" % model)
    return {"points": points, "started": started, "wall_ns": time.perf_counter_ns() - t}
