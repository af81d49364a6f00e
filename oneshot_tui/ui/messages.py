"""The app's own messages (widgets post these up; the app acts on them)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from oneshot_tui.core.events import Event


@dataclass
class EngineEvents(Message):
    """One frame's worth of bus events, in order, with each task's output merged."""

    events: list[Event]


@dataclass
class TaskCommand(Message):
    """A user asked to act on a task (or on all): interrupt, kill, restart, interrupt_idle."""

    command: str
    task_id: str | None = None


@dataclass
class QuitRequested(Message):
    """The user asked to leave (q or ctrl+c); `confirmed` once they agreed to stop tasks."""

    confirmed: bool = False
