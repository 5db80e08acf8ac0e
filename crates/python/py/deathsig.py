"""Imported by the multiprocessing forkserver as it starts (its preload): the
forkserver dies with the interpreter, and so, by their own request, do the
children it forks."""

from conpar_py import procs

procs.die_with_parent()
