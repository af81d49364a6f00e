"""The app's own messages (widgets post these up; the app acts on them), and what they carry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual.message import Message

from oneshot_tui.core.events import Event
from oneshot_tui.core.record import record
from oneshot_tui.orchestrator import RunResult


@record
class TaskTail:
    """A task's last lines as the engine kept them, sent after it ended with lines the UI missed
    (the bus drops output for a subscriber that falls behind): the pane shows the true ending."""

    task_id: str
    attempt: int
    lines: list[str]


UiEvent = Event | TaskTail


def _nothing() -> None:
    return None


@dataclass
class EngineEvents(Message):
    """One batch of bus events, in order, with each task's output merged."""

    events: list[UiEvent]
    ack: Callable[[], None] = _nothing
    """Called by the app once applied: the bridge sends the next batch only then."""


@dataclass
class EngineStopped(Message):
    """The engine's thread has ended: with the run's result, or with the error that ended it."""

    result: RunResult | None
    error: BaseException | None = None


@dataclass
class EngineWarning(Message):
    """Something the user should know that stops nothing (e.g. the history cannot be written)."""

    text: str


@dataclass
class TaskCommand(Message):
    """A user asked to act on a task (or on all): interrupt, kill, restart, interrupt_idle."""

    command: str
    task_id: str | None = None


@dataclass
class HistoryRequested(Message):
    """The user asked for the history of runs (h)."""


@dataclass
class LiveRequested(Message):
    """The user asked to go back from the history to the live run (q)."""


@dataclass
class QuitRequested(Message):
    """The user asked to leave (q or ctrl+c)."""
