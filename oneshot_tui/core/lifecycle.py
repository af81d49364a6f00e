"""The lifecycle of one task: a python-statemachine `StateMachine` and the states it moves through.

```
             start            went_idle
  created ─────────> running ───────────> idle
   │  ^               │  │ ^   resumed     │ │
   │  │ restart       │  │ └───────────────┘ │
   │  │               │  └─ finish ──> completed
   │  └─ interrupted <┴──── interrupt ───────┤
   │     completed                           │
   │     failed  <───────── fail ────────────┘
   └──── fail ──────> failed
```
`restart` leads from an ended state back to `created` (queued) and starts a new attempt, so no state
is declared final. Callbacks stay synchronous: the machine runs the same under any event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from statemachine import State, StateMachine
from statemachine.exceptions import TransitionNotAllowed

from oneshot_tui.core.clock import Clock
from oneshot_tui.core.events import StateChanged
from oneshot_tui.core.states import ACTIVE_STATES, ENDED_STATES, TaskState

__all__ = ["ACTIVE_STATES", "ENDED_STATES", "IllegalTransition", "TaskLifecycle", "TaskState"]

IllegalTransition = TransitionNotAllowed
"""Raised when an event is sent that the current state does not allow."""


class TaskLifecycle(StateMachine):
    """One task's states and the only legal ways between them."""

    created = State("created", value=TaskState.CREATED, initial=True)
    running = State("running", value=TaskState.RUNNING)
    idle = State("idle", value=TaskState.IDLE)
    interrupted = State("interrupted", value=TaskState.INTERRUPTED)
    completed = State("completed", value=TaskState.COMPLETED)
    failed = State("failed", value=TaskState.FAILED)

    start = created.to(running)
    went_idle = running.to(idle)
    resumed = idle.to(running)
    interrupt = running.to(interrupted) | idle.to(interrupted)
    finish = running.to(completed) | idle.to(completed)
    fail = created.to(failed) | running.to(failed) | idle.to(failed)
    restart = interrupted.to(created) | completed.to(created) | failed.to(created)

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
        super().__init__()

    @property
    def state(self) -> TaskState:
        value: TaskState = self.current_state_value
        return value

    def on_restart(self) -> None:
        self.attempt += 1

    def after_transition(self, event: Any, source: State, target: State, reason: str = "") -> None:
        # Runs after on_restart, so a restart's event already carries the new attempt number.
        self._emit(
            StateChanged(
                task_id=self.task_id,
                attempt=self.attempt,
                source=TaskState(source.value),
                target=TaskState(target.value),
                ts=self._clock.time(),
                reason=reason,
                event=str(event.id),
            )
        )
