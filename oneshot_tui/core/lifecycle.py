"""The lifecycle of one task at run time: its state, driven by the transitions of the lifecycle's
python-statemachine chart (`core/lifecycle_chart.py`, where the states, the diagram and the rules
are defined), compiled into a table.

One chart instance per task would cost a run about 0.2 ms and 245 garbage-collected objects per
task, and the import of python-statemachine a tenth of a headless start; this costs a few slots
and a dictionary lookup per transition. The table is the chart's: tests/unit/test_lifecycle.py
compiles the chart and checks that the two are the same, and that both move and report alike.
"""

from __future__ import annotations

from collections.abc import Callable

from oneshot_tui.core.clock import Clock
from oneshot_tui.core.events import StateChanged
from oneshot_tui.core.states import ACTIVE_STATES, ENDED_STATES, TaskState

__all__ = [
    "ACTIVE_STATES",
    "ENDED_STATES",
    "TRANSITIONS",
    "IllegalTransition",
    "TaskLifecycle",
    "TaskState",
]

S = TaskState
TRANSITIONS: dict[str, dict[TaskState, TaskState]] = {
    "start": {S.CREATED: S.RUNNING},
    "fail": {S.CREATED: S.FAILED, S.RUNNING: S.FAILED, S.IDLE: S.FAILED},
    "went_idle": {S.RUNNING: S.IDLE},
    "interrupt": {S.RUNNING: S.INTERRUPTED, S.IDLE: S.INTERRUPTED},
    "finish": {S.RUNNING: S.COMPLETED, S.IDLE: S.COMPLETED},
    "resumed": {S.IDLE: S.RUNNING},
    "restart": {S.INTERRUPTED: S.CREATED, S.COMPLETED: S.CREATED, S.FAILED: S.CREATED},
}
"""event -> {source: target}: `compile_transitions(TaskLifecycleChart)` (core/lifecycle_chart.py),
which prints it as `python -m oneshot_tui.core.lifecycle_chart`."""
del S


class IllegalTransition(Exception):
    """Raised when an event is sent that the current state does not allow (nothing changes)."""


class TaskLifecycle:
    """One task's state and attempt number; every transition is published as a `StateChanged`.

    `restart` starts a new attempt: the attempt number grows before the event is published, so
    the event carries the new one (as the chart's `on_restart` does before `after_transition`).
    """

    __slots__ = ("_clock", "_emit", "_state", "attempt", "task_id")

    def __init__(
        self,
        task_id: str,
        clock: Clock,
        emit: Callable[[StateChanged], None],
        attempt: int = 1,
    ) -> None:
        self.task_id = task_id
        self.attempt = attempt
        self._clock = clock
        self._emit = emit
        self._state = TaskState.CREATED

    @property
    def state(self) -> TaskState:
        return self._state

    def send(self, event: str, reason: str = "") -> None:
        """Move by `event`; raises IllegalTransition if the current state does not allow it."""
        moves = TRANSITIONS.get(event)
        if moves is None:
            raise IllegalTransition(f"{event!r} is not an event of the task lifecycle")
        source = self._state
        target = moves.get(source)
        if target is None:
            raise IllegalTransition(f"Can't {event} when in {source.value}.")
        self._state = target
        if event == "restart":
            self.attempt += 1
        self._emit(
            StateChanged(
                self.task_id, self.attempt, source, target, self._clock.time(), reason, event
            )
        )

    def start(self, reason: str = "") -> None:
        self.send("start", reason)

    def went_idle(self, reason: str = "") -> None:
        self.send("went_idle", reason)

    def resumed(self, reason: str = "") -> None:
        self.send("resumed", reason)

    def interrupt(self, reason: str = "") -> None:
        self.send("interrupt", reason)

    def finish(self, reason: str = "") -> None:
        self.send("finish", reason)

    def fail(self, reason: str = "") -> None:
        self.send("fail", reason)

    def restart(self, reason: str = "") -> None:
        self.send("restart", reason)
