"""What the history holds, as plain frozen data: what readers (CLI, TUI) get back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oneshot_tui.core.events import TaskResult
from oneshot_tui.core.record import record
from oneshot_tui.core.states import TaskState
from oneshot_tui.core.worktree import WorktreeInfo, WorktreeSummary
from oneshot_tui.store.run_origin import LOST_REASON as LOST_REASON
from oneshot_tui.store.run_origin import RunOrigin as RunOrigin
from oneshot_tui.store.run_origin import RunStatus as RunStatus
from oneshot_tui.store.run_origin import digest as digest


@dataclass(frozen=True, slots=True)
class RunRecord:
    id: str
    started: float
    ended: float | None
    status: str
    exit_code: int | None
    signal: int | None
    argv: tuple[str, ...]
    cwd: str
    task_file: str | None
    task_file_sha256: str | None
    settings: Mapping[str, Any]
    log_dir: str
    host: str
    pid: int
    rerun_of: str | None
    counts: Mapping[str, int] = field(default_factory=dict)
    """Tasks per state, e.g. {"completed": 3, "failed": 1}."""
    ray_address: str | None = None
    """The Ray cluster its processes ran on (the ray backend); None for a local run."""

    @property
    def task_count(self) -> int:
        return sum(self.counts.values())

    def duration(self, now: float) -> float | None:
        """How long it ran (so far, if live); None for a lost run: its end is unknown."""
        if self.ended is not None:
            return max(self.ended - self.started, 0.0)
        return max(now - self.started, 0.0) if self.status == RunStatus.LIVE else None


@dataclass(frozen=True, slots=True)
class AgentFields:
    """Filled for agent tasks from their activity; all None for a plain command."""

    executor: str | None = None
    model: str | None = None
    iterations: int | None = None
    verdict: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    agent_session_id: str | None = None


@dataclass(frozen=True, slots=True)
class WorktreeRecord:
    """A worktree task's worktree as history knows it."""

    info: WorktreeInfo
    created: float | None
    removed: float | None
    """When `worktrees clean` removed it (None while it exists, as far as history knows)."""
    summary: WorktreeSummary | None
    """What the task's latest attempt left in it (None until an attempt ended)."""

    @property
    def final_commit(self) -> str | None:
        return self.summary.final_commit if self.summary is not None else None


@dataclass(frozen=True, slots=True)
class TaskRecord:
    run_id: str
    name: str
    position: int
    kind: str
    command: str
    spec: Mapping[str, Any] | None
    """The TaskSpec as JSON data (see store/specs.py), or None if it was not known."""
    state: TaskState
    reason: str
    exit_code: int | None
    signal: int | None
    attempts: int
    started: float | None
    ended: float | None
    duration: float | None
    log_path: str | None
    agent: AgentFields = field(default_factory=AgentFields)
    worktree: WorktreeRecord | None = None
    """Set for a task that ran in a git worktree."""

    def result(self) -> TaskResult:
        """As the engine reports it, for the summary table shared with headless runs."""
        return TaskResult(
            task_id=self.name,
            state=self.state,
            exit_code=self.exit_code,
            signal=self.signal,
            attempts=self.attempts,
            duration=self.duration,
            log_path=self.log_path,
            reason=self.reason,
            worktree=self.worktree.summary if self.worktree is not None else None,
        )


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    run_id: str
    task: str
    attempt: int
    log_path: Path | None
    started: float | None
    ended: float | None
    state: str | None
    exit_code: int | None
    signal: int | None
    duration: float | None
    reason: str


@dataclass(frozen=True, slots=True)
class TransitionRecord:
    seq: int
    run_id: str
    task: str
    attempt: int
    ts: float
    source: str
    target: str
    event: str
    reason: str


@dataclass(frozen=True, slots=True)
class ProcessRecord:
    run_id: str
    task: str
    attempt: int
    pid: int
    start_ticks: int | None
    boot_id: str | None
    label: str
    started: float
    ended: float | None
    node: str = ""
    """The cluster node (IP address) it ran on; '' for the run's own machine."""


@record
class MergeRecord:
    """A task's branch merged back into the branch it started from (or pushed), as recorded."""

    task: str
    ts: float
    kind: str
    """fast-forward, merge commit, squash, up to date or pushed."""
    branch: str
    into: str
    """The branch merged into, or the remote pushed to."""
    commit: str
    """HEAD of `into` afterwards (the branch's commit when pushed)."""
    commits: int
    note: str = ""
