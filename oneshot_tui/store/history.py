"""The history file for its users: the queries behind `history`, `show`, `logs`, `rerun`, `cleanup`
and the TUI's history screens, and the few upkeep writes those make (marking lost runs, stopped
orphans, removed worktrees). The live run's own rows are written by `live_recorder`.

All calls are synchronous SQLite reads that take milliseconds; a UI should still make them in a
worker thread. A reader sees each write once it is committed (WAL), including those of runs that
are live right now.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from oneshot_tui.core.states import TaskState
from oneshot_tui.store.db import HistoryError, connect, explain, write_transaction
from oneshot_tui.store.history_data import (
    AgentFields,
    AttemptRecord,
    MergeRecord,
    ProcessRecord,
    RunRecord,
    RunStatus,
    TaskRecord,
    TransitionRecord,
)
from oneshot_tui.store.paths import history_db_path
from oneshot_tui.store.recovery import (
    Orphan,
    RemoteAttempt,
    close_orphan,
    close_processes,
    close_remote_attempt,
    find_orphans,
    is_live,
    recover_lost_runs,
    remote_attempts,
)
from oneshot_tui.store.schema import SchemaTooNew, migrate
from oneshot_tui.store.worktree_fields import COLUMNS as WORKTREE_COLUMNS
from oneshot_tui.store.worktree_fields import worktree_record

if TYPE_CHECKING:
    from oneshot_tui.store.stats import Stats

R = TypeVar("R")

LAST = "last"
"""The run reference that means the most recent run."""


class RunNotFound(HistoryError):
    """No run matches the given id or prefix."""


class AmbiguousRun(HistoryError):
    """A prefix matches more than one run."""

    def __init__(self, ref: str, matches: list[str]) -> None:
        self.matches = matches
        shown = ", ".join(matches[:5]) + (", ..." if len(matches) > 5 else "")
        super().__init__(f"run {ref!r} is ambiguous: it matches {len(matches)} runs ({shown})")


_RUN_COLUMNS = (
    "id, started, ended, status, exit_code, signal, argv, cwd, task_file, task_file_sha256,"
    " settings, log_dir, host, pid, rerun_of, ray_address"
)
_TASK_COLUMNS = (
    "run_id, name, position, kind, command, spec, state, reason, exit_code, signal, attempts,"
    " started, ended, duration, log_path, executor, model, iterations, verdict, input_tokens,"
    " output_tokens, cost_usd, agent_session_id, " + ", ".join(WORKTREE_COLUMNS)
)


class History:
    """`DATA_DIR/history.db` as its readers see it. Open with `History.open(data_dir)`.

    Opening also marks runs whose process died as `lost` (an upkeep write), so what a reader
    shows is never a crashed run pretending to be live.
    """

    def __init__(self, conn: sqlite3.Connection | None, path: Path) -> None:
        self._conn = conn
        self.path = path
        self.lost: list[str] = []
        """Runs found lost when this reader opened the file."""

    @classmethod
    def open(cls, data_dir: Path) -> History:
        """Raises HistoryError if the file exists but cannot be read. A missing file is an
        empty history."""
        path = history_db_path(data_dir)
        if not path.exists():
            return cls(None, path)
        conn = connect(path, create=False)
        conn.row_factory = sqlite3.Row  # rows are read by column name
        reader = cls(conn, path)
        try:
            with suppress(SchemaTooNew):  # newer versions add columns: what we know still reads
                migrate(conn)
            try:
                reader.lost = recover_lost_runs(conn, time.time())
            except sqlite3.OperationalError as exc:
                if "readonly" not in str(exc):  # a read-only history can still be read
                    raise
        except sqlite3.Error as exc:
            conn.close()
            raise HistoryError(explain(path, exc)) from None
        return reader

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection | None]:
        try:
            yield self._conn
        except sqlite3.Error as exc:
            raise HistoryError(explain(self.path, exc)) from None

    # -- runs ------------------------------------------------------------------------------------

    def list_runs(self, limit: int | None = 20) -> list[RunRecord]:
        """The most recent runs, newest first, with their task counts per state."""
        with self._reading() as conn:
            if conn is None:
                return []
            rows = conn.execute(
                f"SELECT {_RUN_COLUMNS} FROM runs ORDER BY started DESC, id DESC LIMIT ?",
                (-1 if limit is None else limit,),
            ).fetchall()
            counts: dict[str, dict[str, int]] = {row["id"]: {} for row in rows}
            for run_id, state, n in conn.execute(
                "SELECT t.run_id, t.state, COUNT(*) FROM tasks t WHERE t.run_id IN"
                " (SELECT id FROM runs ORDER BY started DESC, id DESC LIMIT ?)"
                " GROUP BY t.run_id, t.state",
                (-1 if limit is None else limit,),
            ):
                if run_id in counts:
                    counts[run_id][state] = n
            return [_run_record(row, counts[row["id"]]) for row in rows]

    def stats(
        self,
        *,
        since: float | None,
        until: float,
        by: str | None = None,
        run_id: str | None = None,
    ) -> Stats:
        """What the runs started in [since, until] cost and how they went (`store/stats.py`)."""
        from oneshot_tui.store.stats import read_stats

        with self._reading() as conn:
            return read_stats(conn, since=since, until=until, by=by, run_id=run_id)

    def run(self, run_id: str) -> RunRecord:
        with self._reading() as conn:
            row = None
            if conn is not None:
                row = conn.execute(
                    f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,)
                ).fetchone()
            if conn is None or row is None:
                raise RunNotFound(f"no run {run_id!r} in the history")
            counts = {
                str(state): int(n)
                for state, n in conn.execute(
                    "SELECT state, COUNT(*) FROM tasks WHERE run_id = ? GROUP BY state", (run_id,)
                )
            }
            return _run_record(row, counts)

    def resolve(self, ref: str) -> str:
        """A run id from what a person typed: a full id, a unique prefix of one, or `last`."""
        with self._reading() as conn:
            if conn is None:
                raise RunNotFound("no runs recorded yet")
            if ref == LAST:
                row = conn.execute(
                    "SELECT id FROM runs ORDER BY started DESC, id DESC LIMIT 1"
                ).fetchone()
                if row is None:
                    raise RunNotFound("no runs recorded yet")
                return str(row["id"])
            if not ref:
                raise RunNotFound("give a run id, a prefix of one, or 'last'")
            exact = conn.execute("SELECT id FROM runs WHERE id = ?", (ref,)).fetchone()
            if exact is not None:
                return str(exact["id"])
            pattern = ref.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            matches = [
                str(r["id"])
                for r in conn.execute(
                    "SELECT id FROM runs WHERE id LIKE ? ESCAPE '\\' ORDER BY started DESC, id",
                    (pattern,),
                )
            ]
            if not matches:
                raise RunNotFound(f"no run matches {ref!r} (see oneshot-tui history)")
            if len(matches) > 1:
                raise AmbiguousRun(ref, matches)
            return matches[0]

    def is_live(self, run_id: str) -> bool:
        """True while the run's process is running it (false once finished, lost or dead)."""
        with self._reading() as conn:
            if conn is None:
                return False
            row = conn.execute(
                "SELECT host, pid, pid_start, boot_id, status FROM runs WHERE id = ?", (run_id,)
            ).fetchone()
            return row is not None and is_live(
                row["host"], row["pid"], row["pid_start"], row["boot_id"], row["status"]
            )

    # -- tasks -----------------------------------------------------------------------------------

    def tasks(self, run_id: str) -> list[TaskRecord]:
        """The run's tasks in the order they were added."""
        with self._reading() as conn:
            if conn is None:
                return []
            rows = conn.execute(
                f"SELECT {_TASK_COLUMNS} FROM tasks WHERE run_id = ? ORDER BY position", (run_id,)
            ).fetchall()
            return [_task_record(row) for row in rows]

    def task(self, run_id: str, name: str) -> TaskRecord:
        for record in self.tasks(run_id):
            if record.name == name:
                return record
        raise RunNotFound(f"run {run_id} has no task {name!r}")

    def transitions(self, run_id: str, task: str | None = None) -> list[TransitionRecord]:
        """Every state transition of the run (or of one task), in the order they happened."""
        with self._reading() as conn:
            if conn is None:
                return []
            query = (
                "SELECT seq, run_id, task, attempt, ts, source, target, event, reason"
                " FROM transitions WHERE run_id = ?"
            )
            params: tuple[str, ...] = (run_id,)
            if task is not None:
                query += " AND task = ?"
                params = (run_id, task)
            rows = conn.execute(query + " ORDER BY seq", params).fetchall()
            return [_record(TransitionRecord, row) for row in rows]

    def worktree_tasks(self, *, removed: bool = False) -> list[TaskRecord]:
        """Tasks that ran in a git worktree, newest run first (the ones `worktrees clean` has
        removed only if `removed`)."""
        with self._reading() as conn:
            if conn is None:
                return []
            query = (
                f"SELECT {', '.join('t.' + c for c in _TASK_COLUMNS.split(', '))} FROM tasks t"
                " JOIN runs r ON r.id = t.run_id WHERE t.worktree IS NOT NULL"
            )
            if not removed:
                query += " AND t.worktree_removed IS NULL"
            rows = conn.execute(query + " ORDER BY r.started DESC, r.id DESC, t.position")
            return [_task_record(row) for row in rows.fetchall()]

    def mark_worktree_removed(self, run_id: str, task: str, when: float | None = None) -> None:
        """Record that `worktrees clean` removed the task's worktree (and its branch)."""
        with self._reading() as conn:
            if conn is not None:
                values = (time.time() if when is None else when, run_id, task)
                write_transaction(
                    conn,
                    lambda c: c.execute(
                        "UPDATE tasks SET worktree_removed = ? WHERE run_id = ? AND name = ?",
                        values,
                    ),
                )

    def record_merge(self, run_id: str, task: str, merged: MergeRecord) -> None:
        """Record a merge back of the task's branch (or its push)."""
        with self._reading() as conn:
            if conn is not None:
                m = merged
                values = (run_id, task, m.ts, m.kind, m.branch, m.into, m.commit, m.commits, m.note)
                write_transaction(
                    conn,
                    lambda c: c.execute(
                        "INSERT INTO merges (run_id, task, ts, kind, branch, into_ref, commit_id,"
                        " commits, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        values,
                    ),
                )

    def merges(self, run_id: str) -> list[MergeRecord]:
        """The run's merges back, oldest first."""
        with self._reading() as conn:
            if conn is None:
                return []
            rows = conn.execute(
                "SELECT * FROM merges WHERE run_id = ? ORDER BY ts, rowid", (run_id,)
            ).fetchall()
            return [
                MergeRecord(
                    row["task"],
                    row["ts"],
                    row["kind"],
                    row["branch"],
                    row["into_ref"],
                    row["commit_id"],
                    row["commits"],
                    row["note"],
                )
                for row in rows
            ]

    def attempts(self, run_id: str, task: str | None = None) -> list[AttemptRecord]:
        """The attempts that started (each has its own log), by task then attempt number."""
        with self._reading() as conn:
            if conn is None:
                return []
            query = (
                "SELECT a.run_id, a.task, a.attempt, a.log_path, a.started, a.ended, a.state,"
                " a.exit_code, a.signal, a.duration, a.reason FROM attempts a"
                " LEFT JOIN tasks t ON t.run_id = a.run_id AND t.name = a.task"
                " WHERE a.run_id = ?"
            )
            params: tuple[str, ...] = (run_id,)
            if task is not None:
                query += " AND a.task = ?"
                params = (run_id, task)
            rows = conn.execute(query + " ORDER BY t.position, a.attempt", params).fetchall()
            return [
                _record(
                    AttemptRecord, row, log_path=Path(row["log_path"]) if row["log_path"] else None
                )
                for row in rows
            ]

    def log_paths(self, run_id: str, task: str | None = None) -> dict[str, list[Path]]:
        """Task name -> its log files, one per attempt in attempt order."""
        paths: dict[str, list[Path]] = {}
        for attempt in self.attempts(run_id, task):
            if attempt.log_path is not None:
                paths.setdefault(attempt.task, []).append(attempt.log_path)
        return paths

    def processes(self, run_id: str) -> list[ProcessRecord]:
        with self._reading() as conn:
            if conn is None:
                return []
            rows = conn.execute(
                "SELECT run_id, task, attempt, pid, start_ticks, boot_id, label, started, ended,"
                " node FROM processes WHERE run_id = ? ORDER BY rowid",
                (run_id,),
            ).fetchall()
            return [_record(ProcessRecord, row) for row in rows]

    # -- after a crash ---------------------------------------------------------------------------

    def orphans(self) -> tuple[Orphan, ...]:
        """Process groups of lost runs that are still alive (what `cleanup` stops).

        Recorded processes found gone are marked ended on the way, so they are not looked for
        again.
        """
        with self._reading() as conn:
            if conn is None:
                return ()
            scan = find_orphans(conn)
            close_processes(conn, scan.gone, time.time())
            return scan.orphans

    def remote_attempts(self) -> tuple[RemoteAttempt, ...]:
        """Open attempts of lost runs on cluster nodes (what `cleanup` sweeps there)."""
        with self._reading() as conn:
            return () if conn is None else remote_attempts(conn)

    def mark_swept(self, attempt: RemoteAttempt) -> None:
        """Record that nothing of a remote attempt is left on its node."""
        with self._reading() as conn:
            if conn is not None:
                close_remote_attempt(conn, attempt, time.time())

    def mark_stopped(self, orphan: Orphan) -> None:
        """Record that an orphan's group is gone."""
        with self._reading() as conn:
            if conn is not None:
                close_orphan(conn, orphan, time.time())


def _record(cls: type[R], row: sqlite3.Row, **values: Any) -> R:
    """A record whose fields are named like the row's columns (`values` override or add)."""
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    # A Row iterates over its values; its column names come from keys().
    data = {key: row[key] for key in row.keys() if key in names}  # noqa: SIM118
    data.update(values)
    return cls(**data)


def _run_record(row: sqlite3.Row, counts: dict[str, int]) -> RunRecord:
    return _record(
        RunRecord,
        row,
        argv=tuple(json.loads(row["argv"] or "[]")),
        settings=json.loads(row["settings"] or "{}"),
        counts=counts,
    )


def _task_record(row: sqlite3.Row) -> TaskRecord:
    return _record(
        TaskRecord,
        row,
        spec=json.loads(row["spec"]) if row["spec"] else None,
        state=TaskState(row["state"]),
        agent=_record(AgentFields, row),
        worktree=worktree_record({key: row[key] for key in WORKTREE_COLUMNS}),
    )


__all__ = [
    "LAST",
    "AmbiguousRun",
    "History",
    "RunNotFound",
    "RunStatus",
]
