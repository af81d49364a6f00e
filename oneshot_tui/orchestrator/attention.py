"""Which tasks need their user, and why: one mark per task, published as `AttentionChanged`.

A task needs you when it failed by itself, when an agent's tools were denied, or when a PTY task
went silent on an unfinished line (a prompt such as `Proceed? [y/N] `). The mark clears when you
look at the task (`seen`) or act on it (interrupt, kill, restart, continue, a message, input), or
when the task goes on by itself (a new attempt, output after a prompt). Marks are decided here,
in the engine, so every client (the TUI, `attach`, `events`, the notifiers) sees the same ones.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from oneshot_tui.core.clock import Clock
from oneshot_tui.core.events import AttentionChanged, Event


class Need(StrEnum):
    """What kind of thing a task needs you for (it decides what clears the mark by itself)."""

    FAILED = "failed"
    DENIED = "denied"
    INPUT = "input"


class AttentionBoard:
    """The current marks, one per task; publishes each change (never the same mark twice)."""

    def __init__(self, publish: Callable[[Event], None], clock: Clock) -> None:
        self._publish = publish
        self._clock = clock
        self._marks: dict[str, tuple[Need, str]] = {}

    def need(self, task_id: str, attempt: int, need: Need, reason: str) -> None:
        if self._marks.get(task_id) == (need, reason):
            return
        self._marks[task_id] = (need, reason)
        self._publish(AttentionChanged(task_id, attempt, self._clock.time(), True, reason))

    def clear(self, task_id: str, attempt: int, only: Need | None = None) -> bool:
        """Take the task's mark away (only a mark of kind `only`, when given); True if it had
        one."""
        mark = self._marks.get(task_id)
        if mark is None or (only is not None and mark[0] is not only):
            return False
        del self._marks[task_id]
        self._publish(AttentionChanged(task_id, attempt, self._clock.time(), False))
        return True

    def reason(self, task_id: str) -> str | None:
        mark = self._marks.get(task_id)
        return None if mark is None else mark[1]

    @property
    def count(self) -> int:
        return len(self._marks)
