"""What the UI knows about the run, built only from bus events (no widget reads a task).

`RunModel.apply` folds a batch of events into per-task records and says what changed, so the app
refreshes only the rows and panes that need it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from oneshot_tui.core.activity import AgentTotals
from oneshot_tui.core.events import (
    Activity,
    AgentChosen,
    AttentionChanged,
    Event,
    JudgeVerdict,
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
    TaskExited,
    TaskReady,
    TaskWaiting,
    TotalsChanged,
    WorktreeFinished,
    WorktreeReady,
)
from oneshot_tui.core.record import record
from oneshot_tui.core.states import TaskState
from oneshot_tui.core.worktree import WorktreeInfo
from oneshot_tui.ui.ansi import plain
from oneshot_tui.ui.buffer import LineBuffer, ViewState


@record
class VerdictInfo:
    """One auditor verdict of a loop, as the verdict history shows it."""

    attempt: int
    iteration: int
    verdict: str
    feedback: str
    well_formed: bool = True
    answer: str = ""
    """The auditor's own words when they could not be read."""


@dataclass
class LoopInfo:
    """Where a worker/auditor loop is, and every verdict so far (all attempts)."""

    oneshot_id: str = ""
    role: str = ""
    """"worker" or "auditor" while a step runs; empty before the first step."""
    iteration: int = 0
    max_iterations: int = 0
    verdicts: list[VerdictInfo] = field(default_factory=list)


@record
class RetryInfo:
    """A pause before the next try after a rate or usage limit (shown as a countdown)."""

    resume_at: float
    retry: int
    retries: int
    reason: str
    by_agent: bool = False
    """The agent CLI retries on its own (its notice), rather than the task."""
    restart: bool = False
    """A restart policy's wait before the next attempt."""


@dataclass
class TaskInfo:
    """One task as the UI shows it."""

    task_id: str
    command: str
    buffer: LineBuffer
    kind: str = "command"
    state: TaskState = TaskState.CREATED
    attempt: int = 1
    started_ts: float | None = None
    """Wall-clock start of the current attempt (None while queued)."""
    ended_ts: float | None = None
    last_output_ts: float | None = None
    exit_code: int | None = None
    signal: int | None = None
    duration: float | None = None
    reason: str = ""
    activity: str = ""
    """The latest agent activity, one line (filled by agent tasks)."""
    doing: str = ""
    """What the agent is doing now, in a word for the list: the tool it called, `writing`,
    `thinking`; empty when not known."""
    log_path: str = ""
    step: str = ""
    """What the running process is, for tasks that run several ("worker #2"); else empty."""
    loop: LoopInfo | None = None
    """Loop tasks only (set by their first loop event, or at once for a task of kind "loop")."""
    totals: AgentTotals | None = None
    """Agent tasks only: tokens, cost and tool calls so far, over every attempt."""
    retry: RetryInfo | None = None
    """Set while the task waits to try again after a rate limit."""
    worktree: WorktreeInfo | None = None
    """Worktree tasks only: where it runs (its branch), for the title and the `d` diff."""
    agent: str = ""
    """A task with several agents: the one it runs on now (`AgentChosen`)."""
    previous_agent: str = ""
    """The agent it went on from (out of quota), if any."""
    attention: str = ""
    """Why its outcome needs the user (tool calls denied), from its exit."""
    needs: str = ""
    """Why the task needs its user now (an `attention` mark from the engine), else empty."""
    changes: str = ""
    """What the last ended attempt left in its worktree: "2 commits, 3 files +10 -2"."""
    turns: int = 1
    """Agent tasks: the turns of its conversation so far (each message from the user starts one)."""
    queued_messages: int = 0
    """Messages waiting for the agent's current turn to end."""
    waiting: str = ""
    """What a queued task waits for among its dependencies ("build (completed)"), else empty."""
    ready: str = ""
    """Why the current attempt counts as ready (its ready line, or its time), else empty."""
    group: str = ""
    """Best of N: the group (its judge's name) this task belongs to."""
    winner: str = ""
    """A best-of-N judge: the replica it named; a replica: its own name if it won."""
    lost: bool = False
    """A best-of-N replica the judge did not pick."""
    folded: int = 0
    """A best-of-N judge whose group is folded in the list: how many replicas it hides."""
    judgement: JudgeVerdict | None = None
    """A best-of-N judge: its verdict (winner, reasons, losers), for the `v` screen."""
    pty: bool = False
    """It runs in a terminal of its own: input mode can type into it."""
    result: str = ""
    """Agent tasks: the text of the agent's last final answer (`y` copies it)."""
    view: ViewState = field(default_factory=ViewState)

    def elapsed(self, now: float) -> float | None:
        """Seconds the current attempt has run (or ran); None if it has not started."""
        if self.state.ended and self.duration is not None:
            return self.duration
        if self.started_ts is None:
            return None
        end = self.ended_ts if self.ended_ts is not None else now
        return max(end - self.started_ts, 0.0)

    def silent_for(self, now: float) -> float | None:
        """Seconds since the last output (or the start), for an idle task."""
        last = self.last_output_ts if self.last_output_ts is not None else self.started_ts
        return None if last is None else max(now - last, 0.0)


