"""The history recorder on a real orchestrator, real child processes and a real SQLite file."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import replace
from pathlib import Path

import anyio

from oneshot_tui.core.events import Activity, Event, ProcessStarted, RunStarted, StateChanged
from oneshot_tui.core.spec import RunSettings, TaskPolicy, TaskSpec
from oneshot_tui.core.states import TaskState as S
from oneshot_tui.orchestrator import Orchestrator
from oneshot_tui.store.db import HistoryError, connect
from oneshot_tui.store.history import History
from oneshot_tui.store.history_data import RunOrigin
from oneshot_tui.store.live_recorder import record_history, recorder_for
from oneshot_tui.store.paths import history_db_path
from oneshot_tui.store.procinfo import (
    ProcessIdentity,
    boot_id,
    host_name,
    identify,
    own_group_members,
)
from oneshot_tui.store.recovery import RemoteAttempt
from oneshot_tui.store.run_writer import Batch, RunWriter
from oneshot_tui.store.schema import migrate
from oneshot_tui.store.specs import spec_from_json
from tests.fakes import fake
from tests.helpers import Watcher, pid_alive, py

FAST = RunSettings(max_concurrent=4, heartbeat_interval=0)


def transitions_seen(watcher: Watcher) -> list[tuple[str, int, str, str, str]]:
    return [
        (e.task_id, e.attempt, str(e.source), str(e.target), e.reason)
        for e in watcher.all()
        if isinstance(e, StateChanged)
    ]


async def until_recorded(data_dir: Path, check: Callable[[History], bool]) -> None:
    """Wait until the history file shows what `check` looks for."""
    with anyio.fail_after(20):
        while True:
            with History.open(data_dir) as reader, suppress(HistoryError, IndexError):
                if check(reader):
                    return
            await anyio.sleep(0.02)


async def test_a_run_is_recorded_as_it_happened(data_dir: Path) -> None:
    specs = [
        TaskSpec("ok", py("-c", "print('fine')"), env={"GREETING": "hi"}),
        TaskSpec("bad", "echo broken >&2; exit 3", policy=TaskPolicy(grace=1.5)),
        TaskSpec("gone", "exec /nonexistent/program"),
    ]
    orch = Orchestrator(specs, FAST, data_dir=data_dir)
    watcher = Watcher(orch.bus)
    origin = RunOrigin(("oneshot-tui", "run", "x.toml"), "/somewhere", "/somewhere/x.toml", "ab")
    warnings: list[str] = []
    async with record_history(orch, origin, warn=warnings.append):
        result = await orch.run()
    assert warnings == []
    with History.open(data_dir) as reader:
        (run,) = reader.list_runs()
        assert run.id == orch.run_id and run.status == "finished"
        assert run.exit_code == result.exit_code == 1
        assert run.argv == origin.argv and run.cwd == "/somewhere"
        assert run.task_file == "/somewhere/x.toml" and run.task_file_sha256 == "ab"
        assert run.log_dir == str(orch.log_dir)
        assert run.counts == {"completed": 1, "failed": 2}
        assert run.ended is not None and run.ended >= run.started
        recorded = [
            (t.task, t.attempt, t.source, t.target, t.reason) for t in reader.transitions(run.id)
        ]
        assert recorded == transitions_seen(watcher)
        tasks = {t.name: t for t in reader.tasks(run.id)}
        assert [t.name for t in reader.tasks(run.id)] == ["ok", "bad", "gone"]
        for r in result.results:
            task = tasks[r.task_id]
            assert task.result() == r
        assert tasks["bad"].exit_code == 3 and tasks["bad"].reason == "exit 3"
        assert tasks["ok"].spec is not None
        assert spec_from_json(dict(tasks["ok"].spec)) == specs[0]
        assert spec_from_json(dict(tasks["bad"].spec or {})) == specs[1]
        logs = reader.log_paths(run.id)
        assert logs["ok"] == [orch.log_dir / "ok.log"]
        assert (orch.log_dir / "ok.log").read_bytes() == b"fine\n"
        processes = reader.processes(run.id)
        started = [e for e in watcher.all() if isinstance(e, ProcessStarted)]
        assert sorted(p.pid for p in processes) == sorted(e.pid for e in started)
        assert all(p.ended is not None for p in processes)


async def test_restarts_and_a_run_kept_open_are_recorded(data_dir: Path) -> None:
    """The TUI keeps a run open: it settles (RunFinished), then a restart brings it back."""
    marker = data_dir / "second-time"
    spec = TaskSpec("flaky", f"test -f {marker} || {{ touch {marker}; exit 1; }}")
    orch = Orchestrator([spec], FAST, data_dir=data_dir)
    watcher = Watcher(orch.bus)
    async with record_history(orch, warn=lambda m: None), anyio.create_task_group() as tg:
        tg.start_soon(lambda: orch.run(stay_open=True))
        await watcher.wait_state("flaky", S.FAILED)
        await until_recorded(data_dir, lambda r: r.run(orch.run_id).status == "finished")
        assert orch.restart("flaky")
        await watcher.wait_state("flaky", S.COMPLETED)
        orch.shutdown()
    with History.open(data_dir) as reader:
        (run,) = reader.list_runs()
        assert run.status == "finished" and run.exit_code == 0
        (task,) = reader.tasks(run.id)
        assert task.state is S.COMPLETED and task.attempts == 2
        assert [(t.attempt, t.target) for t in reader.transitions(run.id)] == [
            (1, "running"),
            (1, "failed"),
            (2, "created"),
            (2, "running"),
            (2, "completed"),
        ]
        attempts = reader.attempts(run.id, "flaky")
        assert [(a.attempt, a.state) for a in attempts] == [(1, "failed"), (2, "completed")]
        assert [p.name for p in reader.log_paths(run.id)["flaky"]] == ["flaky.log", "flaky.2.log"]


async def test_agent_fields_come_from_activity(data_dir: Path) -> None:
    spec = TaskSpec("agent", py(fake("quiet.py"), "ready"), kind="agent")
    orch = Orchestrator([spec], FAST, data_dir=data_dir)
    watcher = Watcher(orch.bus)
    async with record_history(orch), anyio.create_task_group() as tg:
        tg.start_soon(orch.run)
        await watcher.wait_state("agent", S.RUNNING)
        await until_recorded(data_dir, lambda r: bool(r.processes(orch.run_id)))
        now = time.time()
        for data in (
            {"executor": "claude", "model": "opus", "session_id": "s-1", "iteration": 1},
            {"input_tokens": 1200, "output_tokens": 300, "total_cost_usd": 0.25},
            {"iteration": 3},
            {"iteration": 2, "verdict": "DONE", "unknown_key": [1, 2]},
        ):
            orch.bus.publish(Activity("agent", 1, now, "usage", "", data))
        # Written while the task runs, not only at the end.
        await until_recorded(data_dir, lambda r: r.tasks(orch.run_id)[0].agent.verdict == "DONE")
        orch.interrupt("agent")
    with History.open(data_dir) as reader:
        (task,) = reader.tasks(orch.run_id)
        agent = task.agent
        assert (agent.executor, agent.model, agent.agent_session_id) == ("claude", "opus", "s-1")
        assert (agent.input_tokens, agent.output_tokens, agent.cost_usd) == (1200, 300, 0.25)
        assert agent.iterations == 3 and agent.verdict == "DONE"
        assert task.kind == "agent" and task.state is S.INTERRUPTED
        (process,) = reader.processes(orch.run_id)
        assert process.start_ticks is not None and process.boot_id == boot_id()


async def test_a_damaged_history_warns_and_the_run_keeps_its_output(data_dir: Path) -> None:
    history_db_path(data_dir).write_bytes(b"not a database at all\n" * 200)
    orch = Orchestrator([TaskSpec("t", "printf 'kept\\n'")], FAST, data_dir=data_dir)
    warnings: list[str] = []
    async with record_history(orch, warn=warnings.append):
        result = await orch.run()
    assert result.exit_code == 0
    assert (orch.log_dir / "t.log").read_bytes() == b"kept\n"
    (warning,) = warnings
    assert "history.db is damaged" in warning and orch.run_id in warning
    assert str(orch.log_dir) in warning
    try:
        History.open(data_dir)
    except HistoryError as exc:
        assert "damaged" in str(exc)
    else:
        raise AssertionError("a damaged file must not read as a history")


async def test_a_locked_database_never_holds_up_the_run(data_dir: Path) -> None:
    """Another process holds the write lock for the whole run: the tasks run to their end
    regardless, and everything is written once the lock is released."""
    blocker = connect(history_db_path(data_dir))
    migrate(blocker)
    blocker.execute("BEGIN IMMEDIATE")
    specs = [TaskSpec(f"t{i}", f"echo {i}") for i in range(6)]
    orch = Orchestrator(specs, FAST, data_dir=data_dir)
    watcher = Watcher(orch.bus)
    warnings: list[str] = []
    async with record_history(orch, warn=warnings.append):
        result = await orch.run()
        assert result.exit_code == 0  # finished while the history was locked
        blocker.execute("COMMIT")
    blocker.close()
    assert warnings == []
    with History.open(data_dir) as reader:
        recorded = [
            (t.task, t.attempt, t.source, t.target, t.reason)
            for t in reader.transitions(orch.run_id)
        ]
        assert recorded == transitions_seen(watcher)
        assert reader.run(orch.run_id).counts == {"completed": 6}


async def test_two_runs_at_once_on_one_data_dir_both_record_everything(data_dir: Path) -> None:
    runs: list[tuple[Orchestrator, Watcher]] = []
    warnings: list[str] = []

    async def one(n: int) -> None:
        specs = [TaskSpec(f"r{n}-{i}", f"echo {i}") for i in range(25)]
        orch = Orchestrator(specs, RunSettings(max_concurrent=8), data_dir=data_dir)
        watcher = Watcher(orch.bus)
        runs.append((orch, watcher))
        async with record_history(orch, warn=warnings.append):
            await orch.run()

    async with anyio.create_task_group() as tg:
        tg.start_soon(one, 1)
        tg.start_soon(one, 2)
    assert warnings == []
    with History.open(data_dir) as reader:
        assert len(reader.list_runs()) == 2
        for orch, watcher in runs:
            recorded = [
                (t.task, t.attempt, t.source, t.target, t.reason)
                for t in reader.transitions(orch.run_id)
            ]
            assert recorded == transitions_seen(watcher)
            assert reader.run(orch.run_id).counts == {"completed": 25}


def _dead_process_identity() -> tuple[int, int]:
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    identity = identify(child.pid)
    assert identity is not None
    assert child.stdin is not None
    child.stdin.close()
    child.wait()
    return identity.pid, identity.start_ticks


def _insert_live_run(
    data_dir: Path,
    run_id: str,
    pid: int,
    start: int,
    host: str | None = None,
    boot: str | None = None,
) -> None:
    conn = connect(history_db_path(data_dir))
    migrate(conn)
    conn.execute(
        "INSERT INTO runs (id, started, status, host, pid, pid_start, boot_id)"
        " VALUES (?, 1.0, 'live', ?, ?, ?, ?)",
        (run_id, host or host_name(), pid, start, boot or boot_id()),
    )
    for position, (name, state) in enumerate(
        [("done", "completed"), ("busy", "running"), ("queued", "created")]
    ):
        conn.execute(
            "INSERT INTO tasks (run_id, name, position, state) VALUES (?, ?, ?, ?)",
            (run_id, name, position, state),
        )
    conn.close()


def test_a_run_whose_process_died_is_marked_lost(data_dir: Path) -> None:
    pid, start = _dead_process_identity()
    _insert_live_run(data_dir, "dead-run", pid, start)
    me = identify(os.getpid())
    assert me is not None
    _insert_live_run(data_dir, "my-run", me.pid, me.start_ticks)
    _insert_live_run(data_dir, "elsewhere", pid, start, host="another-machine")
    # Same pid as a live process (us), but another start time: a recycled pid, so dead.
    _insert_live_run(data_dir, "recycled", me.pid, me.start_ticks - 1)
    # Our very pid and start time, but recorded before a reboot (power loss): dead.
    _insert_live_run(data_dir, "rebooted", me.pid, me.start_ticks, boot="an-earlier-boot")
    with History.open(data_dir) as reader:
        assert sorted(reader.lost) == ["dead-run", "rebooted", "recycled"]
        status = {r.id: r.status for r in reader.list_runs()}
        assert status == {
            "dead-run": "lost",
            "recycled": "lost",
            "rebooted": "lost",
            "my-run": "live",
            "elsewhere": "live",
        }
        states = {t.name: (str(t.state), t.reason) for t in reader.tasks("dead-run")}
        assert states == {
            "done": ("completed", ""),
            "busy": ("failed", "lost"),
            "queued": ("failed", "lost"),
        }
        lost = [(t.task, t.source, t.target, t.reason) for t in reader.transitions("dead-run")]
        assert lost == [
            ("busy", "running", "failed", "lost"),
            ("queued", "created", "failed", "lost"),
        ]
        assert reader.run("dead-run").duration(time.time()) is None
    with History.open(data_dir) as again:
        assert again.lost == []  # noticed once


def test_orphans_are_found_by_identity_and_stopped_as_a_group(data_dir: Path) -> None:
    from oneshot_tui.cli.cleanup import stop_group

    pid, start = _dead_process_identity()
    _insert_live_run(data_dir, "crashed", pid, start)
    leader = subprocess.Popen(
        [sys.executable, fake("stubborn.py")],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert leader.stdout is not None
    pids = {int(leader.stdout.readline().split()[1]) for _ in range(2)}
    identity = identify(leader.pid)
    assert identity is not None
    conn = connect(history_db_path(data_dir))
    rows = [
        ("busy", leader.pid, identity.start_ticks),  # ours: the very process we started
        ("queued", leader.pid, identity.start_ticks + 1),  # same pid, another process: not ours
    ]
    for task, p, ticks in rows:
        conn.execute(
            "INSERT INTO processes (run_id, task, attempt, pid, start_ticks, boot_id, started)"
            " VALUES ('crashed', ?, 1, ?, ?, ?, 1.0)",
            (task, p, ticks, boot_id()),
        )
    conn.close()
    try:
        with History.open(data_dir) as reader:
            (orphan,) = reader.orphans()
            assert orphan.task == "busy" and orphan.pgid == leader.pid
            assert {m.pid for m in orphan.members} == pids
            assert stop_group(orphan, grace=0.2) == []
            leader.wait(timeout=10)
            assert not any(pid_alive(p) for p in pids)
            assert own_group_members(orphan.leader) == []
            reader.mark_stopped(orphan)
            assert reader.orphans() == ()
    finally:
        for p in pids:
            if pid_alive(p):
                os.kill(p, signal.SIGKILL)
        leader.stdout.close()
        leader.wait(timeout=10)


def test_a_process_on_a_cluster_node_is_recorded_with_its_node_and_left_to_a_node_sweep(
    data_dir: Path,
) -> None:
    settings = RunSettings(backend="ray", ray_address="10.9.8.7:6379")
    orch = Orchestrator([TaskSpec("remote", "sleep 1")], settings, data_dir=data_dir)
    pid, start = _dead_process_identity()
    info = replace(recorder_for(orch).info, owner=ProcessIdentity(pid, start, boot_id()))
    assert info.ray_address == "10.9.8.7:6379"  # what the run connects to, for `cleanup`
    run = info.run_id
    conn = connect(history_db_path(data_dir))
    migrate(conn)
    events: list[Event] = [
        RunStarted(run, 1.0, str(data_dir), ("remote",), 1),
        # Two processes of one attempt on a node, the next attempt on another node. The pid is
        # ours, alive on this machine, and even identified as ours (the recorder never does
        # that for a node's pid): still never taken for a local process.
        ProcessStarted("remote", 1, os.getpid(), 2.0, "a.log", node="10.1.2.3"),
        ProcessStarted("remote", 1, os.getpid(), 2.5, "a.log", label="x", node="10.1.2.3"),
        ProcessStarted("remote", 2, os.getpid(), 3.0, "b.log", node="10.1.2.4"),
    ]
    RunWriter(conn, info).write(Batch(events, {}, {os.getpid(): identify(os.getpid())}))
    conn.close()
    with History.open(data_dir) as reader:
        assert reader.lost == [run]
        assert [p.node for p in reader.processes(run)] == ["10.1.2.3", "10.1.2.3", "10.1.2.4"]
        assert reader.run(run).ray_address == "10.9.8.7:6379"
        assert reader.orphans() == ()
        first, second = reader.remote_attempts()
        assert first == RemoteAttempt(run, "remote", 1, "10.1.2.3", "10.9.8.7:6379")
        assert (second.attempt, second.node) == (2, "10.1.2.4")
        assert first.marker == f"{run}/remote/1"
        reader.mark_swept(first)
        assert reader.remote_attempts() == (second,)
    with History.open(data_dir) as again:  # the swept attempt is closed for good
        assert again.remote_attempts() == (second,)
        assert [p.ended is None for p in again.processes(run)] == [False, False, True]


def test_history_rows_survive_a_reader_while_a_writer_is_mid_transaction(data_dir: Path) -> None:
    """WAL: a reader sees the last committed state while a writer holds its lock."""
    conn = connect(history_db_path(data_dir))
    migrate(conn)
    conn.execute("INSERT INTO runs (id, started, status, pid) VALUES ('a', 1, 'finished', 1)")
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO runs (id, started, status, pid) VALUES ('b', 2, 'finished', 1)")
    try:
        with History.open(data_dir) as reader:
            assert [r.id for r in reader.list_runs()] == ["a"]
    finally:
        conn.execute("COMMIT")
    with History.open(data_dir) as reader:
        assert [r.id for r in reader.list_runs()] == ["b", "a"]
    assert isinstance(conn, sqlite3.Connection)


async def test_a_run_left_open_after_its_tasks_ended_is_timed_to_its_last_task(
    data_dir: Path,
) -> None:
    """The TUI stays open on the results until q: that wait is not the run's time."""
    from oneshot_tui.core.clock import FakeClock

    clock = FakeClock()
    spec = TaskSpec("quick", py("-c", "print('done')"))
    orch = Orchestrator([spec], FAST, data_dir=data_dir, clock=clock)
    origin = RunOrigin(("oneshot-tui", "run"), "/somewhere", None, None)
    async with record_history(orch, origin, warn=lambda _w: None), anyio.create_task_group() as tg:
        tg.start_soon(lambda: orch.run(stay_open=True))
        await until_recorded(data_dir, lambda r: r.tasks(orch.run_id)[0].state == "completed")
        clock.advance(600)  # ten minutes looking at the results
        orch.shutdown("quit")
    with History.open(data_dir) as reader:
        (run,) = reader.list_runs()
        took = run.duration(clock.time())
        assert took is not None and took < 60, took
