"""Bus events as NDJSON on stdout: one JSON object a line, for scripts and CI.

Every object has `ts`, `run`, `task` and `event`. Events: `run_started`, `task_added`, `state`
(`from`, `to`, `attempt`, `reason`), `output` (`line`, `stream`, `attempt`), `exit` (`exit_code`,
`signal`, `state`, `attempt`, `duration`, `reason`, `totals`), `run_finished` (`exit_code`,
`signal`, `results`). Agent tasks add `activity` (`kind`, `text`, `data`, `label`, `attempt`; their
readable lines are not repeated as `output`), `totals` (`input_tokens`, `output_tokens`,
`cost_usd`, `tool_calls`) and `retry` (`delay`, `resume_at`, `reason`, `retry`, `retries`).
Worker/auditor loops add `loop_phase` (`role`, `iteration`, `max_iterations`, `oneshot_id`) and
`verdict` (`verdict`, `feedback`, `well_formed`, `iteration`). Worktree tasks add `worktree`
(`path`, `branch`, `repo`, `base_commit`, `base_ref`, `cwd`, `reused`) before their processes start
and `worktree_result` (the same, plus `final_commit`, `commits`, `committed`, `uncommitted` and
`total` diff stats as `files`, `insertions`, `deletions`, and `error`) when an attempt ends; their
`run_finished` results carry it as `worktree`. Consumers should ignore events they do not know.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any, BinaryIO

from oneshot_tui.core.activity import ACTIVITY_STREAM, AgentTotals
from oneshot_tui.core.events import (
    Activity,
    Event,
    LoopPhase,
    LoopVerdict,
    Output,
    ProcessStarted,
    RetryScheduled,
    RunFinished,
    RunStarted,
    StateChanged,
    TaskAdded,
    TaskExited,
    TotalsChanged,
    WorktreeFinished,
    WorktreeReady,
)
from oneshot_tui.core.worktree import WorktreeInfo, WorktreeSummary


def _totals(totals: AgentTotals | None) -> dict[str, Any] | None:
    return None if totals is None else asdict(totals)


def worktree_json(info: WorktreeInfo) -> dict[str, Any]:
    return asdict(info)


def worktree_result_json(summary: WorktreeSummary | None) -> dict[str, Any] | None:
    """A worktree summary as JSON: the worktree's fields, then what changed in it."""
    if summary is None:
        return None
    data = asdict(summary)
    return {**data.pop("worktree"), **data}


