"""The terminal driver: Textual's Linux driver, except that leaving does not wait for a timeout,
and a terminal that goes away does not hang us.

Textual 8.2's `LinuxDriver` reads keys on a thread that polls stdin with `select(0.1)`. To stop
it, `disable_input` sets `exit_event` and joins the thread, which notices the event only when its
select times out, and then selects once more for 0.1 s with nothing registered (a plain sleep):
every exit waited 100 to 200 ms for nothing. Here the thread also watches a pipe, and setting the
exit event writes to it: the thread wakes at once and ends. Keys, parsing and everything else are
Textual's (`run_input_thread` below is its loop with the pipe added; `tests/ui/test_driver.py`
notices when Textual's changes, so that this copy is looked at again).

When the terminal goes away (its emulator or tmux server killed), every write to it fails (EIO).
Textual's writer thread dies on the first, its 30-slot queue fills, and the app's next write
blocks for good, stopping tasks included. Here the driver writes through `TerminalFile`, which on
the first failure points the descriptor at /dev/null: every later write succeeds into nothing
(Python's own flush at exit too), and the SIGHUP the kernel sends stops the run as usual.
"""

from __future__ import annotations

import contextlib
import os
import selectors
from codecs import getincrementaldecoder
from threading import Event
from typing import IO, TYPE_CHECKING, Any

from textual._loop import loop_last
from textual._parser import ParseError
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver

if TYPE_CHECKING:
    from textual.app import App


class _WakingEvent(Event):
    """An Event that, once set, also wakes the input thread's select through a pipe."""

    def __init__(self) -> None:
        super().__init__()
        self.wake_fd: int | None = None

    def set(self) -> None:
        super().set()
        fd = self.wake_fd
        if fd is not None:
            with contextlib.suppress(OSError):  # the thread ended meanwhile and closed it
                os.write(fd, b"\0")


class TerminalFile:
    """The terminal as the writer thread sees it: writes that fail because the terminal is gone
    (OSError: EIO, EPIPE) send it and all later output to /dev/null instead of raising."""

    def __init__(self, file: IO[str]) -> None:
        self._file = file
        self.gone = False

    def write(self, text: str) -> None:
        try:
            self._file.write(text)
        except OSError:
            self._lose_terminal()

    def flush(self) -> None:
        try:
            self._file.flush()
        except OSError:
            self._lose_terminal()

    def fileno(self) -> int:
        return self._file.fileno()

    def _lose_terminal(self) -> None:
        self.gone = True
        with contextlib.suppress(OSError, ValueError):
            null = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(null, self._file.fileno())
            finally:
                os.close(null)
        with contextlib.suppress(OSError, ValueError):
            self._file.flush()  # what was buffered for the terminal goes to /dev/null now


class QuickExitDriver(LinuxDriver):
    """`LinuxDriver` whose input thread ends as soon as input is disabled."""

    def __init__(self, app: App[Any], **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        assert self._file is not None  # sys.__stderr__: None only without a terminal at all
        self.terminal = TerminalFile(self._file)
        self._file = self.terminal  # type: ignore[assignment]  # file-like: what WriterThread uses
        self.exit_event = _WakingEvent()
        self._open_wake_pipe()

    def _open_wake_pipe(self) -> None:
        """The pipe lives until `close`: input may be stopped and started again, and a byte
        left from the last stop is read and ignored. Ctrl+Z closes the driver (Textual's
        `suspend_application_mode`) and `fg` starts it again: then the pipe is made anew."""
        event = self.exit_event
        if isinstance(event, _WakingEvent) and event.wake_fd is None:
            self._wake_r, self._wake_w = os.pipe()
            os.set_blocking(self._wake_r, False)
            os.set_blocking(self._wake_w, False)
            event.wake_fd = self._wake_w

    def start_application_mode(self) -> None:
        self._open_wake_pipe()
        super().start_application_mode()  # type: ignore[no-untyped-call]

    def close(self) -> None:
        super().close()
        event = self.exit_event
        if isinstance(event, _WakingEvent) and event.wake_fd is not None:
            event.wake_fd = None
            os.close(self._wake_r)
            os.close(self._wake_w)

    def run_input_thread(self) -> None:
        """Wait for input and dispatch events (Textual 8.2's loop, woken by the exit event)."""
        exit_event = self.exit_event
        wake_r = self._wake_r
        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        selector.register(wake_r, selectors.EVENT_READ)

        fileno = self.fileno
        EVENT_READ = selectors.EVENT_READ

        parser = XTermParser(self._debug)
        feed = parser.feed
        tick = parser.tick

        decode = getincrementaldecoder("utf-8")().decode
        read = os.read

        def process_selector_events(
            selector_events: list[tuple[selectors.SelectorKey, int]],
            final: bool = False,
        ) -> None:
            for last, (selector_key, mask) in loop_last(selector_events):
                if selector_key.fd == wake_r:
                    with contextlib.suppress(OSError):
                        os.read(wake_r, 64)  # the exit event's byte (or a stale one): ignored
                    continue
                if mask & EVENT_READ:
                    unicode_data = decode(read(fileno, 1024 * 4), final=final and last)
                    if not unicode_data:
                        # This can occur if the stdin is piped
                        break
                    for event in feed(unicode_data):
                        self.process_message(event)
            for event in tick():
                self.process_message(event)

        try:
            while not exit_event.is_set():
                process_selector_events(selector.select(0.1))
            # Textual selects once more here (0.1 s) after unregistering stdin: nothing to read.
            process_selector_events([], final=True)
        finally:
            selector.close()
            try:
                for _event in feed(""):
                    pass
            except (EOFError, ParseError):
                pass
