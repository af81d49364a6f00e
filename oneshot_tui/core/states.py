"""The states a task can be in."""

from __future__ import annotations

from enum import StrEnum


class TaskState(StrEnum):
    """Where a task is in its life."""

    CREATED = "created"
    """Waiting for a slot under the concurrency limit (shown as "queued")."""
    RUNNING = "running"
    """Its process is alive and has written output recently."""
    IDLE = "idle"
    """Its process is alive but silent for longer than the idle threshold."""
    INTERRUPTED = "interrupted"
    """We stopped it: a user, a timeout, an idle policy, a budget or a shutdown."""
    COMPLETED = "completed"
    """It ended by itself and succeeded."""
    FAILED = "failed"
    """It ended by itself and did not succeed, or could not start."""

    @property
    def ended(self) -> bool:
        return self in ENDED_STATES

    @property
    def active(self) -> bool:
        return self in ACTIVE_STATES


ACTIVE_STATES = frozenset({TaskState.RUNNING, TaskState.IDLE})
ENDED_STATES = frozenset({TaskState.INTERRUPTED, TaskState.COMPLETED, TaskState.FAILED})
