"""Reading the history: the API behind `history`, `show`, `logs`, `rerun` and a TUI history screen.

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
from pathlib import Path
from typing import Any

from oneshot_tui.core.states import TaskState
from oneshot_tui.store.db import HistoryError, connect, explain, write_transaction
from oneshot_tui.store.paths import history_db_path
from oneshot_tui.store.records import (
    AgentFields,
    AttemptRecord,
    ProcessRecord,
    RunRecord,
    RunStatus,
    TaskRecord,
    TransitionRecord,
)
from oneshot_tui.store.recovery import (
    Orphan,
    close_orphan,
    close_processes,
    find_orphans,
    is_live,
    recover_lost_runs,
)
from oneshot_tui.store.schema import SchemaTooNew, migrate
from oneshot_tui.store.worktree_fields import COLUMNS as WORKTREE_COLUMNS
from oneshot_tui.store.worktree_fields import worktree_record

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
    " settings, log_dir, host, pid, rerun_of"
)
_TASK_COLUMNS = (
    "run_id, name, position, kind, command, spec, state, reason, exit_code, signal, attempts,"
    " started, ended, duration, log_path, executor, model, iterations, verdict, input_tokens,"
    " output_tokens, cost_usd, agent_session_id, " + ", ".join(WORKTREE_COLUMNS)
)


class HistoryReader:
    """Read access to `DATA_DIR/history.db`. Open with `HistoryReader.open(data_dir)`.

    Opening also notices runs whose process died (they become `lost`), so what a reader shows
    is never a crashed run pretending to be live.
    """

    def __init__(self, conn: sqlite3.Connection | None, path: Path) -> None:
        self._conn = conn
        self.path = path
        self.lost: list[str] = []
        """Runs found lost when this reader opened the file."""

    @classmethod
    def open(cls, data_dir: Path) -> HistoryReader:
        """Raises HistoryError if the file exists but cannot be read. A missing file is an
        empty history."""
        path = history_db_path(data_dir)
        if not path.exists():
            return cls(None, path)
        conn = connect(path, create=False)
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

    def __enter__(self) -> HistoryReader:
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
            counts: dict[str, dict[str, int]] = {row[0]: {} for row in rows}
            for run_id, state, n in conn.execute(
                "SELECT t.run_id, t.state, COUNT(*) FROM tasks t WHERE t.run_id IN"
                " (SELECT id FROM runs ORDER BY started DESC, id DESC LIMIT ?)"
                " GROUP BY t.run_id, t.state",
                (-1 if limit is None else limit,),
            ):
                if run_id in counts:
                    counts[run_id][state] = n
            return [_run_record(row, counts[row[0]]) for row in rows]

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
                return str(row[0])
            if not ref:
                raise RunNotFound("give a run id, a prefix of one, or 'last'")
            exact = conn.execute("SELECT id FROM runs WHERE id = ?", (ref,)).fetchone()
            if exact is not None:
                return str(exact[0])
            pattern = ref.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            matches = [
                str(r[0])
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
            return row is not None and is_live(*row)

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
            return [TransitionRecord(*row) for row in rows]

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
                AttemptRecord(row[0], row[1], row[2], Path(row[3]) if row[3] else None, *row[4:])
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
                "SELECT run_id, task, attempt, pid, start_ticks, boot_id, label, started, ended"
                " FROM processes WHERE run_id = ? ORDER BY rowid",
                (run_id,),
            ).fetchall()
            return [ProcessRecord(*row) for row in rows]

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

    def mark_stopped(self, orphan: Orphan) -> None:
        """Record that an orphan's group is gone."""
        with self._reading() as conn:
            if conn is not None:
                close_orphan(conn, orphan, time.time())


def _run_record(row: tuple[Any, ...], counts: dict[str, int]) -> RunRecord:
    return RunRecord(
        id=row[0],
        started=row[1],
        ended=row[2],
        status=row[3],
        exit_code=row[4],
        signal=row[5],
        argv=tuple(json.loads(row[6] or "[]")),
        cwd=row[7],
        task_file=row[8],
        task_file_sha256=row[9],
        settings=json.loads(row[10] or "{}"),
        log_dir=row[11],
        host=row[12],
        pid=row[13],
        rerun_of=row[14],
        counts=counts,
    )


def _task_record(row: tuple[Any, ...]) -> TaskRecord:
    return TaskRecord(
        run_id=row[0],
        name=row[1],
        position=row[2],
        kind=row[3],
        command=row[4],
        spec=json.loads(row[5]) if row[5] else None,
        state=TaskState(row[6]),
        reason=row[7],
        exit_code=row[8],
        signal=row[9],
        attempts=row[10],
        started=row[11],
        ended=row[12],
        duration=row[13],
        log_path=row[14],
        agent=AgentFields(*row[15:23]),
        worktree=worktree_record(row[23 : 23 + len(WORKTREE_COLUMNS)]),
    )


__all__ = [
    "LAST",
    "AmbiguousRun",
    "HistoryReader",
    "RunNotFound",
    "RunStatus",
]
