"""The app's own messages (widgets post these up; the app acts on them), and what they carry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from textual.message import Message

from oneshot_tui.core.events import Event
from oneshot_tui.core.worktree import WorktreeInfo

UiEvent = Event


def _nothing() -> None:
    return None


@dataclass
class EngineEvents(Message):
    """One batch of the run's events, in order, with each task's output merged."""

    events: list[UiEvent]
    ack: Callable[[], None] = _nothing
    """Called by the app once applied: the bridge sends the next batch only then."""


@dataclass
class ConnectionEnded(Message):
    """The connection to the run has ended: after the run finished, or with why not."""

    finished: bool
    """A `run_finished` arrived: the run ended (else its process is gone, or we left)."""
    error: str = ""


@dataclass
class Detached(Message):
    """The run has let us go (`detach`, or a hangup with `on_hangup = "detach"`): it goes on."""


@dataclass
class CommandRefused(Message):
    """The run refused a command (a task that already ended, ...): said in a notification."""

    command: str
    error: str


@dataclass
class EngineWarning(Message):
    """Something the user should know that stops nothing (e.g. the history cannot be written)."""

    text: str


@dataclass
class TaskCommand(Message):
    """A user asked to act on a task (or on all): interrupt, kill, restart, interrupt_idle,
    or to add one (`table`: its `[[task]]` table)."""

    command: str
    task_id: str | None = None
    table: dict[str, Any] | None = None
    text: str = ""
    """The message, for "send"; the keys typed, for "input"."""


@dataclass
class PaneResized(Message):
    """The output pane is now `rows` by `cols`: what PTY tasks' terminals should be."""

    rows: int
    cols: int


@dataclass
class MergeRequested(Message):
    """The user asked to merge an ended worktree task's branch back (M)."""

    task_id: str
    worktree: WorktreeInfo


@dataclass
class HistoryRequested(Message):
    """The user asked for the history of runs (h)."""


@dataclass
class LiveRequested(Message):
    """The user asked to go back from the history to the live run (q)."""


@dataclass
class DetachRequested(Message):
    """The user asked to leave the run going on in the background (D)."""


@dataclass
class QuitRequested(Message):
    """The user asked to leave (q or ctrl+c)."""
