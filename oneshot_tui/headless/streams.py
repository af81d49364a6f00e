"""stdout and stderr of a headless run: never blocking the run, never taking it down.

During the run `sys.stdout` and `sys.stderr` sit on `StreamWriter`s (writer.py), so every print of
the process (the printer's lines, a warning from the history) returns at once. What that costs and
what it guarantees:

- A reader that does not keep up slows the tasks whose lines wait, never the run: the printer
  takes no more events while a writer holds `limit` bytes, and the bus then pauses the tasks
  with too much output waiting (core/bus.py). Timers, signals and every task's log go on.
- Once the run is stopping (a signal, a timeout of the whole run), waiting for a reader that does
  not read would hold the stop: lines that do not fit are then left out of stdout (counted, and
  said on stderr; they are in the logs), and the end waits at most `STOPPED_DRAIN` for the rest.
- A stream that cannot be written (closed, `/dev/full`, an I/O error) is said once on the other
  one where it can, and the run goes on with its logs and history as usual; it then exits 1 if it
  would have exited 0. stdout closed by its reader (EPIPE, `| head`) stops the run, as a Unix
  filter stops.
"""

from __future__ import annotations

import errno
import io
import math
import os
import sys
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol, TextIO

import anyio

from oneshot_tui.core.bus import Subscription
from oneshot_tui.core.events import Event, Output
from oneshot_tui.core.exit_codes import STOP_SIGNALS, ExitCode, for_signal
from oneshot_tui.core.stdio import was_closed
from oneshot_tui.headless.writer import StreamWriter, Waker, WriterIO, closed_error, same_file

STOPPED_DRAIN = 0.5
"""Seconds a stopped run waits for its output to be read before it exits anyway."""
SHED_ABOVE = 1 << 20
"""Bytes waiting for stdout above which a stopping run leaves further lines out."""
LOOK_EVERY = 0.1
"""Seconds between looks at the run while lines wait for a reader (a stop must not wait)."""


class Run(Protocol):
    """What the streams need of the orchestrator."""

    @property
    def stopping(self) -> bool: ...

    def shutdown(self, reason: str = ..., signum: int | None = ...) -> None: ...


