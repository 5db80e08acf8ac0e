"""`cpu` and `gil`: a fixed amount of CPU work split into tasks (the Rust
plan's task sizes and seed), done by one of Python's ways to run tasks.

Every model's workers are started and waiting before the clock starts (a
pool is built and warmed; threads wait on an event), so the time is the
work and its distribution, as in the Rust models. The result is the
checksum (wrapping sum and count of every task's result, each task index
seen once), which the Rust side compares with its own kernel's, and the
units that started: threads as they start, asyncio tasks at their first
run, pool workers by the tasks they ran.

- `sequential`: every task on the main thread, the baseline.
- `threading`: one `threading.Thread` per worker, taking the next task from
  a shared counter (a dynamic split). Under the GIL one thread runs Python
  at a time.
- `multiprocessing-pool`: a `multiprocessing.Pool` of one process per
  worker, `imap_unordered` in chunks of n / (4 · workers) tasks — the
  chunk `Pool.map` itself picks: sent one task at a time, a millisecond's
  task spends about half as long again in the pipe, and two processes
  reach 1.3× instead of 1.9× (measured on the 2-vCPU VM).
- `futures-thread-pool` / `futures-process-pool`: `concurrent.futures`'
  ThreadPoolExecutor / ProcessPoolExecutor, `map` in the same chunks.
- `asyncio`: one task per plan task on one event loop, each counted at its
  first run: concurrency without a second CPU.
"""

import asyncio
import concurrent.futures
import os
import threading
import time

from conpar_py import kernel, procs

M = kernel.M
_STATE = {}
# Seconds each pool worker computes before the clock starts.
WARM_S = 0.03


def _set_state(state):
    _STATE["sizes"], _STATE["seed"] = state


def _task(i):
    """A pool's task: its index, its result, and who ran it (a process, or a
    thread of a thread pool), so the units that worked are counted."""
    who = (os.getpid(), threading.get_ident())
    return i, kernel.run_task(_STATE["sizes"], _STATE["seed"], i), who


def _spin(seconds):
    """A warm-up task: computes for `seconds`, so that each worker's CPU is
    awake and at speed when the clock starts (a virtual CPU that was idle
    runs its first tens of milliseconds slowly)."""
    end = time.perf_counter_ns() + int(seconds * 1e9)
    while time.perf_counter_ns() < end:
        kernel.work(5, 1)
    return 0


class Sum:
    def __init__(self):
        self.sum = 0
        self.count = 0

    def add(self, v):
        self.sum = (self.sum + v) & M
        self.count += 1


def sequential(sizes, seed):
    s = Sum()
    t = time.perf_counter_ns()
    for i in range(len(sizes)):
        s.add(kernel.run_task(sizes, seed, i))
    return s, time.perf_counter_ns() - t, 1


def threading_workers(sizes, seed, workers, cpus):
    lock = threading.Lock()
    nxt = [0]
    go = threading.Event()
    ready = threading.Semaphore(0)
    started = []
    parts = []

    def worker(k):
        procs.pin(cpus[k % len(cpus)] if cpus else None)
        started.append(k)
        ready.release()
        go.wait()
        s = Sum()
        n = len(sizes)
        while True:
            with lock:
                i = nxt[0]
                nxt[0] += 1
            if i >= n:
                break
            s.add(kernel.run_task(sizes, seed, i))
        parts.append(s)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(workers)]
    for th in threads:
        th.start()
    for _ in threads:
        ready.acquire()
    t = time.perf_counter_ns()
    go.set()
    for th in threads:
        th.join()
    wall = time.perf_counter_ns() - t
    total = Sum()
    for p in parts:
        total.sum = (total.sum + p.sum) & M
        total.count += p.count
    return total, wall, len(started)


def _collect(results, n):
    """The checksum of every task's `(index, result, who)`, each index once;
    and how many distinct workers ran them."""
    s = Sum()
    seen = bytearray(n)
    workers = set()
    for i, v, who in results:
        if seen[i]:
            raise RuntimeError("task %d ran twice" % i)
        seen[i] = 1
        workers.add(who)
        s.add(v)
    return s, len(workers)


def chunk(n, workers):
    """Tasks per message to a process pool: `Pool.map`'s own choice, n / (4 · workers)."""
    return max(1, -(-n // (4 * workers)))


def _warm(executor, workers):
    """Makes an executor start every worker before the clock does, and warms
    their CPUs: as many busy tasks as there are workers, at once."""
    list(executor.map(_spin, [WARM_S] * workers))


def mp_pool(sizes, seed, workers):
    ctx = procs.fork_context()
    init = (os.getpid(), _set_state, (sizes, seed))
    pool = ctx.Pool(workers, initializer=procs.init_worker, initargs=init)
    try:
        pool.map(_spin, [WARM_S] * workers, chunksize=1)
        t = time.perf_counter_ns()
        tasks = pool.imap_unordered(_task, range(len(sizes)), chunksize=chunk(len(sizes), workers))
        s, seen = _collect(tasks, len(sizes))
        wall = time.perf_counter_ns() - t
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
    return s, wall, seen


def futures_pool(sizes, seed, workers, processes):
    if processes:
        ex = concurrent.futures.ProcessPoolExecutor(
            max_workers=workers,
            mp_context=procs.fork_context(),
            initializer=procs.init_worker,
            initargs=(os.getpid(), _set_state, (sizes, seed)),
        )
    else:
        _set_state((sizes, seed))
        ex = concurrent.futures.ThreadPoolExecutor(max_workers=workers)
    with ex:
        _warm(ex, workers)
        t = time.perf_counter_ns()
        s, seen = _collect(ex.map(_task, range(len(sizes)), chunksize=chunk(len(sizes), workers)), len(sizes))
        wall = time.perf_counter_ns() - t
    return s, wall, seen


def asyncio_tasks(sizes, seed):
    started = [0]

    async def one(i):
        started[0] += 1
        return i, kernel.run_task(sizes, seed, i), 0

    async def main():
        t = time.perf_counter_ns()
        tasks = [asyncio.ensure_future(one(i)) for i in range(len(sizes))]
        results = await asyncio.gather(*tasks)
        s, _ = _collect(results, len(sizes))
        return s, time.perf_counter_ns() - t

    s, wall = asyncio.run(main())
    return s, wall, started[0]


def run(req):
    kernel.warm()
    model = req["model"]
    sizes, seed = req["sizes"], int(req["seed"])
    workers, cpus = int(req["workers"]), req.get("cpus") or []
    if model == "sequential":
        s, wall, started = sequential(sizes, seed)
    elif model == "threading":
        s, wall, started = threading_workers(sizes, seed, workers, cpus)
    elif model == "multiprocessing-pool":
        s, wall, started = mp_pool(sizes, seed, workers)
    elif model == "futures-thread-pool":
        s, wall, started = futures_pool(sizes, seed, workers, False)
    elif model == "futures-process-pool":
        s, wall, started = futures_pool(sizes, seed, workers, True)
    elif model == "asyncio":
        s, wall, started = asyncio_tasks(sizes, seed)
    else:
        raise ValueError("no cpu model %r" % model)
    return {"sum": s.sum, "count": s.count, "wall_ns": wall, "started": started}
