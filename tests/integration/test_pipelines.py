"""Pipelines on real child processes: `depends_on` with its conditions, readiness, failure
propagation, the concurrency limit while tasks wait, and restart policies with their backoff on
an injected clock."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import anyio
import pytest

from oneshot_tui.core.clock import FakeClock
from oneshot_tui.core.events import (
    ProcessStarted,
    RetryScheduled,
    StateChanged,
    TaskReady,
    TaskWaiting,
)
from oneshot_tui.core.spec import RunSettings, TaskPolicy, TaskSpec
from oneshot_tui.core.states import TaskState as S
from oneshot_tui.orchestrator import Orchestrator
from oneshot_tui.orchestrator.orchestrator import restart_delay
from tests.fakes import fake
from tests.helpers import Watcher, cli_argv, py, run_recorded

MANUAL = RunSettings(max_concurrent=8, heartbeat_interval=0)
"""No heartbeat loop: tests call `tick()` themselves after moving a fake clock."""


def _started(watcher: Watcher, task_id: str) -> list[ProcessStarted]:
    return [e for e in watcher.all() if isinstance(e, ProcessStarted) and e.task_id == task_id]


def _waiting(watcher: Watcher, task_id: str) -> list[str]:
    return [e.on for e in watcher.all() if isinstance(e, TaskWaiting) and e.task_id == task_id]


def test_json_timestamps_order_a_pipeline_and_a_dependant_sees_what_it_made(
    tmp_path: Path,
) -> None:
    (tmp_path / "tasks.toml").write_text(
        textwrap.dedent(
            """
            [[task]]
            name = "test"
            command = "cat built.txt"
            depends_on = ["build"]

            [[task]]
            name = "build"
            command = "sleep 0.3; echo artefact > built.txt"

            [[task]]
            name = "report"
            command = "echo done"
            depends_on = { test = "completed", build = "started" }
            """
        )
    )
    proc = subprocess.run(
        [*cli_argv(), "run", "tasks.toml", "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]

    def ts(task: str, event: str, **match: str) -> float:
        return next(
            float(e["ts"])
            for e in events
            if e["task"] == task
            and e["event"] == event
            and all(e.get(k) == v for k, v in match.items())
        )

    assert ts("build", "exit") <= ts("test", "state", to="running")
    assert ts("test", "exit") <= ts("report", "state", to="running")
    waiting = [e["on"] for e in events if e["event"] == "waiting" and e["task"] == "test"]
    assert waiting == ["build (completed)", ""]  # then no longer waiting
    output = [e["line"] for e in events if e["event"] == "output" and e["task"] == "test"]
    assert output == ["artefact"]


async def test_a_client_starts_once_a_real_server_says_it_is_listening(
    data_dir: Path, tmp_path: Path
) -> None:
    port_file = tmp_path / "port"
    server = TaskSpec("server", py(fake("slow_server.py"), "0.5", str(port_file)))
    server = replace(server, ready_line=r"listening on \d+")
    client = TaskSpec("client", py(fake("client.py"), str(port_file)))
    client = replace(client, depends_on={"server": "ready"})
    orch = Orchestrator([client, server], RunSettings(), data_dir=data_dir)
    result, watcher = await run_recorded(orch)
    assert result.exit_code == 0, [r.reason for r in result.results]
    assert "hello from the server" in watcher.output_text("client")
    [ready] = [e for e in watcher.all() if isinstance(e, TaskReady)]
    assert ready.task_id == "server" and "listening on" in ready.reason
    events = watcher.all()
    assert events.index(ready) < events.index(_started(watcher, "client")[0])
    # The server was still running (not completed) when its dependant started.
    server_end = next(
        e
        for e in events
        if isinstance(e, StateChanged) and e.task_id == "server" and e.target.ended
    )
    assert events.index(_started(watcher, "client")[0]) < events.index(server_end)


async def test_ready_after_counts_on_the_runs_clock(data_dir: Path) -> None:
    clock = FakeClock()
    server = replace(TaskSpec("db", py(fake("quiet.py"), "up")), ready_after=5.0)
    client = replace(TaskSpec("app", py("-c", "print('connected')")), depends_on={"db": "ready"})
    orch = Orchestrator([server, client], MANUAL, data_dir=data_dir, clock=clock)
    watcher = Watcher(orch.bus)
    async with anyio.create_task_group() as tg:
        tg.start_soon(orch.run)
        await watcher.wait_until(lambda _: _waiting(watcher, "app") == ["db (ready)"])
        await watcher.wait_until(lambda _: orch.tasks["db"].state is S.RUNNING)
        clock.advance(4.9)
        orch.tick()
        assert not orch.tasks["db"].ready and orch.tasks["app"].state is S.CREATED
        clock.advance(0.1)
        orch.tick()
        ready = await watcher.wait_for_a(TaskReady)
        assert ready.reason == "running for 5.0s"
        await watcher.wait_state("app", S.COMPLETED)
        orch.interrupt("db")
    assert orch.tasks["app"].state is S.COMPLETED


async def test_a_failed_dependency_fails_its_dependants_without_starting_them(
    data_dir: Path,
) -> None:
    specs = [
        TaskSpec("build", py("-c", "raise SystemExit(3)")),
        replace(TaskSpec("test", py("-c", "print('never')")), depends_on={"build": "completed"}),
        replace(TaskSpec("deploy", py("-c", "print('never')")), depends_on={"test": "completed"}),
        replace(
            TaskSpec(
                "cleanup",
                py("-c", "print('cleaned')"),
                policy=TaskPolicy(on_dependency_failure="run"),
            ),
            depends_on={"build": "completed"},
        ),
    ]
    orch = Orchestrator(specs, RunSettings(), data_dir=data_dir)
    result, watcher = await run_recorded(orch)
    by_name = {r.task_id: r for r in result.results}
    assert result.exit_code == 1
    assert by_name["test"].state is S.FAILED
    assert by_name["test"].reason == "dependency build failed"
    assert by_name["deploy"].reason == "dependency test failed"
    assert not _started(watcher, "test") and not _started(watcher, "deploy")
    assert by_name["cleanup"].state is S.COMPLETED
    assert "cleaned" in watcher.output_text("cleanup")


async def test_an_interrupted_dependency_fails_what_waits_for_it(data_dir: Path) -> None:
    server = TaskSpec("server", py(fake("quiet.py"), "up"))
    client = replace(TaskSpec("client", py("-c", "print('x')")), depends_on={"server": "completed"})
    orch = Orchestrator([server, client], RunSettings(), data_dir=data_dir)
    watcher = Watcher(orch.bus)
    async with anyio.create_task_group() as tg:
        tg.start_soon(orch.run)
        await watcher.wait_until(lambda _: orch.tasks["server"].state is S.RUNNING)
        await watcher.wait_until(lambda _: _waiting(watcher, "client") == ["server (completed)"])
        assert orch.in_use == 1  # the waiting task holds no slot
        orch.interrupt("server")
        await watcher.wait_state("client", S.FAILED)
    assert orch.tasks["client"].reason == "dependency server failed"


async def test_a_waiting_task_takes_no_slot_under_the_limit(data_dir: Path) -> None:
    # With one slot, a dependant queued first would hold it forever if waiting took a slot.
    specs = [
        replace(TaskSpec("second", py("-c", "print(2)")), depends_on={"first": "completed"}),
        TaskSpec("first", py("-c", "print(1)")),
        TaskSpec("other", py("-c", "print(3)")),
    ]
    orch = Orchestrator(specs, RunSettings(max_concurrent=1), data_dir=data_dir)
    with anyio.fail_after(30):
        result, watcher = await run_recorded(orch)
    assert result.exit_code == 0
    running = 0
    for e in watcher.all():
        if isinstance(e, StateChanged):
            running += 1 if e.target.active else -1 if e.source.active else 0
            assert running <= 1


async def test_a_task_added_live_may_depend_on_one_that_runs(data_dir: Path) -> None:
    first = TaskSpec("first", py(fake("quiet.py"), "up"))
    orch = Orchestrator([first], RunSettings(), data_dir=data_dir)
    watcher = Watcher(orch.bus)
    async with anyio.create_task_group() as tg:
        tg.start_soon(orch.run)
        await watcher.wait_until(lambda _: "up" in watcher.output_text("first"))
        with pytest.raises(ValueError, match="no such task"):
            orch.add(replace(TaskSpec("bad", ("true",)), depends_on={"nobody": "completed"}))
        orch.add(
            replace(
                TaskSpec("later", py("-c", "print('after')")), depends_on={"first": "completed"}
            )
        )
        await watcher.wait_for_a(TaskWaiting, lambda e: e.task_id == "later" and bool(e.on))
        assert orch.tasks["later"].state is S.CREATED
        os.kill(orch.tasks["first"].child.pid, signal.SIGUSR2)  # type: ignore[union-attr]
        await watcher.wait_state("later", S.COMPLETED)


# -- restart policies ----------------------------------------------------------------------------


def test_the_backoff_doubles_from_one_second_up_to_its_cap() -> None:
    assert [restart_delay(n, 10.0) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


async def test_on_failure_restarts_after_a_backoff_on_the_injected_clock(data_dir: Path) -> None:
    clock = FakeClock()
    policy = TaskPolicy(restart="on-failure", max_restarts=2, restart_backoff=1.5)
    spec = TaskSpec("flaky", py("-c", "raise SystemExit(1)"), policy=policy)
    orch = Orchestrator([spec], MANUAL, data_dir=data_dir, clock=clock)
    watcher = Watcher(orch.bus)
    async with anyio.create_task_group() as tg:
        tg.start_soon(orch.run)
        first = await watcher.wait_for_a(RetryScheduled)
        assert (first.restart, first.delay, first.retry, first.retries) == (True, 1.0, 1, 2)
        assert orch.tasks["flaky"].state is S.CREATED and orch.in_use == 0
        await anyio.sleep(0.3)  # real time passes; the run's clock does not
        assert len(_started(watcher, "flaky")) == 1
        clock.advance(1.0)
        second = await watcher.wait_for_a(RetryScheduled)
        assert len(_started(watcher, "flaky")) == 2
        assert second.delay == 1.5  # 2 s, capped by restart_backoff
        clock.advance(1.5)
        await watcher.wait_for(
            lambda e: isinstance(e, StateChanged) and e.attempt == 3 and e.target is S.FAILED
        )
    assert orch.tasks["flaky"].attempt == 3  # max_restarts = 2: no fourth attempt
    assert len(_started(watcher, "flaky")) == 3


async def test_always_restarts_a_completed_task_but_never_one_the_user_stopped(
    data_dir: Path,
) -> None:
    clock = FakeClock()
    always = TaskPolicy(restart="always", max_restarts=5, restart_backoff=1.0)
    specs = [
        TaskSpec("beat", py("-c", "print('tick')"), policy=always),
        TaskSpec("server", py(fake("quiet.py"), "up"), policy=always),
    ]
    orch = Orchestrator(specs, MANUAL, data_dir=data_dir, clock=clock)
    watcher = Watcher(orch.bus)
    async with anyio.create_task_group() as tg:
        tg.start_soon(orch.run)
        await watcher.wait_for_a(RetryScheduled, lambda e: e.task_id == "beat")
        clock.advance(1.0)
        await watcher.wait_for(
            lambda e: (
                isinstance(e, StateChanged)
                and e.task_id == "beat"
                and e.attempt == 2
                and e.target is S.COMPLETED
            )
        )
        await watcher.wait_until(lambda _: orch.tasks["server"].state is S.RUNNING)
        orch.interrupt("server")
        await watcher.wait_state("server", S.INTERRUPTED)
        clock.advance(100)
        await anyio.sleep(0.3)
        orch.shutdown()
    assert orch.tasks["server"].attempt == 1
    assert orch.tasks["server"].state is S.INTERRUPTED


async def test_a_dependant_waits_through_its_dependencys_restarts(
    data_dir: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "tried"
    # Fails the first time (leaving a marker), succeeds the second.
    flaky = (
        "import pathlib, sys; p = pathlib.Path(sys.argv[1]);"
        " sys.exit(0) if p.exists() else (p.touch(), sys.exit(1))"
    )
    policy = TaskPolicy(restart="on-failure", max_restarts=1, restart_backoff=1.0)
    specs = [
        TaskSpec("build", py("-c", flaky, str(marker)), policy=policy),
        replace(TaskSpec("test", py("-c", "print('ok')")), depends_on={"build": "completed"}),
    ]
    clock = FakeClock()
    orch = Orchestrator(specs, MANUAL, data_dir=data_dir, clock=clock)
    watcher = Watcher(orch.bus)
    async with anyio.create_task_group() as tg:
        tg.start_soon(orch.run)
        await watcher.wait_for_a(RetryScheduled)
        assert orch.tasks["test"].state is S.CREATED  # not failed: build will run again
        clock.advance(1.0)
        await watcher.wait_state("test", S.COMPLETED)
    assert orch.tasks["build"].attempt == 2


@pytest.mark.parametrize(
    ("tasks", "expected"),
    [
        (
            '[[task]]\nname = "a"\ncommand = "true"\ndepends_on = ["biuld"]\n'
            '[[task]]\nname = "build"\ncommand = "true"\n',
            ':4: "depends_on": no task named "biuld" in the run (did you mean "build"?)',
        ),
        (
            '[[task]]\nname = "a"\ncommand = "true"\ndepends_on = ["b"]\n'
            '[[task]]\nname = "b"\ncommand = "true"\n[task.depends_on]\na = "ready"\n',
            ":4: dependency cycle: a -> b -> a",
        ),
        (
            '[[task]]\nname = "a"\ncommand = "true"\n\ndepends_on = { a = "started" }\n',
            ':5: task "a" depends on itself',
        ),
        (
            '[[task]]\nname = "a"\ncommand = "true"\n[[task]]\ncommand = "true"\n'
            'depends_on = { a = "finished" }\n',
            ':6: "depends_on": "a": expected one of completed, ready, started',
        ),
        (
            '[[task]]\ncommand = "true"\nready_line = "(unclosed"\n',
            ':3: "ready_line": not a valid regular expression',
        ),
        (
            '[[task]]\nname = "plan"\nagent = "claude"\nprompt = "plan it"\n'
            '[[task]]\nname = "impl"\nagent = "claude"\nprompt = "do {{ tasks.plan.result }}"\n',
            ':8: "prompt": {{ tasks.plan.result }}: "plan" is not a dependency of task "impl"'
            ' (add it to "depends_on")',
        ),
        (
            '[[task]]\nname = "plan"\nagent = "claude"\nprompt = "plan it"\n'
            '[[task]]\nname = "impl"\nagent = "claude"\ndepends_on = ["plan"]\n'
            'prompt = "review {{ tasks.plan.branch }}"\n',
            ':9: "prompt": {{ tasks.plan.branch }}: task "plan" does not run in a worktree',
        ),
        (
            '[[task]]\nname = "plan"\ncommand = "true"\n'
            '[[task]]\nname = "impl"\nagent = "claude"\ndepends_on = ["plan"]\n'
            'prompt = "{{ tasks.plan.answer }}"\n',
            ':8: "prompt": {{ tasks.plan.answer }}: a task has result, branch, diff_stat',
        ),
    ],
)
def test_bad_dependencies_exit_2_naming_file_and_line(
    tmp_path: Path, tasks: str, expected: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(tasks)
    proc = subprocess.run(
        [*cli_argv(), "run", str(path), "--no-ui"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert f"{path}{expected}" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_headless_text_says_what_a_task_waits_for_and_when_it_is_ready(tmp_path: Path) -> None:
    (tmp_path / "tasks.toml").write_text(
        textwrap.dedent(
            f"""
            [[task]]
            name = "server"
            command = ["{sys.executable}", "{fake("slow_server.py")}", "0.2", "port"]
            ready_line = "listening"

            [[task]]
            name = "client"
            command = ["{sys.executable}", "{fake("client.py")}", "port"]
            depends_on = {{ server = "ready" }}
            """
        )
    )
    proc = subprocess.run(
        [*cli_argv(), "run", "tasks.toml", "--no-ui"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "client: waiting for server (ready)" in proc.stderr
    assert "server: ready (line matched: 'listening on " in proc.stderr
    assert "client | hello from the server" in proc.stdout


async def test_fail_fast_waits_for_a_failure_the_restart_policy_will_retry(
    data_dir: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "tried"
    flaky = (
        "import pathlib, sys; p = pathlib.Path(sys.argv[1]);"
        " sys.exit(0) if p.exists() else (p.touch(), sys.exit(1))"
    )
    policy = TaskPolicy(restart="on-failure", max_restarts=1, restart_backoff=1.0)
    specs = [
        TaskSpec("flaky", py("-c", flaky, str(marker)), policy=policy),
        replace(TaskSpec("other", py("-c", "print('ran')")), depends_on={"flaky": "completed"}),
    ]
    clock = FakeClock()
    settings = RunSettings(max_concurrent=4, heartbeat_interval=0, fail_fast=True)
    orch = Orchestrator(specs, settings, data_dir=data_dir, clock=clock)
    watcher = Watcher(orch.bus)
    async with anyio.create_task_group() as tg:
        tg.start_soon(orch.run)
        await watcher.wait_for_a(RetryScheduled)
        assert not orch.stopping
        clock.advance(1.0)
        await watcher.wait_state("other", S.COMPLETED)
    assert orch.tasks["flaky"].state is S.COMPLETED
