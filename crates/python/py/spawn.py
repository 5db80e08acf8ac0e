"""`spawn`: the cost of creating a unit, running an empty body and joining it.

One sample is one of:
- `threading`: `threading.Thread(target=body).start()` and `.join()`;
- `multiprocessing-fork`, `-forkserver`, `-spawn`: `Process(target=body)`
  of that start method's context, `.start()` and `.join()`, exit code 0
  (fork copies the interpreter; forkserver forks a prepared server process;
  spawn starts a fresh interpreter, which imports this package again);
- `asyncio`: `asyncio.ensure_future(body())` awaited, timed from inside the
  running loop.

Threads and tasks count themselves when their body runs; a process proves
it ran its body with exit code 0. The empty body exits at once, so it needs
no parent-death handling (the forkserver itself has it).
"""

import asyncio
import threading
import time

from conpar_py import empty, procs
from conpar_py.proto import Sampler, sample_loop

_RAN = []


def _body():
    _RAN.append(1)


async def _task_body():
    _RAN.append(1)


def _thread_sample():
    t = time.perf_counter_ns()
    th = threading.Thread(target=_body)
    th.start()
    th.join()
    return time.perf_counter_ns() - t


def _process_sampler(method):
    ctx = procs.context(method)

    def sample():
        t = time.perf_counter_ns()
        p = ctx.Process(target=empty.body)
        p.start()
        p.join()
        ns = time.perf_counter_ns() - t
        if p.exitcode != 0:
            raise RuntimeError("a %s child exited with %s" % (method, p.exitcode))
        _RAN.append(1)
        return ns

    return sample


def _asyncio(sched):
    async def main():
        s = Sampler(sched)
        kept = []
        while True:
            keep = s.next()
            if keep is None:
                return {"samples_ns": kept, "wall_ns": s.wall_ns()}
            t = time.perf_counter_ns()
            await asyncio.ensure_future(_task_body())
            ns = time.perf_counter_ns() - t
            if keep:
                kept.append(ns)

    return asyncio.run(main())


METHODS = {
    "multiprocessing-fork": "fork",
    "multiprocessing-forkserver": "forkserver",
    "multiprocessing-spawn": "spawn",
}


def run(req):
    model, sched = req["model"], req["schedule"]
    del _RAN[:]
    if model == "threading":
        out = sample_loop(sched, _thread_sample)
    elif model in METHODS:
        out = sample_loop(sched, _process_sampler(METHODS[model]))
    elif model == "asyncio":
        out = _asyncio(sched)
    else:
        raise ValueError("no spawn model %r" % model)
    out["started"] = len(_RAN)
    return out
