"""Everything the engine reports, as frozen dataclasses published on the event bus.

Output is the only event a slow subscriber may lose (it is told how many lines it missed); every
other event is delivered to every subscriber, in order.
"""

from __future__ import annotations

from dataclasses import field
from typing import TYPE_CHECKING, Any

from oneshot_tui.core.record import record
from oneshot_tui.core.states import TaskState

if TYPE_CHECKING:  # annotations only: a run of plain commands never loads the agent or git types
    from pathlib import Path

    from oneshot_tui.core.activity import AgentTotals
    from oneshot_tui.core.worktree import WorktreeInfo, WorktreeSummary


@record
class TaskAdded:
    """A task joined the run (at the start, or added while it runs)."""

    task_id: str
    ts: float
    command: str
    """The command as the user wrote it, for display."""
    kind: str = "command"
    """"command", "agent" or "loop"."""
    cwd: str | None = None
    scrollback: int = 10_000
    """Lines of recent output a viewer keeps for it (its `scrollback` setting)."""
    group: str = ""
    """Best of N: the group it belongs to (its judge's name), shown together; else empty."""
    pty: bool = False
    """It runs in a terminal of its own (`pty = true`): a viewer can type into it."""


@record
class StateChanged:
    """A lifecycle transition."""

    task_id: str
    attempt: int
    source: TaskState
    target: TaskState
    ts: float
    reason: str = ""
    event: str = ""
    """The lifecycle event behind it (start, went_idle, resumed, interrupt, finish, ...)."""


@record
class ProcessStarted:
    """A process of a task's attempt started (an agent loop starts several per attempt)."""

    task_id: str
    attempt: int
    pid: int
    ts: float
    log_path: str
    label: str = ""
    """Which step of the task this process is, e.g. "worker #2"; empty for a plain command."""
    node: str = ""
    """The cluster node it runs on (the ray backend); empty on this machine."""


@record
class Output:
    """Whole lines a task wrote, decoded for display.

    `text` holds `lines` lines joined by "\\n" (no trailing newline); a line longer than the cap
    arrives as several pieces. `missed` counts lines dropped for this subscriber just before these.
    """

    task_id: str
    attempt: int
    stream: str
    text: str
    lines: int
    ts: float
    missed: int = 0

    def split(self) -> list[str]:
        return self.text.split("\n") if self.lines else []


@record
class LiveLines:
    """What a task is drawing now, replaced as it changes: the unfinished last line of a pipe
    (a `\\r` progress bar, its latest state) or a PTY task's screen (its rows, from the
    terminal emulator). Finished lines come as `Output`; these follow them, below. A subscriber
    that falls behind gets only the latest of them (they replace each other)."""

    task_id: str
    attempt: int
    ts: float
    lines: tuple[str, ...]
    """Empty: nothing is being drawn (the line ended, the process ended)."""


@record
class OutputTail:
    """A task's last display lines as the engine keeps them (`scrollback` of them), for a reader
    that did not see them arrive: a client that connected late, or one that missed lines and
    gets the true ending once the task has ended. It replaces what the reader shows."""

    task_id: str
    attempt: int
    ts: float
    lines: tuple[str, ...]
    last_output_ts: float | None = None
    """When the task last wrote (a late reader can tell how long it has been silent)."""


@record
class Activity:
    """One structured agent event (see `core.activity`): session, text, tool call, tool result,
    usage, result, error or raw line.

    `kind` is a `core.activity.Kind` value, `text` the readable line ("" if there is none to
    show), `data` the event's fields (`core.activity.to_data`; `from_data` rebuilds the event).
    """

    task_id: str
    attempt: int
    ts: float
    kind: str
    text: str
    data: dict[str, Any] = field(default_factory=dict)
    label: str = ""
    """Which step of the task produced it, e.g. "worker #2"; empty for a single agent."""


@record
class TotalsChanged:
    """An agent task's running totals (tokens, cost, tool calls) over all its attempts."""

    task_id: str
    attempt: int
    ts: float
    totals: AgentTotals


@record
class RetryScheduled:
    """A task will try again after a pause (a rate or usage limit): show it as a countdown."""

    task_id: str
    attempt: int
    ts: float
    delay: float
    resume_at: float
    """Wall-clock time (like `ts`) when the next try starts."""
    reason: str
    retry: int
    """Which retry this will be (1 for the first)."""
    retries: int
    """How many retries are allowed in all (0: not known, the agent CLI retries on its own)."""
    by_agent: bool = False
    """The agent CLI itself waits and retries (its notice), not the task."""
    restart: bool = False
    """A restart policy's wait before the task's next attempt (not a rate limit's)."""


@record
class AgentChosen:
    """An agent task (or a loop step) runs on this agent: the first of its list with room, or
    the next one after a usage limit (`reason`), with the conversation so far."""

    task_id: str
    attempt: int
    ts: float
    agent: str
    previous: str = ""
    """The agent it went on from, empty for the first choice."""
    reason: str = ""