class JsonPrinter:
    def __init__(self, out: BinaryIO, run_id: str) -> None:
        self._out = out
        self._run = run_id
        self.finished: RunFinished | None = None
        self._dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

    def _obj(self, ts: float, task: str | None, event: str, **fields: Any) -> str:
        return self._dumps(
            {"ts": round(ts, 6), "run": self._run, "task": task, "event": event, **fields}
        )

    def handle(self, events: Sequence[Event]) -> None:
        lines: list[str] = []
        for e in events:
            if type(e) is Output:
                if e.stream == ACTIVITY_STREAM:
                    continue
                base = {"stream": e.stream, "attempt": e.attempt}
                if e.missed:
                    lines.append(
                        self._obj(e.ts, e.task_id, "output_missed", lines=e.missed, **base)
                    )
                lines.extend(
                    self._obj(e.ts, e.task_id, "output", line=line, **base) for line in e.split()
                )
            elif isinstance(e, StateChanged):
                lines.append(
                    self._obj(
                        e.ts,
                        e.task_id,
                        "state",
                        attempt=e.attempt,
                        reason=e.reason,
                        **{"from": str(e.source), "to": str(e.target)},
                    )
                )
            elif isinstance(e, TaskExited):
                lines.append(
                    self._obj(
                        e.ts,
                        e.task_id,
                        "exit",
                        exit_code=e.exit_code,
                        signal=e.signal,
                        state=str(e.state),
                        attempt=e.attempt,
                        duration=round(e.duration, 3),
                        reason=e.reason,
                        totals=_totals(e.totals),
                    )
                )
            elif isinstance(e, LoopPhase):
                lines.append(
                    self._obj(
                        e.ts,
                        e.task_id,
                        "loop_phase",
                        attempt=e.attempt,
                        oneshot_id=e.oneshot_id,
                        role=e.role,
                        iteration=e.iteration,
                        max_iterations=e.max_iterations,
                    )
                )
            elif isinstance(e, LoopVerdict):
                lines.append(
                    self._obj(
                        e.ts,
                        e.task_id,
                        "verdict",
                        attempt=e.attempt,
                        oneshot_id=e.oneshot_id,
                        iteration=e.iteration,
                        verdict=e.verdict,
                        feedback=e.feedback,
                        well_formed=e.well_formed,
                    )
                )
            elif isinstance(e, Activity):
                lines.append(
                    self._obj(
                        e.ts,
                        e.task_id,
                        "activity",
                        attempt=e.attempt,
                        kind=e.kind,
                        text=e.text,
                        data=e.data,
                        label=e.label,
                    )
                )
            elif isinstance(e, WorktreeReady):
                lines.append(
                    self._obj(
                        e.ts,
                        e.task_id,
                        "worktree",
                        attempt=e.attempt,
                        reused=e.reused,
                        **worktree_json(e.worktree),
                    )
                )
            elif isinstance(e, WorktreeFinished):
                lines.append(
                    self._obj(
                        e.ts,
                        e.task_id,
                        "worktree_result",
                        attempt=e.attempt,
                        **(worktree_result_json(e.summary) or {}),
                    )
                )
            elif isinstance(e, TotalsChanged):
                lines.append(
                    self._obj(e.ts, e.task_id, "totals", attempt=e.attempt, **asdict(e.totals))
                )
            elif isinstance(e, RetryScheduled):
                lines.append(
                    self._obj(
                        e.ts,
                        e.task_id,
                        "retry",
                        attempt=e.attempt,
                        delay=e.delay,
                        resume_at=round(e.resume_at, 6),
                        reason=e.reason,
                        retry=e.retry,
                        retries=e.retries,
                    )
                )
            elif isinstance(e, ProcessStarted):
                where = {"node": e.node} if e.node else {}  # only for a process on a cluster node
                lines.append(
                    self._obj(
                        e.ts,
                        e.task_id,
                        "process",
                        attempt=e.attempt,
                        pid=e.pid,
                        log=e.log_path,
                        label=e.label,
                        **where,
                    )
                )
            elif isinstance(e, TaskAdded):
                lines.append(
                    self._obj(e.ts, e.task_id, "task_added", command=e.command, kind=e.kind)
                )
            elif isinstance(e, RunStarted):
                lines.append(
                    self._obj(
                        e.ts,
                        None,
                        "run_started",
                        tasks=list(e.task_ids),
                        log_dir=e.log_dir,
                        max_concurrent=e.max_concurrent,
                    )
                )
            elif isinstance(e, RunFinished):
                self.finished = e
                results = [
                    {
                        "task": r.task_id,
                        "state": str(r.state),
                        "exit_code": r.exit_code,
                        "signal": r.signal,
                        "attempts": r.attempts,
                        "duration": None if r.duration is None else round(r.duration, 3),
                        "log": r.log_path,
                        "reason": r.reason,
                        "totals": _totals(r.totals),
                        "worktree": worktree_result_json(r.worktree),
                    }
                    for r in e.results
                ]
                lines.append(
                    self._obj(
                        e.ts,
                        None,
                        "run_finished",
                        exit_code=e.exit_code,
                        signal=e.signal,
                        results=results,
                    )
                )
        if lines:
            self._out.write(("\n".join(lines) + "\n").encode("utf-8", "surrogateescape"))
            self._out.flush()
