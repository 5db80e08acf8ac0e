"""conpar_py: CPython's threading, multiprocessing and asyncio as conpar models.

One module per experiment (cpu, kitchen, fetch, stall, spawn, pingpong,
memory); `proto` is the JSON-lines protocol with the Rust binary and the
command table; `kernel` is the twin of the Rust CPU kernel and message
format; `procs` is what every child process does first (die with its
parent) and the multiprocessing contexts.
"""
