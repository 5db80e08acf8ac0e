"""`stall`: who is held up when a coroutine blocks the event loop's thread (C6).

Two tasks share one asyncio loop. The heartbeat wants to tick every
millisecond on a fixed schedule (tick k is due at start + k ms) and records
its lateness, the actual minus the intended time of every tick, so a tick it
could not take while blocked is counted late rather than skipped. The other
task, the blocker, alternates `block_ms` of one of three calls with as long
an `asyncio.sleep`:

- `asyncio-sleep`: `await asyncio.sleep(...)`: the loop is free meanwhile;
- `run-in-executor`: `time.sleep` in the loop's default thread pool, awaited
  (`loop.run_in_executor`): the sleeping thread releases the GIL;
- `time-sleep`: `time.sleep(...)` right in the coroutine: the loop's thread
  is stuck, and so is every task on it.

asyncio's timers have a floor of their own (the selector's timeout is
rounded up to whole milliseconds), so an idle heartbeat is up to a
millisecond late.
"""

import asyncio
import time

TICK_NS = 1_000_000


async def _heartbeat(warmup_ns, duration_ns, stop):
    start = time.perf_counter_ns()
    measure_from = start + warmup_ns
    until = measure_from + max(duration_ns, TICK_NS)
    late = []
    k = 1
    while True:
        due = start + TICK_NS * k
        if due > until:
            break
        wait = due - time.perf_counter_ns()
        if wait > 0:
            await asyncio.sleep(wait / 1e9)
        else:
            await asyncio.sleep(0)
        now = time.perf_counter_ns()
        if due >= measure_from:
            late.append(max(0, now - due))
        k += 1
    stop.set()
    return late, until - measure_from


async def _blocker(what, block_s, stop):
    loop = asyncio.get_running_loop()
    calls = 0
    while not stop.is_set():
        if what == "asyncio-sleep":
            await asyncio.sleep(block_s)
        elif what == "run-in-executor":
            await loop.run_in_executor(None, time.sleep, block_s)
        elif what == "time-sleep":
            time.sleep(block_s)
        else:
            raise ValueError("no blocker %r" % what)
        calls += 1
        await asyncio.sleep(block_s)
    return calls


def run(req):
    sched = req["schedule"]
    block_s = float(req["block_ms"]) / 1000.0

    async def main():
        stop = asyncio.Event()
        beat = asyncio.ensure_future(_heartbeat(int(sched["warmup_ns"]), int(sched["duration_ns"]), stop))
        block = asyncio.ensure_future(_blocker(req["blocker"], block_s, stop))
        (late, wall), calls = await asyncio.gather(beat, block)
        return late, wall, calls

    late, wall, calls = asyncio.run(main())
    return {"samples_ns": late, "wall_ns": wall, "blocks": calls, "tick_ns": TICK_NS}
