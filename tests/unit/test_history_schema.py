"""The history schema: migrations from an empty file and from every earlier version, on real SQLite."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from oneshot_tui.store.db import HistoryError, connect
from oneshot_tui.store.history import History
from oneshot_tui.store.schema import LATEST, MIGRATIONS, SchemaTooNew, migrate, version


def schema_of(conn: sqlite3.Connection) -> dict[str, list[tuple[object, ...]]]:
    """Every table's columns (name, type, not-null, default, pk) and every index's columns."""
    shape: dict[str, list[tuple[object, ...]]] = {}
    for kind, name in conn.execute(
        "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name"
    ):
        if kind == "table":
            shape[name] = [tuple(row[1:]) for row in conn.execute(f"PRAGMA table_info({name})")]
        elif kind == "index":
            shape[name] = [tuple(row) for row in conn.execute(f"PRAGMA index_info({name})")]
    return shape


def fresh(path: Path) -> sqlite3.Connection:
    conn = connect(path)
    migrate(conn)
    return conn


def test_an_empty_file_is_migrated_to_the_latest_version(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    path.write_bytes(b"")  # an empty file is a valid, empty SQLite database
    conn = connect(path)
    assert version(conn) == 0
    assert migrate(conn) == LATEST == len(MIGRATIONS)
    assert {"runs", "tasks", "attempts", "transitions", "processes"} <= set(schema_of(conn))
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert migrate(conn) == LATEST  # running it again changes nothing


def test_a_new_file_is_private_to_the_user(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    fresh(path).execute("INSERT INTO runs (id, started, pid) VALUES ('r', 1, 1)")
    assert path.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "history.db-wal").stat().st_mode & 0o777 == 0o600


def _insert_v1_run(conn: sqlite3.Connection) -> None:
    conn.execute(
        "INSERT INTO runs (id, started, status, pid) VALUES ('20260101-000000-abcd', 1.0,"
        " 'finished', 42)"
    )
    conn.execute(
        "INSERT INTO tasks (run_id, name, position, state, spec) VALUES"
        " ('20260101-000000-abcd', 'build', 0, 'completed', '{\"name\":\"build\"}')"
    )
    conn.execute(
        "INSERT INTO transitions (run_id, task, attempt, ts, source, target) VALUES"
        " ('20260101-000000-abcd', 'build', 1, 2.0, 'created', 'running')"
    )


@pytest.mark.parametrize("start", range(LATEST))
def test_every_earlier_version_upgrades_to_the_same_schema_as_a_new_file(
    tmp_path: Path, start: int
) -> None:
    reference = schema_of(fresh(tmp_path / "new.db"))
    conn = connect(tmp_path / "old.db")
    assert migrate(conn, target=start) == start
    if start >= 1:
        _insert_v1_run(conn)
    assert migrate(conn) == LATEST
    assert schema_of(conn) == reference
    if start >= 1:  # and what was there is still there
        rows = conn.execute("SELECT id, status FROM runs").fetchall()
        assert rows == [("20260101-000000-abcd", "finished")]
        task = conn.execute("SELECT name, state, model, cost_usd FROM tasks").fetchone()
        assert task == ("build", "completed", None, None)
        assert conn.execute("SELECT COUNT(*) FROM transitions").fetchone()[0] == 1


def test_a_reader_upgrades_an_old_file_and_reads_it(tmp_path: Path) -> None:
    conn = connect(tmp_path / "history.db")
    migrate(conn, target=1)
    _insert_v1_run(conn)
    conn.close()
    with History.open(tmp_path) as reader:
        (run,) = reader.list_runs()
        assert run.id == "20260101-000000-abcd" and run.counts == {"completed": 1}
        (task,) = reader.tasks(run.id)
        assert task.name == "build" and task.agent.model is None
        assert [t.target for t in reader.transitions(run.id)] == ["running"]
    assert version(connect(tmp_path / "history.db")) == LATEST


def test_a_file_from_a_newer_version_is_not_written(tmp_path: Path) -> None:
    conn = fresh(tmp_path / "history.db")
    conn.execute(f"PRAGMA user_version = {LATEST + 1}")
    with pytest.raises(SchemaTooNew, match="newer oneshot-tui"):
        migrate(conn)
    # Readers still read what they know.
    with History.open(tmp_path) as reader:
        assert reader.list_runs() == []


def test_two_connections_migrating_at_once_end_at_the_latest_version(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    first, second = connect(path), connect(path)
    assert migrate(first, target=1) == 1
    assert migrate(second) == LATEST  # sees step 1 done, applies only what is missing
    assert migrate(first) == LATEST


@pytest.mark.parametrize(
    "content",
    [b"this is not a database, just some text\n" * 100, b"SQLite format 3\x00" + b"\xff" * 4000],
)
def test_a_damaged_file_is_reported_clearly(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "history.db").write_bytes(content)
    with pytest.raises(HistoryError, match=r"history\.db is damaged .*move it aside"):
        History.open(tmp_path)


def test_a_missing_file_is_an_empty_history_and_is_not_created(tmp_path: Path) -> None:
    with History.open(tmp_path) as reader:
        assert reader.list_runs() == []
    assert not (tmp_path / "history.db").exists()


def test_tasks_from_before_worktrees_read_as_tasks_without_one(tmp_path: Path) -> None:
    conn = connect(tmp_path / "history.db")
    migrate(conn, target=2)
    _insert_v1_run(conn)
    conn.execute("UPDATE tasks SET model = 'sonnet', cost_usd = 0.25")
    conn.close()
    with History.open(tmp_path) as reader:
        (task,) = reader.tasks("20260101-000000-abcd")
        assert task.worktree is None and task.result().worktree is None
        assert (task.agent.model, task.agent.cost_usd) == ("sonnet", 0.25)
        assert reader.worktree_tasks() == []
    conn = connect(tmp_path / "history.db")
    assert version(conn) == LATEST
    row = conn.execute("SELECT branch, base_commit, final_commit FROM tasks").fetchone()
    assert row == (None, None, None)


def test_processes_from_before_nodes_read_as_this_machines_and_runs_as_local(
    tmp_path: Path,
) -> None:
    conn = connect(tmp_path / "history.db")
    migrate(conn, target=5)
    _insert_v1_run(conn)
    conn.execute(
        "INSERT INTO processes (run_id, task, attempt, pid, started) VALUES"
        " ('20260101-000000-abcd', 'build', 1, 4242, 1.5)"
    )
    conn.close()
    with History.open(tmp_path) as reader:
        (process,) = reader.processes("20260101-000000-abcd")
        assert (process.pid, process.node) == (4242, "")
        assert reader.run("20260101-000000-abcd").ray_address is None
        assert reader.remote_attempts() == ()
    conn = connect(tmp_path / "history.db")
    assert version(conn) == LATEST
    columns = {row[1]: row[2:5] for row in conn.execute("PRAGMA table_info(processes)")}
    assert columns["node"] == ("TEXT", 1, "''")
    assert conn.execute("SELECT ray_address FROM runs").fetchall() == [(None,)]
