"""`requests`: N requests to the Rust binary's delay server, which answers
each one `d` after it arrived in full with the request itself. Each request
opens its own connection (as a client fetching N URLs would), sends request
i (`kernel.message(i, bytes)`), reads the whole answer and checks it byte for
byte. A sample is one request, from connect to checked answer.

- `sequential`: blocking sockets, one request after another: about N·d.
- `asyncio`: `asyncio.gather` over one coroutine per request on asyncio
  streams: the waits overlap, about d.
- `thread-pool`: `concurrent.futures.ThreadPoolExecutor` with a thread per
  request (blocking sockets; a thread waiting in `recv` releases the GIL).

Each coroutine or thread counts itself when it starts.
"""

import asyncio
import concurrent.futures
import socket
import threading
import time

from conpar_py import kernel


def _blocking(addr, i, nbytes):
    t = time.perf_counter_ns()
    msg = kernel.message(i, nbytes)
    with socket.create_connection(addr) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall(msg)
        got = bytearray()
        while len(got) < nbytes:
            chunk = s.recv(min(65536, nbytes - len(got)))
            if not chunk:
                raise ConnectionError("request %d: the server closed after %d of %d bytes"
                                      % (i, len(got), nbytes))
            got += chunk
    d = kernel.checked_digest(msg, bytes(got), i)
    return d, time.perf_counter_ns() - t


async def _async(addr, i, nbytes, started):
    started[0] += 1
    t = time.perf_counter_ns()
    msg = kernel.message(i, nbytes)
    reader, writer = await asyncio.open_connection(addr[0], addr[1])
    try:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        writer.write(msg)
        await writer.drain()
        got = await reader.readexactly(nbytes)
    finally:
        writer.close()
        await writer.wait_closed()
    d = kernel.checked_digest(msg, got, i)
    return d, time.perf_counter_ns() - t


def sequential(addr, n, nbytes):
    t = time.perf_counter_ns()
    answers = [_blocking(addr, i, nbytes) for i in range(n)]
    return answers, time.perf_counter_ns() - t, 1


def with_asyncio(addr, n, nbytes):
    started = [0]

    async def main():
        t = time.perf_counter_ns()
        answers = await asyncio.gather(*(_async(addr, i, nbytes, started) for i in range(n)))
        return answers, time.perf_counter_ns() - t

    answers, wall = asyncio.run(main())
    return answers, wall, started[0]


def thread_pool(addr, n, nbytes):
    started = set()

    def one(i):
        started.add(threading.get_ident())
        return _blocking(addr, i, nbytes)

    with concurrent.futures.ThreadPoolExecutor(max_workers=n) as ex:
        t = time.perf_counter_ns()
        answers = list(ex.map(one, range(n)))
        wall = time.perf_counter_ns() - t
    return answers, wall, len(started)


def run(req):
    model = req["model"]
    addr = (req["host"], int(req["port"]))
    n, nbytes = int(req["requests"]), int(req["message_bytes"])
    if model == "sequential":
        answers, wall, started = sequential(addr, n, nbytes)
    elif model == "asyncio":
        answers, wall, started = with_asyncio(addr, n, nbytes)
    elif model == "thread-pool":
        answers, wall, started = thread_pool(addr, n, nbytes)
    else:
        raise ValueError("no requests model %r" % model)
    return {"answers": [[d, ns] for d, ns in answers], "wall_ns": wall, "started": started}