@record
class MessageSent:
    """A message from the user to an agent task: `queued` when taken (it is stored first),
    `delivered` when the turn it starts begins (in the agent's own session where it can)."""

    task_id: str
    attempt: int
    ts: float
    message_id: int
    """Its number in the run, from 1."""
    text: str
    state: str
    """"queued" or "delivered"."""


@record
class AttentionChanged:
    """A task needs its user (`needed`, with why: it failed, its tools were denied, it waits for
    input), or no longer does (looked at, acted on, or going on)."""

    task_id: str
    attempt: int
    ts: float
    needed: bool
    reason: str = ""


@record
class TaskWaiting:
    """A task waits for its dependencies before it may start (it takes no slot meanwhile):
    `on` says what for, as people read it ("build (completed), db (ready)"); empty when it no
    longer waits (they hold, or it ended)."""

    task_id: str
    attempt: int
    ts: float
    on: str


@record
class TaskReady:
    """A task turned ready: its `ready_line` was written, or `ready_after` passed (`reason`
    says which); the tasks that wait for it to be ready may start."""

    task_id: str
    attempt: int
    ts: float
    reason: str


@record
class JudgeVerdict:
    """A best-of-N judge named the winner among the replicas, with its reasons; the losers'
    worktrees and branches were removed unless kept (`removed` says which went)."""

    task_id: str
    attempt: int
    ts: float
    winner: str
    reasons: str
    losers: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


@record
class LoopPhase:
    """A worker/auditor loop started a step: who runs now, in which iteration of how many."""

    task_id: str
    attempt: int
    ts: float
    oneshot_id: str
    role: str
    """"worker" or "auditor"."""
    iteration: int
    max_iterations: int


@record
class LoopVerdict:
    """The auditor's verdict on one iteration of a loop."""

    task_id: str
    attempt: int
    ts: float
    oneshot_id: str
    iteration: int
    verdict: str
    """"DONE", "RETRY" or "IMPOSSIBLE"."""
    feedback: str
    well_formed: bool = True
    """False when the auditor's answer could not be read (it is then asked again)."""
    answer: str = ""
    """The auditor's own words when they could not be read as a verdict (else empty)."""


@record
class WorktreeReady:
    """A worktree task's worktree is ready (made, or reused by a later attempt); its processes
    run in `worktree.cwd`. Published before the attempt's first process starts."""

    task_id: str
    attempt: int
    ts: float
    worktree: WorktreeInfo
    reused: bool = False


@record
class WorktreeFinished:
    """What a worktree task's attempt left in its worktree: published after its processes are
    gone, just before its `TaskExited`."""

    task_id: str
    attempt: int
    ts: float
    summary: WorktreeSummary


@record
class TaskExited:
    """A task's attempt ended: its processes are gone and its state is final for this attempt."""

    task_id: str
    attempt: int
    ts: float
    state: TaskState
    exit_code: int | None
    signal: int | None
    duration: float
    reason: str = ""
    totals: AgentTotals | None = None
    """Agent tasks only: what the task has used so far."""
    attention: str = ""
    """Why this attempt's outcome needs its user's attention (the agent's tool calls were
    denied permission), empty if nothing does."""
    cpu_seconds: float | None = None
    """CPU time the task's processes used over all its attempts so far (None: not measured)."""


@record
class TaskResult:
    """The outcome of one task at the end of a run."""

    task_id: str
    state: TaskState
    exit_code: int | None
    signal: int | None
    attempts: int
    duration: float | None
    log_path: str | None
    reason: str = ""
    totals: AgentTotals | None = None
    """Agent tasks only: tokens, cost and tool calls over all attempts."""
    worktree: WorktreeSummary | None = None
    """Worktree tasks only: the branch and what the last attempt changed."""
    attention: str = ""
    """Why the last attempt needs its user's attention (see `TaskExited.attention`)."""


@record
class RunResult:
    """How a whole run ended, as the front ends report it (not an event on the bus)."""

    run_id: str
    exit_code: int
    results: tuple[TaskResult, ...]
    signal: int | None
    log_dir: Path


@record
class RunStarted:
    """A run began: its id, where its logs go, its tasks and its concurrency limit."""

    run_id: str
    ts: float
    log_dir: str
    task_ids: tuple[str, ...]
    max_concurrent: int


@record
class RunFinished:
    """Every task has ended. `exit_code` is 0 if all completed, else 1 (or 128+signal)."""

    run_id: str
    ts: float
    exit_code: int
    results: tuple[TaskResult, ...]
    signal: int | None = None


Event = (
    TaskAdded
    | StateChanged
    | ProcessStarted
    | Output
    | LiveLines
    | OutputTail
    | Activity
    | TotalsChanged
    | RetryScheduled
    | AgentChosen
    | MessageSent
    | AttentionChanged
    | TaskWaiting
    | TaskReady
    | JudgeVerdict
    | LoopPhase
    | LoopVerdict
    | WorktreeReady
    | WorktreeFinished
    | TaskExited
    | RunStarted
    | RunFinished
)
