"""What a client that connects to a live run late must be told first: the run's current state,
as the events that made it (so a client folds them exactly as it folds live ones).

The journal reads the bus like any subscriber and keeps, per task, only what its state now
depends on: the task's `TaskAdded`; every verdict of a loop (they are the task's history); the
current attempt's transitions (its start, and the latest of a run of running/idle toggles), its
process, loop phase, totals, latest activity and retry (the latest of each), its worktree and its
end. Output is not kept here: the task's own bounded view (`Task.view`) has its last lines, sent
as one `OutputTail`, and what it draws now (`Task.live`) as one `LiveLines`. So a journal costs
a few events per task, whatever the run prints.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import anyio

from oneshot_tui.core.bus import EventBus
from oneshot_tui.core.clock import Clock
from oneshot_tui.core.events import (
    Activity,
    AttentionChanged,
    Event,
    LiveLines,
    LoopPhase,
    LoopVerdict,
    MessageSent,
    Output,
    OutputTail,
    ProcessStarted,
    RetryScheduled,
    RunFinished,
    RunStarted,
    StateChanged,
    TaskAdded,
    TaskWaiting,
    TotalsChanged,
)
from oneshot_tui.core.states import TaskState
from oneshot_tui.orchestrator.task import Task

LATEST_ONLY = (
    ProcessStarted,
    TotalsChanged,
    Activity,
    RetryScheduled,
    LoopPhase,
    TaskWaiting,
    AttentionChanged,
)
"""Events of which only the latest of the attempt matters."""
_TOGGLES = {(TaskState.RUNNING, TaskState.IDLE), (TaskState.IDLE, TaskState.RUNNING)}


@dataclass
class _TaskJournal:
    added: TaskAdded
    verdicts: list[LoopVerdict | MessageSent] = field(default_factory=list)
    attempt: list[Event] = field(default_factory=list)
    """The current attempt's events, in order, compressed as the module says."""
    result: Activity | None = None
    """An agent task's latest final answer (its `result` activity), for the `result` command."""

    def apply(self, event: Event) -> None:
        if isinstance(event, Activity) and event.kind == "result":
            self.result = event
        if isinstance(event, (LoopVerdict, MessageSent)):
            self.verdicts.append(event)  # the task's history: every verdict and message
            return
        current = self.attempt
        if isinstance(event, StateChanged):
            if event.target is TaskState.CREATED:  # a restart: a new attempt begins
                self.attempt = [event]
                return
            if (event.source, event.target) in _TOGGLES:
                self._toggle(event)
                return
        elif isinstance(event, LATEST_ONLY):
            kind = type(event)
            current = self.attempt = [e for e in current if type(e) is not kind]
        current.append(event)

    def _toggle(self, event: StateChanged) -> None:
        """running <-> idle: only the latest toggle is kept (none, once back where it was)."""
        current = self.attempt
        changes = [i for i, e in enumerate(current) if isinstance(e, StateChanged)]
        if changes:
            last = current[changes[-1]]
            assert isinstance(last, StateChanged)
            if (last.source, last.target) in _TOGGLES:
                del current[changes.pop()]
                before = current[changes[-1]] if changes else None
                if isinstance(before, StateChanged) and before.target is event.target:
                    return
        current.append(event)

    def events(self) -> list[Event]:
        return [self.added, *self.verdicts, *self.attempt]


class RunJournal:
    """The state of a run as events, for clients that were not there to see them happen."""

    def __init__(self, bus: EventBus) -> None:
        self._sub = bus.subscribe("journal", output=False)  # the task views keep the output
        self._run: RunStarted | None = None
        self._tasks: dict[str, _TaskJournal] = {}
        self._finished: RunFinished | None = None
        """The latest RunFinished, while nothing has happened since (a run kept open)."""

    async def run(self) -> None:
        """Fold events in as they come (so the subscription never holds many), until closed."""
        while True:
            try:
                batch = await self._sub.receive_batch(max_items=1_000_000)
            except anyio.EndOfStream:
                return
            for event in batch:
                self._apply(event)

    def catch_up(self) -> None:
        """Fold in everything published so far (done by `snapshot` itself)."""
        while batch := self._sub.receive_nowait(max_items=1_000_000):
            for event in batch:
                self._apply(event)

    def _apply(self, event: Event) -> None:
        if type(event) is Output:
            return
        if isinstance(event, RunStarted):
            self._run = event
        elif isinstance(event, RunFinished):
            self._finished = event
        elif isinstance(event, TaskAdded):
            self._tasks.setdefault(event.task_id, _TaskJournal(event))
        else:
            task = self._tasks.get(getattr(event, "task_id", ""))
            if task is not None:
                task.apply(event)
                if isinstance(event, StateChanged):
                    self._finished = None

    def snapshot(self, tasks: Mapping[str, Task], clock: Clock, tail: int = 0) -> list[Event]:
        """The run as it is now: its start, each task's events and last `tail` display lines
        (0: all the task keeps), and its RunFinished if every task has ended since."""
        self.catch_up()
        out: list[Event] = [] if self._run is None else [self._run]
        now, mono = clock.time(), clock.monotonic()
        for task_id, journal in self._tasks.items():
            out.extend(journal.events())
            task = tasks.get(task_id)
            if task is None:
                continue
            lines = task.view.lines()
            if tail:
                lines = lines[-tail:]
            silent = now - (mono - task.last_output_at) if task.started_at is not None else None
            out.append(OutputTail(task_id, task.attempt, now, tuple(lines), silent))
            if task.live:
                out.append(LiveLines(task_id, task.attempt, now, task.live))
        if self._finished is not None:
            out.append(self._finished)
        return out

    def result(self, task_id: str) -> Activity | None:
        """The task's latest final answer, if it is an agent that gave one."""
        self.catch_up()
        journal = self._tasks.get(task_id)
        return journal.result if journal is not None else None

    def close(self) -> None:
        self._sub.close()
