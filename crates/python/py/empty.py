"""The empty body of `spawn`'s process models, in a module that imports
nothing: a `spawn` or `forkserver` child unpickles its target by importing
its module, so this keeps the measured cost the start method's own."""


def body():
    """Does nothing; the process exits with code 0 when it returns."""
