"""Disk space kept back for a run's last history writes.

A run whose disk fills up (a task's log took the last block) still has to record how it ended:
without it the history later shows the run `lost` and its completed tasks `failed (lost)`, and
`rerun --failed` would run work that succeeded. So each recorded run holds a small file of real,
allocated blocks in its run directory while it runs; when the history cannot be written because
the disk is full, the recorder keeps what it could not write and, at the end (no task writes a
log any more), gives the reserve back to the file system and writes it then.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

RESERVE_BYTES = 1 << 20
"""Room for the last transactions of a run (a few pages per task), with a wide margin."""
RESERVE_NAME = ".history-reserve"


class SpaceReserve:
    """`size` bytes allocated at `path` until `release()`."""

    def __init__(self, path: Path, size: int = RESERVE_BYTES) -> None:
        self.path = path
        self.held = False
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        except OSError:
            return  # no reserve: recording goes on without one
        try:
            _allocate(fd, size)
            self.held = True
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(path)
        finally:
            os.close(fd)

    def release(self) -> bool:
        """Give the space back; True if there was any to give."""
        held, self.held = self.held, False
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        return held


def _allocate(fd: int, size: int) -> None:
    """Real blocks, not a sparse file (a hole would free nothing when the file is removed)."""
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
            raise
        block = b"\0" * (64 * 1024)
        for _ in range(0, size, len(block)):
            os.write(fd, block)
