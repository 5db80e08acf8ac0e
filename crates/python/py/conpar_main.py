"""conpar's Python side: the worker program the `python` binary runs.

The Rust binary starts this file with `python3 -I -B conpar_main.py` in a
fresh temporary folder holding the `conpar_py` package beside it, pinned to
`--cores` and in a process group of its own. This program says hello (who it
is, whether the GIL is on, what its timing loop costs), then answers one JSON
command per line on stdin with one JSON line on its protocol channel (the
original stdout; stdout itself is pointed at stderr so that a stray print
cannot corrupt it), until stdin closes.

Standard library only; Python 3.9 or newer.
"""

import os
import sys

if __name__ == "__main__":
    # -I leaves the script's folder off sys.path; multiprocessing hands this
    # sys.path to the children it spawns, so they find the package too.
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from conpar_py import proto

    sys.exit(proto.serve())
