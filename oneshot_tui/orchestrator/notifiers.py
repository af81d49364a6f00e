"""The run's own notifiers: `desktop` (notify-send) and `command` (the user's notify_command),
and the terminal ones for a headless run whose stderr is a terminal. They run in the process that
runs the run, so a detached run still notifies; the TUI rings its own terminal (ui/app.py).

A notifier never holds the run up: each command runs in the background with a time limit, and a
notifier that fails is reported once and otherwise ignored.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Sequence

import anyio

from oneshot_tui.core.bus import EventBus
from oneshot_tui.core.events import RunFinished
from oneshot_tui.core.notify import Alert, alert_for, terminal_sequence, wanted

log = logging.getLogger(__name__)

COMMAND_TIMEOUT = 10.0
"""Seconds a notify command or notify-send may take before it is killed."""


class RunNotifier:
    """Reads the bus and notifies: one alert per attention mark and one at the run's end."""

    def __init__(
        self,
        bus: EventBus,
        run_id: str,
        configured: Sequence[str] | None,
        command: str | None = None,
        terminal: Callable[[str], None] | None = None,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self._sub = bus.subscribe("notifier", output=False)
        self._run_id = run_id
        self._configured = configured
        self._command = command
        self._terminal = terminal
        """Writes to the terminal (a headless run on a tty), or None (the TUI rings its own)."""
        self._warn = warn or log.warning
        self._warned: set[str] = set()
        self._ended = anyio.Event()
        self._running = 0
        self._quiet = anyio.Event()
        self._turns: dict[str, anyio.Lock] = {}
        """One command at a time per notifier, in the order of the alerts (anyio's lock is
        first come, first served): a run's end never reaches the command before its marks."""

    async def run(self) -> None:
        """Until cancelled (a run kept open may finish, and notify, more than once)."""
        async with anyio.create_task_group() as tg:
            async for event in self._sub:
                alert = alert_for(event, self._run_id)
                if alert is not None:
                    self._notify(alert, tg)
                if isinstance(event, RunFinished):
                    self._ended.set()

    async def settle(self, timeout: float = COMMAND_TIMEOUT) -> None:
        """Wait (at most `timeout`) for the run's end to be notified and every notifier command
        to end: the run's last alert must not be cut off by its process exiting."""
        with anyio.move_on_after(timeout):
            await self._ended.wait()
            while self._running:
                self._quiet = anyio.Event()
                await self._quiet.wait()

    def close(self) -> None:
        self._sub.close()

    def _notify(self, alert: Alert, tg: anyio.abc.TaskGroup) -> None:
        if self._terminal is not None:
            sequence = terminal_sequence(alert, self._configured, os.environ)
            if sequence:
                self._terminal(sequence)
        if wanted(alert, "desktop", self._configured):
            send = shutil.which("notify-send")
            if send is not None:
                argv = [send, "oneshot-tui: " + alert.title, alert.body]
                self._start(tg, "desktop", argv, None)
        if self._command and wanted(alert, "command", self._configured):
            shell = ["/bin/sh", "-c", self._command]
            self._start(tg, "command", shell, alert.to_json().encode() + b"\n")

    def _start(
        self, tg: anyio.abc.TaskGroup, notifier: str, argv: list[str], stdin: bytes | None
    ) -> None:
        self._running += 1  # now, not when it starts: `settle` must see it at once
        tg.start_soon(self._run, notifier, argv, stdin)

    async def _run(self, notifier: str, argv: list[str], stdin: bytes | None) -> None:
        turn = self._turns.setdefault(notifier, anyio.Lock())
        try:
            async with turn:
                await self._run_one(notifier, argv, stdin)
        finally:
            self._running -= 1
            if not self._running:
                self._quiet.set()

    async def _run_one(self, notifier: str, argv: list[str], stdin: bytes | None) -> None:
        try:
            with anyio.fail_after(COMMAND_TIMEOUT):
                done = await anyio.run_process(argv, input=stdin, check=False)
            failed = f"exit {done.returncode}" if done.returncode else ""
        except TimeoutError:
            failed = f"still running after {COMMAND_TIMEOUT:.0f}s (killed)"
        except OSError as exc:
            failed = str(exc)
        if failed and notifier not in self._warned:  # once: a broken notifier is not news twice
            self._warned.add(notifier)
            self._warn(f"the {notifier} notifier failed: {failed}")
