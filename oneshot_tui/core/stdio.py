"""The standard descriptors, made safe at start-up.

Started with stdout or stderr closed (`>&-`, `2>&-`), a process hands the next file it opens the
free number: a log file or `history.db` would become "stdout", and every print would write into
it (and Python leaves `sys.stdout` None, so the first print fails). `guard_standard_fds()` runs
first in every entry point: it opens /dev/null on each closed one of 0, 1 and 2, so nothing of
ours ever lands there, and remembers which were closed, so the headless output can say that it
could not write them instead of pretending it did.
"""

from __future__ import annotations

import io
import os
import sys

_closed: set[int] = set()


def guard_standard_fds() -> None:
    """Open /dev/null on every closed standard descriptor (once per process)."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
            os.set_inheritable(fd, True)
            _closed.add(fd)
    if sys.stdout is None and 1 in _closed:
        sys.stdout = io.TextIOWrapper(open(1, "wb", closefd=False), write_through=True)  # noqa: SIM115
    if sys.stderr is None and 2 in _closed:
        sys.stderr = io.TextIOWrapper(open(2, "wb", closefd=False), write_through=True)  # noqa: SIM115


def was_closed(fd: int) -> bool:
    """Whether `fd` was closed when the process started (it is /dev/null now)."""
    return fd in _closed
