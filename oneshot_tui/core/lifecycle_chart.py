"""The lifecycle of a task, defined as a python-statemachine `StateMachine`: the one definition of
its states and of the only legal ways between them.

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

A run does not build one machine per task: a `StateMachine` instance costs about 0.2 ms and 245
objects for the garbage collector, and importing python-statemachine about a tenth of a headless
start. Each task drives a `core.lifecycle.TaskLifecycle` instead, from `TRANSITIONS` there: this
class's transitions, compiled (`compile_transitions`). tests/unit/test_lifecycle.py checks that
they are this class's and that both move and report alike; after a change here, print the new
table with `python -m oneshot_tui.core.lifecycle_chart`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from statemachine import State, StateMachine

from oneshot_tui.core.clock import Clock
from oneshot_tui.core.events import StateChanged
from oneshot_tui.core.states import TaskState


class TaskLifecycleChart(StateMachine):
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


def compile_transitions(
    chart: type[StateMachine] = TaskLifecycleChart,
) -> dict[str, dict[TaskState, TaskState]]:
    """The chart's transitions as a table: event -> {source state: target state}. Only plain
    transitions compile: a guard would be lost in a table."""
    table: dict[str, dict[TaskState, TaskState]] = {}
    for state in chart.states:
        for transition in state.transitions:
            if list(transition.cond):  # `cond` and `unless` guards alike
                raise ValueError(f"{transition} has a guard: it cannot be compiled to a table")
            for event in transition.events:
                moves = table.setdefault(str(event.id), {})
                moves[TaskState(state.value)] = TaskState(transition.target.value)
    return table


if __name__ == "__main__":  # the table for core/lifecycle.py
    for event, moves in compile_transitions().items():
        pairs = ", ".join(f"S.{s.name}: S.{t.name}" for s, t in moves.items())
        print(f'    "{event}": {{{pairs}}},')
