"""Writing stdout and stderr without ever blocking the event loop.

A `write()` to a pipe nobody reads (`run ... | sleep 25`) blocks once the kernel's 64 KiB are
full; made on the event loop, it would stop every timer, signal and task of the run. So each
standard stream's bytes go into a buffer, and a thread of its own writes them out: `write()`
returns at once, whatever the reader does. The buffer is bounded in bytes by its caller, who
waits for `room` before it takes more (the headless printer stops taking events, and the bus then
holds back the tasks whose lines wait: back-pressure, not loss).

Failures never raise into the caller: the first one (EPIPE, ENOSPC, EBADF) is kept in `error`,
what was buffered is dropped and later writes are discarded; the caller decides what it means.
A thread blocked in `write()` for good (the reader never reads) is a daemon: it does not keep the
process from exiting.

stdout and stderr that are one file (`2>&1`) share one writer, so their lines keep their order.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import threading
from collections import deque
from typing import TYPE_CHECKING

import anyio

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

DEFAULT_LIMIT = 16 << 20
"""Bytes a caller lets wait in a writer before it waits for room."""
_CHUNK = 1 << 16
"""Bytes handed to one write(): room frees as the reader reads, not only when all is written."""


class Waker:
    """How writing threads tell the event loop that something changed: a byte in a pipe of our
    own, which one task of the loop waits to be readable (no thread ever waits on the loop)."""

    def __init__(self) -> None:
        self._r, self._w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)

    def notify(self) -> None:
        with contextlib.suppress(BlockingIOError):  # the loop has wake-ups waiting already
            os.write(self._w, b".")

    async def wait(self) -> None:
        """Until a notify since the last wait (one waiting task at a time)."""
        await anyio.wait_readable(self._r)
        with contextlib.suppress(BlockingIOError):
            os.read(self._r, 4096)


class StreamWriter:
    """One open file's bytes, written in order by a thread of its own."""

    def __init__(self, fd: int, name: str, waker: Waker, *, limit: int = DEFAULT_LIMIT) -> None:
        self.fd = fd
        self.name = name
        self.limit = limit
        self.error: OSError | None = None
        """The first write that failed; from then on everything is discarded."""
        self.dropped = 0
        """Bytes given but never written (after a failure)."""
        self.accepted = 0
        """Bytes given so far (written, waiting or dropped)."""
        self.written = 0
        """Bytes written so far."""
        self._chunks: deque[memoryview] = deque()
        self._buffered = 0
        self._closed = False
        self._cond = threading.Condition()
        self._waker = waker
        self._thread = threading.Thread(target=self._pump, name=f"{name} writer", daemon=True)
        self._thread.start()

    def fail(self, error: OSError) -> None:
        """Take `error` as the first failure (a stream closed before the run started)."""
        with self._cond:
            if self.error is None:
                self.error = error
            self.dropped += self._buffered
            self._chunks.clear()
            self._buffered = 0

    @property
    def buffered(self) -> int:
        """Bytes waiting to be written."""
        return self._buffered

    @property
    def room(self) -> bool:
        return self._buffered < self.limit

    def write(self, data: bytes) -> None:
        """Queue `data`; never blocks, never raises."""
        if not data:
            return
        with self._cond:
            self.accepted += len(data)
            if self.error is not None or self._closed:
                self.dropped += len(data)
                return
            view = memoryview(data)
            self._chunks.extend(view[i : i + _CHUNK] for i in range(0, len(view), _CHUNK))
            self._buffered += len(data)
            self._cond.notify()

    def close(self) -> None:
        """No more writes; the thread ends once the buffer is written (or never, if the reader
        never reads: it is a daemon)."""
        with self._cond:
            self._closed = True
            self._cond.notify()

    def join(self, timeout: float) -> None:
        """Close, and give the thread up to `timeout` seconds to write what waits (the run ended
        without `finish`, an error on its way out: what it printed should still come out)."""
        self.close()
        self._thread.join(timeout)

    # -- the writing thread ------------------------------------------------------------------------

    def _pump(self) -> None:
        while True:
            with self._cond:
                while not self._chunks and not self._closed:
                    self._cond.wait()
                if not self._chunks:
                    return
                data = self._chunks.popleft()
            try:
                _write_all(self.fd, data)
            except OSError as exc:
                with self._cond:
                    self._buffered -= len(data)
                    self.dropped += len(data)
                self.fail(exc)
                self._waker.notify()
                return
            with self._cond:
                self._buffered -= len(data)
                self.written += len(data)
            self._waker.notify()


def _write_all(fd: int, view: memoryview) -> None:
    while view:
        try:
            written = os.write(fd, view)
        except InterruptedError:
            continue
        except BlockingIOError:
            # A file left non-blocking by someone else: wait for it as a blocking write would.
            import select

            select.select([], [fd], [])
            continue
        view = view[written:]


class WriterIO(io.RawIOBase):
    """A writer as a raw binary stream: what `sys.stdout` and `sys.stderr` sit on during a
    headless run, so every print of the process goes through it."""

    def __init__(self, writer: StreamWriter, tty: bool) -> None:
        super().__init__()
        self._writer = writer
        self._tty = tty

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self._tty

    def write(self, data: ReadableBuffer, /) -> int:
        chunk = bytes(data)
        self._writer.write(chunk)
        return len(chunk)


def same_file(a: int, b: int) -> bool:
    """Whether two descriptors are one open file's (`2>&1`), or at least one file."""
    try:
        sa, sb = os.fstat(a), os.fstat(b)
    except OSError:
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def closed_error() -> OSError:
    return OSError(errno.EBADF, "it is closed")
