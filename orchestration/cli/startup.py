"""The cyclic garbage collector in an `orch` process.

Starting builds hundreds of thousands of objects that live as long as the process: modules, moto's
backends and interpreter, the deployed workflow. The collector's full passes over them find nothing
to free: about 0.3 s of a one-task `orch run`, and the collection at exit about 0.5 s more. So while
the process starts (`startup()`) the collector is paused, what start-up built is then frozen (later
collections skip it: `gc.freeze`) and the collector runs as usual; at exit everything is frozen
before the interpreter's last collection (the process's memory goes back at once anyway).

Only in the `orch` process itself (`program()`): a command invoked in a test's process (click's
CliRunner) leaves the collector alone, since frozen objects are never collected.
"""

from __future__ import annotations

import atexit
import gc
from collections.abc import Iterator
from contextlib import contextmanager

_program = False


def program() -> None:
    """This process is `orch` (its command line is sys.argv): `startup()` pauses the collector, and
    the exit skips the last collection."""
    global _program
    if not _program:
        _program = True
        atexit.register(gc.freeze)


@contextmanager
def startup() -> Iterator[None]:
    """In the `orch` process: pause the collector while the block builds what the process keeps, then
    freeze what lives (the collector skips it from then on) and resume; elsewhere nothing changes."""
    if not _program or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()