class HeadlessStreams:
    """The run's two writers, the output they still owe the bus, and what became of them."""

    def __init__(self, log_dir: str = "") -> None:
        self._waker = Waker()
        self.out = StreamWriter(1, "stdout", self._waker)
        share = same_file(1, 2) and was_closed(1) == was_closed(2)
        self.err = self.out if share else StreamWriter(2, "stderr", self._waker)
        for fd, writer in ((1, self.out), (2, self.err)):
            if was_closed(fd):
                writer.fail(closed_error())
        self.log_dir = log_dir
        self.stopping = False
        """The run is stopping: nothing waits for the reader any more (lines that find stdout
        full are left out, and counted)."""
        self.unshown = 0
        """Lines left out of stdout while the run stopped."""
        self._owed: deque[tuple[int, dict[str, int]]] = deque()
        """(stdout's byte count once they are written, characters per task) to acknowledge."""
        self._changed = anyio.Event()
        self._said: set[str] = set()
        self.finished = False
        """`finish` ran: what could be written was."""

    @property
    def writers(self) -> tuple[StreamWriter, ...]:
        return (self.out,) if self.err is self.out else (self.out, self.err)

    @property
    def output_failed(self) -> bool:
        """A stream could not be written (stdout left by its reader aside: that stops the run)."""
        return any(
            w.error is not None and not (w is self.out and w.error.errno == errno.EPIPE)
            for w in self.writers
        )

    # -- the printer's side ----------------------------------------------------------------------

    def take(self, events: list[Event]) -> list[Event]:
        """Before a batch is printed: note the output it holds back until written, and, once the
        run is stopping, leave out the lines that find stdout full."""
        chars: dict[str, int] = {}
        kept: list[Event] = []
        for event in events:
            if type(event) is Output:
                chars[event.task_id] = chars.get(event.task_id, 0) + len(event.text)
                if event.lines and self.stopping and self.out.buffered >= SHED_ABOVE:
                    self.unshown += event.lines
                    continue
            kept.append(event)
        if chars:
            self._owed.append((-1, chars))  # its byte count is known once it is printed
        return kept

    def printed(self, run: Run) -> None:
        """After a batch is printed: where its output ends on stdout; act on a failed stream."""
        if self._owed and self._owed[-1][0] == -1:
            self._owed[-1] = (self.out.accepted, self._owed[-1][1])
        for writer in self.writers:
            error = writer.error
            if error is None or writer.name in self._said:
                continue
            self._said.add(writer.name)
            if writer is self.out and error.errno == errno.EPIPE:
                run.shutdown("output closed")  # the reader went away (`| head`)
            elif self.err.error is None:  # said on stderr where it can be (never into stdout)
                where = f" under {self.log_dir}" if self.log_dir else ""
                self.err.write(
                    f"oneshot-tui: error: cannot write to {writer.name}: {_reason(error)}; "
                    f"the run goes on, every line is in its log{where}\n".encode()
                )

    async def wait_for_room(self) -> None:
        """Until every writer holds less than its limit (or the run stops)."""
        while not self.stopping and not all(w.room for w in self.writers):
            await self._changed.wait()

    # -- the loop's watch --------------------------------------------------------------------------

    async def watch(self, sub: Subscription, run: Run) -> None:
        """Hand the bus back the room of every line written (or dropped: a failed stdout, a
        stopping run), and wake whoever waits on the writers. Runs until cancelled."""
        while True:
            with anyio.move_on_after(LOOK_EVERY):
                await self._waker.wait()
            if run.stopping:
                self.stopping = True
            written = math.inf if self.out.error or self.stopping else self.out.written
            while self._owed and 0 <= self._owed[0][0] <= written:
                sub.ack(self._owed.popleft()[1])
            self._changed.set()
            self._changed = anyio.Event()

    async def finish(self, code: int, stopped: bool) -> int:
        """Write out what waits (at most STOPPED_DRAIN once the run was `stopped`; else until a
        stop signal), and return the exit code the streams leave."""
        if self.unshown:
            self.err.write(
                f"oneshot-tui: {self.unshown} lines were not shown: stdout was not read while "
                "the run stopped (they are in the logs)\n".encode()
            )
        if self.output_failed and code == ExitCode.OK:
            code = ExitCode.FAILED
        with anyio.open_signal_receiver(*STOP_SIGNALS) as signals:
            async with anyio.create_task_group() as tg:

                async def drain() -> None:
                    with anyio.move_on_after(STOPPED_DRAIN if stopped else math.inf):
                        while any(w.buffered for w in self.writers):
                            await self._changed.wait()
                    tg.cancel_scope.cancel()

                tg.start_soon(drain)
                async for signum in signals:
                    code = for_signal(signum)
                    tg.cancel_scope.cancel()
        for writer in self.writers:
            writer.close()
        self.finished = True
        return code


def _reason(error: OSError) -> str:
    return error.strerror or str(error)


@contextmanager
def headless_streams(log_dir: str = "") -> Iterator[HeadlessStreams]:
    """`sys.stdout` and `sys.stderr` on writers while the block runs."""
    streams = HeadlessStreams(log_dir)
    saved = sys.stdout, sys.stderr
    sys.stdout = _text(streams.out, 1, saved[0])
    sys.stderr = _text(streams.err, 2, saved[1])
    try:
        yield streams
    finally:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        sys.stdout, sys.stderr = saved
        if not streams.finished:  # left with an error: let what was printed before it out
            for writer in streams.writers:
                writer.join(STOPPED_DRAIN)


def _text(writer: StreamWriter, fd: int, like: TextIO | None) -> TextIO:
    raw = WriterIO(writer, tty=os.isatty(fd) and not was_closed(fd))
    encoding = getattr(like, "encoding", None) or "utf-8"
    errors = getattr(like, "errors", None) or "strict"
    return io.TextIOWrapper(io.BufferedWriter(raw), encoding, errors, line_buffering=True)
