"""`pingpong`: one round trip of a one-byte token between two units.

The measuring end (ping) hands the token over and waits for it to come
back; a sample is the whole round trip, timed in ping, so it holds two
hand-overs.

- `asyncio-queue`: two tasks on one event loop, an `asyncio.Queue` each way;
  both ends share the loop's thread, so only `same-cpu` exists.
- `queue-threads`: two threads, a `queue.Queue` each way (a lock and a
  condition variable; the waiting thread releases the GIL).
- `multiprocessing-pipe`: two processes, a `multiprocessing.Pipe` (a
  socketpair) between them, `send_bytes` / `recv_bytes`.

Ping runs on `cpu_a`, pong on `cpu_b` (both pinned, the interpreter's main
thread back to its CPUs afterwards).
"""

import asyncio
import os
import queue
import threading
import time

from conpar_py import procs
from conpar_py.proto import Sampler, sample_loop

TOKEN = b"\x01"


def _pong_thread(cpu, inbox, outbox, started):
    procs.pin(cpu)
    started.append(1)
    while True:
        b = inbox.get()
        if b is None:
            return
        outbox.put(b)


def queue_threads(sched, cpu_a, cpu_b):
    to_pong, to_ping, started = queue.Queue(1), queue.Queue(1), []
    th = threading.Thread(target=_pong_thread, args=(cpu_b, to_pong, to_ping, started))
    th.start()

    def sample():
        t = time.perf_counter_ns()
        to_pong.put(TOKEN)
        if to_ping.get() != TOKEN:
            raise RuntimeError("the token came back changed")
        return time.perf_counter_ns() - t

    try:
        out = sample_loop(sched, sample)
    finally:
        to_pong.put(None)
        th.join()
    out["started"] = 1 + len(started)
    return out


def _pong_process(parent, cpu, conn):
    procs.die_with_parent(parent)
    procs.pin(cpu)
    conn.send_bytes(b"ready")
    while True:
        b = conn.recv_bytes()
        if b == b"stop":
            return
        conn.send_bytes(b)


def mp_pipe(sched, cpu_b):
    ctx = procs.fork_context()
    here, there = ctx.Pipe(duplex=True)
    p = ctx.Process(target=_pong_process, args=(os.getpid(), cpu_b, there))
    p.start()
    there.close()
    if here.recv_bytes() != b"ready":
        raise RuntimeError("the pong process did not start")

    def sample():
        t = time.perf_counter_ns()
        here.send_bytes(TOKEN)
        if here.recv_bytes() != TOKEN:
            raise RuntimeError("the token came back changed")
        return time.perf_counter_ns() - t

    try:
        out = sample_loop(sched, sample)
    finally:
        here.send_bytes(b"stop")
        p.join()
    if p.exitcode != 0:
        raise RuntimeError("the pong process exited with %s" % p.exitcode)
    out["started"] = 2
    return out


def asyncio_queue(sched):
    async def pong(inbox, outbox, started):
        started.append(1)
        while True:
            b = await inbox.get()
            if b is None:
                return
            await outbox.put(b)

    async def main():
        to_pong, to_ping, started = asyncio.Queue(1), asyncio.Queue(1), []
        partner = asyncio.ensure_future(pong(to_pong, to_ping, started))
        s = Sampler(sched)
        kept = []
        while True:
            keep = s.next()
            if keep is None:
                break
            t = time.perf_counter_ns()
            await to_pong.put(TOKEN)
            if await to_ping.get() != TOKEN:
                raise RuntimeError("the token came back changed")
            ns = time.perf_counter_ns() - t
            if keep:
                kept.append(ns)
        wall = s.wall_ns()
        await to_pong.put(None)
        await partner
        return {"samples_ns": kept, "wall_ns": wall, "started": 1 + len(started)}

    return asyncio.run(main())


def run(req):
    model, sched = req["model"], req["schedule"]
    cpu_a, cpu_b = req["cpu_a"], req["cpu_b"]
    mine = procs.allowed()
    procs.pin(cpu_a)
    try:
        if model == "queue-threads":
            return queue_threads(sched, cpu_a, cpu_b)
        if model == "multiprocessing-pipe":
            return mp_pipe(sched, cpu_b)
        if model == "asyncio-queue":
            if cpu_a != cpu_b:
                raise ValueError("asyncio-queue has both ends on one thread: no cross-cpu placement")
            return asyncio_queue(sched)
        raise ValueError("no pingpong model %r" % model)
    finally:
        procs.restore(mine)