_DOING = {
    "text": "writing",
    "delta": "writing",
    "thinking": "thinking",
    "retrying": "retrying",
    "error": "error",
}


def doing_of(event: Activity, before: str) -> str:
    """An activity event as the word the list shows: the tool called, `writing`, ...; events that
    say nothing new (usage, a tool's result) keep the word it had."""
    if event.kind in ("tool_call", "denied"):
        tool = event.data.get("tool")
        name = tool if isinstance(tool, str) and tool else "tool"
        return name if event.kind == "tool_call" else f"denied {name}"
    return _DOING.get(event.kind, before)


@dataclass
class Changes:
    """What one batch of events touched."""

    rows: set[str] = field(default_factory=set)
    """Tasks whose state, attempt, exit or activity changed."""
    output: dict[str, int] = field(default_factory=dict)
    """Tasks whose buffer grew (value: lines added, markers included)."""
    added: list[str] = field(default_factory=list)
    live: set[str] = field(default_factory=set)
    """Tasks whose live lines (unfinished line, PTY screen) changed."""
    run: bool = False
    """Run-level facts changed (start, finish)."""


class RunModel:
    """Every task of the run, in the order they were added."""

    def __init__(self, scrollback_of: Callable[[str], int] = lambda _task: 10_000) -> None:
        """`scrollback_of` says how many lines to keep for a task whose `TaskAdded` did not."""
        self._scrollback_of = scrollback_of
        self.tasks: dict[str, TaskInfo] = {}
        self.order: list[str] = []
        self.run_id = ""
        self.log_dir = ""
        self.max_concurrent = 0
        self.finished: RunFinished | None = None

    def add(
        self, task_id: str, command: str, kind: str = "command", scrollback: int | None = None
    ) -> TaskInfo:
        info = self.tasks.get(task_id)
        if info is None:
            lines = self._scrollback_of(task_id) if scrollback is None else scrollback
            info = TaskInfo(task_id, command, LineBuffer(lines), kind)
            if kind == "loop":
                info.loop = LoopInfo()
            self.tasks[task_id] = info
            self.order.append(task_id)
        return info

    def counts(self) -> Counter[TaskState]:
        return Counter(info.state for info in self.tasks.values())

    def needing(self) -> list[str]:
        """The tasks that need their user now, in list order."""
        return [task_id for task_id in self.order if self.tasks[task_id].needs]

    @property
    def in_use(self) -> int:
        """Slots of the concurrency limit the tasks hold now (the running and the idle)."""
        return sum(1 for info in self.tasks.values() if info.state.active)

    def apply(self, events: Iterable[Event]) -> Changes:
        changes = Changes()
        for event in events:
            if type(event) is Output:
                self._output(event, changes)
            elif type(event) is LiveLines:
                info = self._info(event.task_id, changes)
                if info.attempt == event.attempt:
                    info.buffer.set_live(list(event.lines))
                    changes.live.add(event.task_id)
            elif isinstance(event, StateChanged):
                self._state(event, changes)
            elif isinstance(event, TaskExited):
                info = self._info(event.task_id, changes)
                info.state = event.state
                info.exit_code, info.signal = event.exit_code, event.signal
                info.duration, info.reason = event.duration, event.reason
                info.ended_ts = event.ts
                info.retry = None
                info.attention = event.attention
                if event.totals is not None:
                    info.totals = event.totals
                changes.rows.add(event.task_id)
            elif isinstance(event, Activity):
                info = self._info(event.task_id, changes)
                first = event.text.strip().split("\n", 1)[0]
                info.activity = plain(first)[:200]
                if event.kind == "result":
                    info.result = str(event.data.get("text") or "")
                info.doing = doing_of(event, info.doing)
                if info.retry is not None and info.retry.by_agent and event.kind != "retrying":
                    info.retry = None  # the agent got on with it
                changes.rows.add(event.task_id)
            elif isinstance(event, AgentChosen):
                info = self._info(event.task_id, changes)
                info.agent, info.previous_agent = event.agent, event.previous
                changes.rows.add(event.task_id)
            elif isinstance(event, ProcessStarted):
                info = self._info(event.task_id, changes)
                info.log_path, info.step = event.log_path, event.label
                info.retry = None  # the next try has started
                changes.rows.add(event.task_id)
            elif isinstance(event, (LoopPhase, LoopVerdict)):
                self._loop(event, changes)
            elif isinstance(event, WorktreeReady):
                info = self._info(event.task_id, changes)
                info.worktree, info.changes = event.worktree, ""
                changes.rows.add(event.task_id)
            elif isinstance(event, WorktreeFinished):
                self._info(event.task_id, changes).changes = event.summary.changes_text()
                changes.rows.add(event.task_id)
            elif isinstance(event, TotalsChanged):
                self._info(event.task_id, changes).totals = event.totals
                changes.rows.add(event.task_id)
            elif isinstance(event, RetryScheduled):
                info = self._info(event.task_id, changes)
                info.retry = RetryInfo(
                    event.resume_at,
                    event.retry,
                    event.retries,
                    event.reason,
                    event.by_agent,
                    event.restart,
                )
                changes.rows.add(event.task_id)
            elif isinstance(event, TaskWaiting):
                self._info(event.task_id, changes).waiting = event.on
                changes.rows.add(event.task_id)
            elif isinstance(event, JudgeVerdict):
                judge = self._info(event.task_id, changes)
                judge.winner, judge.judgement = event.winner, event
                self._info(event.winner, changes).winner = event.winner
                for loser in event.losers:
                    self._info(loser, changes).lost = True
                changes.rows.update((event.task_id, event.winner, *event.losers))
            elif isinstance(event, TaskReady):
                self._info(event.task_id, changes).ready = event.reason
                changes.rows.add(event.task_id)
            elif isinstance(event, MessageSent):
                info = self._info(event.task_id, changes)
                if event.state == "queued":
                    info.queued_messages += 1
                else:
                    info.queued_messages = max(info.queued_messages - 1, 0)
                    info.turns += 1
                changes.rows.add(event.task_id)
            elif isinstance(event, AttentionChanged):
                self._info(event.task_id, changes).needs = event.reason if event.needed else ""
                changes.rows.add(event.task_id)
                changes.run = True  # the status bar counts them
            elif isinstance(event, TaskAdded):
                if event.task_id not in self.tasks:
                    info = self.add(event.task_id, event.command, event.kind, event.scrollback)
                    info.group = event.group
                    info.pty = event.pty
                    changes.added.append(event.task_id)
            elif isinstance(event, RunStarted):
                self.run_id, self.log_dir = event.run_id, event.log_dir
                self.max_concurrent = event.max_concurrent
                changes.run = True
            elif isinstance(event, RunFinished):
                self.finished = event
                changes.run = True
            elif isinstance(event, OutputTail):
                self._tail(event, changes)
        return changes

    def _info(self, task_id: str, changes: Changes) -> TaskInfo:
        info = self.tasks.get(task_id)
        if info is None:  # an event before its TaskAdded (a subscriber that joined late)
            info = self.add(task_id, "")
            changes.added.append(task_id)
        return info

    def _loop(self, event: LoopPhase | LoopVerdict, changes: Changes) -> None:
        info = self._info(event.task_id, changes)
        loop = info.loop
        if loop is None:
            loop = info.loop = LoopInfo()
        loop.oneshot_id = event.oneshot_id
        if isinstance(event, LoopPhase):
            loop.role, loop.iteration = event.role, event.iteration
            loop.max_iterations = event.max_iterations
        else:
            loop.verdicts.append(
                VerdictInfo(
                    event.attempt,
                    event.iteration,
                    event.verdict,
                    event.feedback,
                    event.well_formed,
                    event.answer,
                )
            )
        changes.rows.add(event.task_id)

    def _output(self, event: Output, changes: Changes) -> None:
        info = self._info(event.task_id, changes)
        added = 0
        if event.missed:
            lines = "line" if event.missed == 1 else "lines"
            info.buffer.add_marker("missed", f"{event.missed} {lines} not shown (see the log)")
            added += 1
        if event.lines:
            added += info.buffer.append_text(event.text, event.lines)
            info.last_output_ts = event.ts
        if added:
            changes.output[event.task_id] = changes.output.get(event.task_id, 0) + added

    def _tail(self, event: OutputTail, changes: Changes) -> None:
        info = self._info(event.task_id, changes)
        if info.attempt != event.attempt:
            return
        # The engine's view is exactly the last `scrollback` lines: what a pane that missed
        # nothing would show (minus earlier attempts' dividers), so no gap note is needed.
        if event.last_output_ts is not None:
            info.last_output_ts = event.last_output_ts
        added = info.buffer.replace_all(list(event.lines))
        changes.output[event.task_id] = changes.output.get(event.task_id, 0) + added

    def _state(self, event: StateChanged, changes: Changes) -> None:
        info = self._info(event.task_id, changes)
        info.state = event.target
        changes.rows.add(event.task_id)
        if event.target is TaskState.CREATED and event.attempt != info.attempt:
            # A restart: a new attempt in the same pane, the earlier output kept above a divider.
            info.attempt = event.attempt
            info.started_ts = info.ended_ts = info.last_output_ts = None
            info.exit_code = info.signal = info.duration = None
            info.reason = info.activity = info.doing = info.step = info.ready = ""
            info.retry = None
            if info.loop is not None:  # the verdicts so far stay: they are the task's history
                info.loop.role, info.loop.iteration = "", 0
            if info.buffer.end:
                info.buffer.add_marker("attempt", f"attempt {event.attempt}")
                changes.output[event.task_id] = changes.output.get(event.task_id, 0) + 1
            return
        info.attempt = event.attempt
        if event.source is TaskState.CREATED:  # it started, or ended without starting
            info.waiting = ""
        if event.source is TaskState.CREATED and event.target is TaskState.RUNNING:
            info.started_ts = info.last_output_ts = event.ts
        if event.target.ended:
            info.ended_ts = event.ts
            info.reason = event.reason
            info.retry = None
