"""Engine events to rows: one run's history, written batch by batch, one transaction a batch.

The writer keeps no state between batches that a failed (rolled back) batch could leave wrong:
a batch that meets a locked database is simply written again later, whole.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from oneshot_tui.core.events import (
    Activity,
    Event,
    LoopPhase,
    LoopVerdict,
    ProcessStarted,
    RetryScheduled,
    RunFinished,
    RunStarted,
    StateChanged,
    TaskAdded,
    TaskExited,
    WorktreeFinished,
    WorktreeReady,
)
from oneshot_tui.core.record import record
from oneshot_tui.core.spec import RunSettings
from oneshot_tui.store.agent_fields import GROWING, agent_updates
from oneshot_tui.store.db import write_transaction
from oneshot_tui.store.procinfo import ProcessIdentity
from oneshot_tui.store.run_origin import RunOrigin, RunStatus
from oneshot_tui.store.specs import dumps, settings_to_json
from oneshot_tui.store.worktree_fields import finished_updates, ready_updates


@record
class RunInfo:
    """What is known about a run before its first event: recorded in its `runs` row."""

    run_id: str
    log_dir: str
    settings: RunSettings
    origin: RunOrigin
    owner: ProcessIdentity | None
    """The process running it, so a later start can tell whether it died."""
    host: str
    ray_address: str | None = None
    """The Ray cluster its processes run on (the ray backend), so `cleanup` can reach them."""


@record
class Batch:
    """Events to record, with what had to be looked up when they were received."""

    events: Sequence[Event]
    specs: Mapping[str, str | None]
    """Task id -> its spec as JSON, for the TaskAdded events in `events`."""
    identities: Mapping[int, ProcessIdentity | None]
    """Pid -> who it is, for the ProcessStarted events in `events`."""


RECORDED = (
    TaskAdded,
    StateChanged,
    ProcessStarted,
    TaskExited,
    Activity,
    LoopPhase,
    LoopVerdict,
    RetryScheduled,
    WorktreeReady,
    WorktreeFinished,
    RunStarted,
    RunFinished,
)
"""The events the history keeps (output lives in the log files)."""


def _spec_agent(spec: str | None) -> dict[str, Any]:
    """The executor and model a task was given (its session may report the model it used)."""
    if not spec:
        return {}
    agent = json.loads(spec).get("agent")
    if not isinstance(agent, dict):
        return {}
    found = {"executor": agent.get("agent"), "model": agent.get("model")}
    return {k: v for k, v in found.items() if isinstance(v, str) and v}


class RunWriter:
    def __init__(self, conn: sqlite3.Connection, info: RunInfo) -> None:
        self.conn = conn
        self.info = info

    def write(self, batch: Batch) -> None:
        """Record a batch in one transaction (tried again while the database is busy)."""
        if batch.events:
            write_transaction(self.conn, lambda conn: self._apply(conn, batch))

    def _apply(self, conn: sqlite3.Connection, batch: Batch) -> None:
        run = self.info.run_id
        for event in batch.events:
            if isinstance(event, StateChanged):
                self._state_changed(conn, run, event)
            elif isinstance(event, ProcessStarted):
                self._process_started(conn, run, event, batch.identities.get(event.pid))
            elif isinstance(event, TaskExited):
                self._task_exited(conn, run, event)
            elif isinstance(event, Activity):
                self._activity(conn, run, event)
            elif isinstance(event, LoopPhase):
                self._update(conn, run, event.task_id, {"iterations": event.iteration})
            elif isinstance(event, LoopVerdict):
                self._update(conn, run, event.task_id, {"verdict": event.verdict})
            elif isinstance(event, RetryScheduled) and not event.by_agent:
                self._count(conn, run, event.task_id, "retries")  # a wait of ours, not the CLI's
            elif isinstance(event, WorktreeReady):
                self._update(conn, run, event.task_id, ready_updates(event))
            elif isinstance(event, WorktreeFinished):
                self._update(conn, run, event.task_id, finished_updates(event))
            elif isinstance(event, TaskAdded):
                self._task_added(conn, run, event, batch.specs.get(event.task_id))
            elif isinstance(event, RunStarted):
                self._run_started(conn, event)
            elif isinstance(event, RunFinished):
                self._run_finished(conn, run, event)

    def _run_started(self, conn: sqlite3.Connection, event: RunStarted) -> None:
        info, origin, owner = self.info, self.info.origin, self.info.owner
        conn.execute(
            "INSERT OR IGNORE INTO runs (id, started, status, argv, cwd, task_file,"
            " task_file_sha256, settings, log_dir, host, pid, pid_start, boot_id, rerun_of,"
            " ray_address) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                info.run_id,
                event.ts,
                RunStatus.LIVE,
                dumps(list(origin.argv)),
                origin.cwd,
                origin.task_file,
                origin.task_file_sha256,
                dumps(settings_to_json(info.settings)),
                event.log_dir or info.log_dir,
                info.host,
                owner.pid if owner else 0,
                owner.start_ticks if owner else None,
                owner.boot_id if owner else None,
                origin.rerun_of,
                info.ray_address,
            ),
        )

    def _revive(self, conn: sqlite3.Connection, run: str) -> None:
        """A run kept open (the TUI) that settled can come back to life with a restart or an
        added task: it is live again until its next RunFinished."""
        conn.execute(
            "UPDATE runs SET status = ?, ended = NULL WHERE id = ? AND status = ?",
            (RunStatus.LIVE, run, RunStatus.FINISHED),
        )

    def _task_added(
        self, conn: sqlite3.Connection, run: str, event: TaskAdded, spec: str | None
    ) -> None:
        conn.execute(
            "INSERT OR IGNORE INTO tasks (run_id, name, position, kind, command, spec)"
            " VALUES (?, ?, (SELECT COUNT(*) FROM tasks WHERE run_id = ?), ?, ?, ?)",
            (run, event.task_id, run, event.kind, event.command, spec),
        )
        self._revive(conn, run)
        agent = _spec_agent(spec)
        if agent:
            self._update(conn, run, event.task_id, agent)

    def _state_changed(self, conn: sqlite3.Connection, run: str, event: StateChanged) -> None:
        conn.execute(
            "INSERT INTO transitions (run_id, task, attempt, ts, source, target, event, reason)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                run,
                event.task_id,
                event.attempt,
                event.ts,
                str(event.source),
                str(event.target),
                event.event,
                event.reason,
            ),
        )
        conn.execute(
            "UPDATE tasks SET state = ?, reason = ?, attempts = MAX(attempts, ?),"
            " started = COALESCE(started, CASE WHEN ? = 'running' THEN ? END)"
            " WHERE run_id = ? AND name = ?",
            (
                str(event.target),
                event.reason,
                event.attempt,
                str(event.target),
                event.ts,
                run,
                event.task_id,
            ),
        )
        if event.event == "restart":
            self._count(conn, run, event.task_id, "restarts")
            self._revive(conn, run)

    def _process_started(
        self,
        conn: sqlite3.Connection,
        run: str,
        event: ProcessStarted,
        identity: ProcessIdentity | None,
    ) -> None:
        conn.execute(
            "INSERT INTO processes (run_id, task, attempt, pid, start_ticks, boot_id, label,"
            " started, node) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                run,
                event.task_id,
                event.attempt,
                event.pid,
                identity.start_ticks if identity else None,
                identity.boot_id if identity else None,
                event.label,
                event.ts,
                event.node,
            ),
        )
        conn.execute(
            "INSERT OR IGNORE INTO attempts (run_id, task, attempt, log_path, started)"
            " VALUES (?, ?, ?, ?, ?)",
            (run, event.task_id, event.attempt, event.log_path, event.ts),
        )
        conn.execute(
            "UPDATE tasks SET log_path = ? WHERE run_id = ? AND name = ?",
            (event.log_path, run, event.task_id),
        )

    def _task_exited(self, conn: sqlite3.Connection, run: str, event: TaskExited) -> None:
        outcome = (
            str(event.state),
            event.exit_code,
            event.signal,
            event.reason,
            event.duration,
            event.ts,
        )
        conn.execute(
            "UPDATE tasks SET state = ?, exit_code = ?, signal = ?, reason = ?, duration = ?,"
            " ended = ? WHERE run_id = ? AND name = ?",
            (*outcome, run, event.task_id),
        )
        conn.execute(
            "UPDATE attempts SET state = ?, exit_code = ?, signal = ?, reason = ?, duration = ?,"
            " ended = ? WHERE run_id = ? AND task = ? AND attempt = ?",
            (*outcome, run, event.task_id, event.attempt),
        )
        # The orchestrator stops an attempt's whole process group before it reports the exit.
        conn.execute(
            "UPDATE processes SET ended = ? WHERE run_id = ? AND task = ? AND attempt = ?"
            " AND ended IS NULL",
            (event.ts, run, event.task_id, event.attempt),
        )
        if event.totals is not None:  # the task's own running totals, over every attempt
            totals = event.totals
            self._update(
                conn,
                run,
                event.task_id,
                {
                    "input_tokens": totals.input_tokens,
                    "output_tokens": totals.output_tokens,
                    "cost_usd": totals.cost_usd,
                    "tool_calls": totals.tool_calls,
                    "cost_estimated": int(totals.estimated),
                },
            )
        if event.cpu_seconds is not None:  # also over every attempt
            self._update(conn, run, event.task_id, {"cpu_seconds": event.cpu_seconds})

    def _activity(self, conn: sqlite3.Connection, run: str, event: Activity) -> None:
        self._update(conn, run, event.task_id, agent_updates(event))

    def _count(self, conn: sqlite3.Connection, run: str, task: str, column: str) -> None:
        conn.execute(
            f"UPDATE tasks SET {column} = {column} + 1 WHERE run_id = ? AND name = ?", (run, task)
        )

    def _update(
        self, conn: sqlite3.Connection, run: str, task: str, updates: dict[str, Any]
    ) -> None:
        """Set columns of a task (`GROWING` agent ones keep their largest value)."""
        if not updates:
            return
        assignments = ", ".join(
            f"{column} = MAX(COALESCE({column}, ?), ?)" if column in GROWING else f"{column} = ?"
            for column in updates
        )
        values: list[Any] = []
        for column, value in updates.items():
            values.extend((value, value) if column in GROWING else (value,))
        conn.execute(
            f"UPDATE tasks SET {assignments} WHERE run_id = ? AND name = ?",
            (*values, run, task),
        )

    def _run_finished(self, conn: sqlite3.Connection, run: str, event: RunFinished) -> None:
        # The run ended when its last task did: a TUI left open on the results afterwards (the
        # run finishes when it quits) is not the run's time. No task ended: the event's time.
        conn.execute(
            "UPDATE runs SET status = ?, exit_code = ?, signal = ?,"
            " ended = COALESCE((SELECT MAX(ended) FROM tasks WHERE run_id = ?), ?) WHERE id = ?",
            (RunStatus.FINISHED, event.exit_code, event.signal, run, event.ts, run),
        )
        for r in event.results:
            conn.execute(
                "UPDATE tasks SET state = ?, exit_code = ?, signal = ?, attempts = ?,"
                " duration = ?, reason = ?, log_path = COALESCE(?, log_path)"
                " WHERE run_id = ? AND name = ?",
                (
                    str(r.state),
                    r.exit_code,
                    r.signal,
                    r.attempts,
                    r.duration,
                    r.reason,
                    r.log_path,
                    run,
                    r.task_id,
                ),
            )
            if r.log_path is not None:
                # An attempt whose process could not start still has its (short) log file.
                conn.execute(
                    "INSERT OR IGNORE INTO attempts (run_id, task, attempt, log_path, state,"
                    " reason) VALUES (?, ?, ?, ?, ?, ?)",
                    (run, r.task_id, r.attempts, r.log_path, str(r.state), r.reason),
                )
