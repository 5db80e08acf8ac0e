"""`kitchen`: the seed notes' orders (ramen, fried rice, spicy pork), each a
list of steps the Rust plan resolved — `["p", units, seed]` (prep: CPU work
with the kernel) or `["w", ms]` (cooking: waiting) — cooked by one of
Python's ways.

- `sequential`: one cook, order after order, watching every pot (`time.sleep`).
- `asyncio`: one event loop, a task per order; waiting is `await
  asyncio.sleep`, so the waits overlap on one thread (C1).
- `threading`: a `threading.Thread` per order, waiting with `time.sleep`
  (which releases the GIL, so the waits overlap; the prep does not).
- `multiprocessing`: a process per order, started on the clock.
- `multiprocessing-pool`: one process per worker, started before the clock,
  each cooking its share of the orders one after another: parallel only.
- `multiprocessing-asyncio`: one process per worker, each running an asyncio
  loop over its share: parallel and concurrent at once (C4).

Every order's completion time is `perf_counter_ns` (CLOCK_MONOTONIC, the same
clock in every process) minus the start; the result is the prep checksum
(wrapping sum and count of every prep step's result).
"""

import asyncio
import os
import threading
import time

from conpar_py import kernel, procs

M = kernel.M


def cook_blocking(order):
    """Cooks one order on this thread; returns its prep `(sum, count)`."""
    s, n = 0, 0
    for step in order:
        if step[0] == "p":
            s = (s + kernel.work(int(step[2]), int(step[1]))) & M
            n += 1
        else:
            time.sleep(step[1] / 1000.0)
    return s, n


async def cook_async(order):
    s, n = 0, 0
    for step in order:
        if step[0] == "p":
            s = (s + kernel.work(int(step[2]), int(step[1]))) & M
            n += 1
        else:
            await asyncio.sleep(step[1] / 1000.0)
    return s, n


def _loop_over(orders, ids):
    """One asyncio loop cooking `orders[i]` for every i of `ids`: `(i, sum,
    count, done_at)` per order (done_at in perf_counter_ns), and how many of
    its tasks started."""
    started = [0]

    async def one(i):
        started[0] += 1
        s, n = await cook_async(orders[i])
        return i, s, n, time.perf_counter_ns()

    async def main():
        return await asyncio.gather(*(one(i) for i in ids))

    return asyncio.run(main()), started[0]


def _one_by_one(orders, ids):
    out = []
    for i in ids:
        s, n = cook_blocking(orders[i])
        out.append((i, s, n, time.perf_counter_ns()))
    return out


def _share_worker(parent, orders, ids, concurrent, go, results):
    procs.die_with_parent(parent)
    go.wait()
    cooked = _loop_over(orders, ids)[0] if concurrent else _one_by_one(orders, ids)
    results.put(cooked)


def _order_worker(parent, orders, i, results):
    procs.die_with_parent(parent)
    s, n = cook_blocking(orders[i])
    results.put([(i, s, n, time.perf_counter_ns())])


def _gather(ctx_procs, results, expected):
    """Reads `expected` result lists from the workers, then joins them."""
    cooked = []
    for _ in range(expected):
        cooked.extend(results.get())
    at = time.perf_counter_ns()
    for p in ctx_procs:
        p.join()
        if p.exitcode != 0:
            raise RuntimeError("a cook process exited with %s" % p.exitcode)
    return cooked, at


def processes(orders, workers, concurrent):
    """One process per worker, started and waiting; order i goes to worker
    i mod workers; the clock starts when they are released together."""
    ctx = procs.fork_context()
    go, results = ctx.Event(), ctx.SimpleQueue()
    shares = [list(range(k, len(orders), workers)) for k in range(workers)]
    shares = [s for s in shares if s]
    ps = [ctx.Process(target=_share_worker, args=(os.getpid(), orders, ids, concurrent, go, results))
          for ids in shares]
    for p in ps:
        p.start()
    t = time.perf_counter_ns()
    go.set()
    cooked, end = _gather(ps, results, len(ps))
    return t, cooked, end, len(ps)


def process_per_order(orders):
    ctx = procs.fork_context()
    results = ctx.SimpleQueue()
    t = time.perf_counter_ns()
    ps = [ctx.Process(target=_order_worker, args=(os.getpid(), orders, i, results))
          for i in range(len(orders))]
    for p in ps:
        p.start()
    cooked, end = _gather(ps, results, len(ps))
    return t, cooked, end, len(ps)


def thread_per_order(orders):
    cooked = []
    started = []

    def one(i):
        started.append(i)
        s, n = cook_blocking(orders[i])
        cooked.append((i, s, n, time.perf_counter_ns()))

    t = time.perf_counter_ns()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(orders))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return t, cooked, time.perf_counter_ns(), len(started)


def run(req):
    kernel.warm()
    model, orders, workers = req["model"], req["orders"], int(req["workers"])
    ids = range(len(orders))
    if model == "sequential":
        t = time.perf_counter_ns()
        cooked, started = _one_by_one(orders, ids), 1
        end = time.perf_counter_ns()
    elif model == "asyncio":
        t = time.perf_counter_ns()
        cooked, started = _loop_over(orders, ids)
        end = time.perf_counter_ns()
    elif model == "threading":
        t, cooked, end, started = thread_per_order(orders)
    elif model == "multiprocessing":
        t, cooked, end, started = process_per_order(orders)
    elif model == "multiprocessing-pool":
        t, cooked, end, started = processes(orders, workers, False)
    elif model == "multiprocessing-asyncio":
        t, cooked, end, started = processes(orders, workers, True)
    else:
        raise ValueError("no kitchen model %r" % model)
    done = [None] * len(orders)
    total, count = 0, 0
    for i, s, n, at in cooked:
        if done[i] is not None:
            raise RuntimeError("order %d was cooked twice" % i)
        done[i] = max(0, at - t)
        total = (total + s) & M
        count += n
    if any(d is None for d in done):
        raise RuntimeError("%d orders were not cooked" % sum(d is None for d in done))
    return {"sum": total, "count": count, "done_ns": done, "makespan_ns": end - t, "started": started}
