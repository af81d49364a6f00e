"""Helpers for tests that drive the real engine."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import anyio

from oneshot_tui.core.bus import EventBus
from oneshot_tui.core.events import Event, Output, StateChanged
from oneshot_tui.core.states import TaskState
from oneshot_tui.orchestrator import Orchestrator, RunResult


def py(*args: str) -> tuple[str, ...]:
    """An argv running this Python."""
    return (sys.executable, *args)


E = TypeVar("E")


class Watcher:
    """Records every event of a bus and waits for the ones a test cares about."""

    def __init__(self, bus: EventBus) -> None:
        self.sub = bus.subscribe("watcher", max_pending_lines=10**8)
        self.sub.max_pending_chars = 10**12  # a test sees every line, however long
        self.events: list[Event] = []
        self._cursor = 0

    def _pull(self) -> None:
        self.events.extend(self.sub.receive_nowait(10**9))

    async def wait_for(self, pred: Callable[[Event], bool], timeout: float = 20) -> Event:
        """The next event (after the last one matched) for which `pred` holds."""
        with anyio.fail_after(timeout):
            while True:
                self._pull()
                for i in range(self._cursor, len(self.events)):
                    if pred(self.events[i]):
                        self._cursor = i + 1
                        return self.events[i]
                self._cursor = len(self.events)
                await anyio.sleep(0.01)

    async def wait_for_a(
        self, kind: type[E], pred: Callable[[E], bool] = lambda _: True, timeout: float = 20
    ) -> E:
        """The next event of type `kind` for which `pred` holds."""
        found = await self.wait_for(lambda e: isinstance(e, kind) and pred(e), timeout)
        assert isinstance(found, kind)
        return found

    async def wait_until(self, cond: Callable[[list[Event]], bool], timeout: float = 20) -> None:
        """Wait until `cond` holds for everything received so far."""
        with anyio.fail_after(timeout):
            while not cond(self.all()):
                await anyio.sleep(0.01)

    def output_text(self, task_id: str) -> str:
        return "\n".join(
            e.text for e in self.all() if isinstance(e, Output) and e.task_id == task_id and e.lines
        )

    async def wait_state(
        self, task_id: str, target: TaskState, timeout: float = 20
    ) -> StateChanged:
        event = await self.wait_for(
            lambda e: isinstance(e, StateChanged) and e.task_id == task_id and e.target is target,
            timeout,
        )
        assert isinstance(event, StateChanged)
        return event

    def skip_past(self) -> None:
        """Later waits match only events from now on."""
        self._pull()
        self._cursor = len(self.events)

    def all(self) -> list[Event]:
        self._pull()
        return self.events

    def states(self, task_id: str) -> list[tuple[TaskState, TaskState]]:
        return [
            (e.source, e.target)
            for e in self.all()
            if isinstance(e, StateChanged) and e.task_id == task_id
        ]


async def run_recorded(orch: Orchestrator, **kwargs: Any) -> tuple[RunResult, Watcher]:
    watcher = Watcher(orch.bus)
    result = await orch.run(**kwargs)
    return result, watcher


def pid_alive(pid: int) -> bool:
    """True if the process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return False
    return raw[raw.rfind(b")") + 2 :].split()[0] not in (b"Z", b"X")


def group_members(pgid: int) -> list[int]:
    members = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                raw = f.read()
        except OSError:
            continue
        fields = raw[raw.rfind(b")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            members.append(int(name))
    return members


def cli_argv() -> list[str]:
    """The installed console script (next to this Python), else `python -m oneshot_tui`."""
    from pathlib import Path

    script = Path(sys.executable).parent / "oneshot-tui"
    return [str(script)] if script.exists() else [sys.executable, "-m", "oneshot_tui"]
