"""The live record of one task across its attempts (owned and mutated by the orchestrator only)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import anyio

from oneshot_tui.core.clock import Clock
from oneshot_tui.core.events import StateChanged, TaskResult
from oneshot_tui.core.lifecycle import TaskLifecycle
from oneshot_tui.core.spec import TaskSpec
from oneshot_tui.core.states import TaskState
from oneshot_tui.orchestrator.messages import Inbox, Message
from oneshot_tui.runner.backend import ProcessHandle
from oneshot_tui.runner.output import LineView, OutputLog
from oneshot_tui.runner.process import ExitStatus

if TYPE_CHECKING:  # annotations only: a run of plain commands never loads the agent or git types
    from oneshot_tui.core.activity import AgentTotals
    from oneshot_tui.core.worktree import WorktreeInfo, WorktreeSummary


@dataclass
class StopRequest:
    """Why and how an attempt is being stopped."""

    reason: str
    restart: bool = False
    kill: bool = False


@dataclass
class Task:
    """One task of the run: its spec, lifecycle, logs and the state of its current attempt."""

    spec: TaskSpec
    lifecycle: TaskLifecycle
    file_stem: str
    view: LineView
    log_paths: list[Path] = field(default_factory=list)
    started_at: float | None = None
    ended_at: float | None = None
    last_output_at: float = 0.0
    idle_since: float | None = None
    exit_status: ExitStatus | None = None
    reason: str = ""
    child: ProcessHandle | None = None
    on_resize: Callable[[int, int], None] | None = None
    """Resizes a PTY task's terminal and its screen, while its process runs."""
    live: tuple[str, ...] = ()
    """What it is drawing now: an unfinished line, or its PTY's screen (`LiveLines`)."""
    pty_size: tuple[int, int] = (50, 200)
    """Rows and columns a PTY of this task gets: the viewer's pane, once one said."""
    stop: StopRequest | None = None
    stop_event: anyio.Event | None = None
    on_stop: Callable[[], None] | None = None
    """Called when a stop is first requested while an attempt follows a process (it starts the
    ladder then: no task waits for a stop that mostly never comes)."""
    scheduled: bool = False
    """True while a coroutine owns the task (queued or running)."""
    totals: AgentTotals | None = None
    """Agent tasks: tokens, cost and tool calls over all attempts so far."""
    cpu_seconds: float | None = None
    """CPU time its processes used over all attempts so far (None: none was measured)."""
    worktree: WorktreeInfo | None = None
    """Worktree tasks: their worktree, once made (every later attempt reuses it)."""
    worktree_summary: WorktreeSummary | None = None
    """Worktree tasks: what the latest attempt that ran left in the worktree."""
    lost: bool = False
    """The last attempt ended because its node or worker went away."""
    lost_restarts: int = 0
    """Attempts started again after a lost node (bounded by `restart_on_node_lost`)."""
    on_stall: Callable[[str], bool] | None = None
    """Set by a body that retries a stalled step itself (a loop): the idle policy's restart calls
    it with the reason instead of restarting the whole task; True if it took care of it."""
    attention: str = ""
    """Why the last attempt needs its user's attention (tool calls denied), else empty."""
    prompt: str = ""
    """The unfinished last line of the current attempt's output, if it looks like a prompt
    (`Proceed? [y/N]`): a PTY task silent on one waits for its user."""
    log: OutputLog | None = None
    """The running attempt's log (the heartbeat looks whether it still exists)."""
    log_gone: bool = False
    """A log of this task was deleted during the run (the data dir removed under it): the run
    exits 1, and its result names no log file that does not exist."""
    oneshot_id: str | None = None
    """Loop tasks: the id of the loop they run (set once it is opened): a later attempt goes on
    with that loop (from its last completed step) unless the task was restarted afresh."""
    fresh_start: bool = False
    """The next attempt starts a new loop (`restart`), whatever loop ran before."""
    continuing: bool = False
    """The next attempt continues its loop even if it had completed (`continue_task`)."""
    inbox: Inbox = field(default_factory=Inbox)
    """Messages from the user waiting for the agent's next turn."""
    delivering: list[Message] = field(default_factory=list)
    """The messages the current attempt's turn was started with (taken from the inbox)."""
    agent_session: tuple[str, str] | None = None
    """Agent tasks: (agent, session id) of the agent's latest session: the next turn goes on in
    it where the CLI can resume one."""
    spent: AgentTotals | None = None
    """Agent tasks: what the earlier turns of the current conversation used (its budget counts
    across its turns)."""
    conversation: list[str] = field(default_factory=list)
    """Agent tasks: the turns so far as text (the user's messages, the agent's answers), for a
    next turn on an agent that cannot resume its session (it gets them in its prompt)."""
    started: bool = False
    """The current attempt's process started (what `depends_on = { x = "started" }` waits for)."""
    running_since: float | None = None
    """Monotonic time the current attempt's process started (for `ready_after`)."""
    ready: bool = False
    """The current attempt is ready: its `ready_line` was written or `ready_after` passed."""
    watch_lines: Callable[[str], None] | None = None
    """Given the task's display text as it arrives, when it has a `ready_line` to look for."""
    restarts: int = 0
    """Attempts its restart policy has started so far (bounded by `max_restarts`)."""
    worktree_set_up: bool = False
    """Its worktree's `worktree_setup` ran and succeeded (a later attempt does not run it)."""
    prompt_template: str = ""
    """Agent tasks whose prompt uses `{{ tasks.NAME.FIELD }}`: the prompt as written (the spec's
    is filled in at each start)."""
    answer: str = ""
    """Agent and loop tasks: the latest final answer (`{{ tasks.NAME.result }}` in a prompt)."""
    winner: str | None = None
    """A best-of-N judge: the replica it chose, whose worktree stands for the judge's own
    (`{{ tasks.JUDGE.branch }}`, `diff_stat` and `diff` are the winner's)."""

    @classmethod
    def create(
        cls, spec: TaskSpec, file_stem: str, clock: Clock, emit: Callable[[StateChanged], None]
    ) -> Task:
        return cls(
            spec=spec,
            lifecycle=TaskLifecycle(spec.name, clock, emit),
            file_stem=file_stem,
            view=LineView(spec.policy.scrollback, spec.policy.scrollback_bytes),
        )

    @property
    def id(self) -> str:
        return self.spec.name

    @property
    def state(self) -> TaskState:
        return self.lifecycle.state

    @property
    def starting(self) -> bool:
        """An attempt is under way but its process has not started (its worktree is being made,
        or it waits for a node with room): a stop now means it never starts."""
        return self.state is TaskState.CREATED and self.stop_event is not None

    @property
    def attempt(self) -> int:
        return self.lifecycle.attempt

    @property
    def log_path(self) -> Path | None:
        return self.log_paths[-1] if self.log_paths else None

    def request_stop(self, request: StopRequest) -> bool:
        """Ask the running attempt to stop (the first request's reason is the one recorded)."""
        current = self.stop
        if current is None:
            self.stop = current = request
            if self.stop_event is not None:
                self.stop_event.set()
            if self.on_stop is not None:
                self.on_stop()
        else:
            current.restart = current.restart or request.restart
            current.kill = current.kill or request.kill
        if request.kill and self.child is not None:
            self.child.kill()
        return True

    def duration(self, now: float) -> float | None:
        if self.started_at is None:
            return None
        end = self.ended_at if self.ended_at is not None else now
        return max(end - self.started_at, 0.0)

    def result(self, now: float) -> TaskResult:
        status = self.exit_status
        return TaskResult(
            task_id=self.id,
            state=self.state,
            exit_code=status.exit_code if status else None,
            signal=status.signal if status else None,
            attempts=self.attempt,
            duration=self.duration(now),
            log_path=str(self.log_path) if self.log_path and not self.log_gone else None,
            reason=self.reason,
            totals=self.totals,
            worktree=self.worktree_summary,
            attention=self.attention,
        )
