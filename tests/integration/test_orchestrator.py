"""The orchestrator on real child processes (small Python scripts under tests/fakes)."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import anyio

from oneshot_tui.core.bus import EventBus
from oneshot_tui.core.clock import FakeClock
from oneshot_tui.core.events import Output, ProcessStarted, RunFinished, StateChanged, TaskExited
from oneshot_tui.core.spec import IdleAction, RunSettings, TaskPolicy, TaskSpec
from oneshot_tui.core.states import TaskState as S
from oneshot_tui.orchestrator import Orchestrator
from tests.fakes import fake
from tests.helpers import Watcher, group_members, pid_alive, py, run_recorded

MANUAL = RunSettings(max_concurrent=8, heartbeat_interval=0)
"""No heartbeat loop: tests call `tick()` themselves after moving a fake clock."""


def pids_from(watcher: Watcher, task_id: str) -> list[int]:
    pids = [e.pid for e in watcher.all() if isinstance(e, ProcessStarted) and e.task_id == task_id]
    for e in watcher.all():
        if isinstance(e, Output) and e.task_id == task_id:
            pids += [int(line.split()[1]) for line in e.split() if "child" in line]
    return pids


async def test_ten_tasks_never_exceed_the_concurrency_limit(data_dir: Path) -> None:
    specs = [TaskSpec(f"t{i}", py("-c", "import time; time.sleep(0.05)")) for i in range(10)]
    orch = Orchestrator(specs, RunSettings(max_concurrent=3), data_dir=data_dir)
    result, watcher = await run_recorded(orch)
    assert result.exit_code == 0
    running: set[str] = set()
    peak = 0
    for e in watcher.all():
        if isinstance(e, StateChanged):
            if e.target.active:
                running.add(e.task_id)
            else:
                running.discard(e.task_id)
            peak = max(peak, len(running))
    assert peak == 3
    assert all(r.state is S.COMPLETED for r in result.results)


async def test_a_silent_child_goes_idle_and_resumes_when_it_prints(data_dir: Path) -> None:
    clock = FakeClock()
    policy = TaskPolicy(idle_threshold=10)
    spec = TaskSpec("q", py(fake("quiet.py"), "hello"), policy=policy)
    orch = Orchestrator([spec], MANUAL, data_dir=data_dir, clock=clock)
    watcher = Watcher(orch.bus)
    async with anyio.create_task_group() as tg:
        tg.start_soon(orch.run)
        await watcher.wait_for(lambda e: isinstance(e, Output) and e.text == "hello")
        clock.advance(9)
        orch.tick()
        assert orch.tasks["q"].state is S.RUNNING
        clock.advance(2)
        orch.tick()
        idle = await watcher.wait_state("q", S.IDLE)
        assert "no output for 11s" in idle.reason
        pid = orch.tasks["q"].child.pid  # type: ignore[union-attr]
        os.kill(pid, signal.SIGUSR1)
        await watcher.wait_state("q", S.RUNNING)
        os.kill(pid, signal.SIGUSR2)
        await watcher.wait_state("q", S.COMPLETED)
    assert watcher.states("q") == [
        (S.CREATED, S.RUNNING),
        (S.RUNNING, S.IDLE),
        (S.IDLE, S.RUNNING),
        (S.RUNNING, S.COMPLETED),
    ]


async def test_a_child_that_never_prints_is_detected_and_the_interrupt_policy_ends_it(
    data_dir: Path,
) -> None:
    clock = FakeClock()
    policy = TaskPolicy(
        idle_threshold=5, idle_action=IdleAction.INTERRUPT, idle_timeout=20, grace=1
    )
    spec = TaskSpec("s", py(fake("quiet.py"), "--silent"), policy=policy)
    orch = Orchestrator([spec], MANUAL, data_dir=data_dir, clock=clock)
    watcher = Watcher(orch.bus)
    async with anyio.create_task_group() as tg:
        tg.start_soon(orch.run)
        await watcher.wait_state("s", S.RUNNING)
        clock.advance(5)
        orch.tick()
        await watcher.wait_state("s", S.IDLE)
        clock.advance(19)
        orch.tick()
        assert orch.tasks["s"].stop is None
        clock.advance(1)
        orch.tick()
        ended = await watcher.wait_state("s", S.INTERRUPTED)
    assert ended.reason == "idle for 20s"
    events = watcher.all()
    went_idle = next(
        i for i, e in enumerate(events) if isinstance(e, StateChanged) and e.target is S.IDLE
    )
    assert not any(isinstance(e, Output) for e in events[:went_idle])  # idle with no output at all


async def test_the_restart_policy_starts_a_new_attempt_with_its_own_log(data_dir: Path) -> None:
    clock = FakeClock()
    policy = TaskPolicy(idle_threshold=1, idle_action=IdleAction.RESTART, idle_timeout=1, grace=1)
    spec = TaskSpec("r", py(fake("quiet.py"), "up"), policy=policy)
    orch = Orchestrator([spec], MANUAL, data_dir=data_dir, clock=clock)
    watcher = Watcher(orch.bus)
    async with anyio.create_task_group() as tg:
        tg.start_soon(orch.run)
        await watcher.wait_for(lambda e: isinstance(e, Output) and e.attempt == 1)
        for _ in range(2):
            clock.advance(1)
            orch.tick()
        await watcher.wait_state("r", S.CREATED)
        await watcher.wait_for(lambda e: isinstance(e, Output) and e.attempt == 2)
        orch.interrupt("r")
        await watcher.wait_state("r", S.INTERRUPTED)
    task = orch.tasks["r"]
    assert task.attempt == 2
    assert [p.name for p in task.log_paths] == ["r.log", "r.2.log"]
    assert all(p.read_bytes() == b"up\n" for p in task.log_paths)


async def test_interrupt_leaves_no_process_of_a_stubborn_group_within_the_grace(
    data_dir: Path,
) -> None:
    grace = 1.0
    spec = TaskSpec("stubborn", py(fake("stubborn.py")), policy=TaskPolicy(grace=grace))
    orch = Orchestrator([spec], data_dir=data_dir)
    watcher = Watcher(orch.bus)
    async with anyio.create_task_group() as tg:
        tg.start_soon(orch.run)
        await watcher.wait_until(lambda _: watcher.output_text("stubborn").count("child") == 2)
        pgid = orch.tasks["stubborn"].child.pgid  # type: ignore[union-attr]
        start = time.monotonic()
        assert orch.interrupt("stubborn")
        ended = await watcher.wait_state("stubborn", S.INTERRUPTED)
        took = time.monotonic() - start
    pids = pids_from(watcher, "stubborn")
    assert len(set(pids)) == 2
    assert not any(pid_alive(pid) for pid in pids)
    assert group_members(pgid) == []
    assert ended.reason == "interrupted by user"
    assert grace * 0.9 <= took < grace + 3
    exited = [e for e in watcher.all() if isinstance(e, TaskExited)][-1]
    assert exited.state is S.INTERRUPTED and exited.signal == signal.SIGKILL


async def test_a_background_grandchild_is_stopped_and_the_task_completes_promptly(
    data_dir: Path,
) -> None:
    spec = TaskSpec("bg", "echo a; sleep 30 & echo $! ; exit 0")
    orch = Orchestrator([spec], data_dir=data_dir)
    start = time.monotonic()
    result, watcher = await run_recorded(orch)
    assert time.monotonic() - start < 10
    assert result.results[0].state is S.COMPLETED
    lines = [line for e in watcher.all() if isinstance(e, Output) for line in e.split()]
    assert lines[0] == "a"
    assert not pid_alive(int(lines[1]))


async def test_missing_executable_and_bad_cwd_fail_with_a_reason_while_others_run(
    data_dir: Path,
) -> None:
    specs = [
        TaskSpec("missing", ("definitely-not-installed-xyz", "--flag")),
        TaskSpec("badcwd", ("true",), cwd="/no/such/place"),
        TaskSpec("fine", ("true",)),
    ]
    result, _ = await run_recorded(Orchestrator(specs, data_dir=data_dir))
    by_id = {r.task_id: r for r in result.results}
    assert by_id["missing"].state is S.FAILED
    assert by_id["missing"].reason == "command not found: definitely-not-installed-xyz"
    assert by_id["badcwd"].reason == "working directory does not exist: /no/such/place"
    assert by_id["fine"].state is S.COMPLETED
    assert result.exit_code == 1


async def test_wall_time_limit_interrupts_a_runaway(data_dir: Path) -> None:
    clock = FakeClock()
    spec = TaskSpec("slow", py(fake("quiet.py"), "x"), policy=TaskPolicy(timeout=60, grace=1))
    orch = Orchestrator([spec], MANUAL, data_dir=data_dir, clock=clock)
    watcher = Watcher(orch.bus)
    async with anyio.create_task_group() as tg:
        tg.start_soon(orch.run)
        await watcher.wait_state("slow", S.RUNNING)
        clock.advance(60)
        orch.tick()
        ended = await watcher.wait_state("slow", S.INTERRUPTED)
    assert ended.reason == "timeout after 60s"


async def test_a_child_writing_50mb_of_awkward_bytes_is_logged_exactly_in_bounded_memory(
    data_dir: Path, tmp_path: Path
) -> None:
    ref = tmp_path / "reference.bin"
    specs = [{"name": "flood", "command": [sys.executable, fake("flood.py"), str(ref), "50", "7"]}]
    proc = await anyio.run_process(
        [sys.executable, fake("engine_driver.py"), str(data_dir), json.dumps(specs)],
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    report = json.loads(proc.stdout)
    assert report["exit_code"] == 0
    log = Path(report["logs"]["flood"])
    assert ref.stat().st_size >= 50 * 1024 * 1024
    assert log.read_bytes() == ref.read_bytes()
    # Lines seen by the reader plus lines it was told it missed account for every line.
    assert report["lines"] + report["missed"] > 0
    # The engine keeps no copy of the stream: the whole process stays well under the 50 MB.
    assert report["max_rss_kb"] < 120 * 1024, report


async def test_cancelling_the_run_interrupts_every_task_and_leaves_no_child(
    data_dir: Path,
) -> None:
    specs = [
        TaskSpec(f"s{i}", py(fake("stubborn.py")), policy=TaskPolicy(grace=0.5)) for i in range(3)
    ]
    specs.append(TaskSpec("plain", ("sleep", "30")))
    orch = Orchestrator(specs, data_dir=data_dir)
    watcher = Watcher(orch.bus)
    async with anyio.create_task_group() as tg:
        tg.start_soon(orch.run)
        await watcher.wait_until(
            lambda _: all(watcher.output_text(f"s{i}").count("child") == 2 for i in range(3))
        )
        await watcher.wait_state("plain", S.RUNNING)
        pgids = [t.child.pid for t in orch.tasks.values() if t.child]  # each leads its own group
        tg.cancel_scope.cancel()  # what Ctrl-C does to the run
    assert {t.state for t in orch.tasks.values()} == {S.INTERRUPTED}
    assert all(group_members(pgid) == [] for pgid in pgids)
    assert not any(pid_alive(pid) for i in range(3) for pid in pids_from(watcher, f"s{i}"))
    finished = [e for e in watcher.all() if isinstance(e, RunFinished)]
    assert finished and finished[-1].exit_code == 1


async def test_a_subscriber_that_never_reads_does_not_slow_the_run(data_dir: Path) -> None:
    bus = EventBus(max_pending_lines=1000)
    _never = bus.subscribe("never-reads")
    specs = [TaskSpec(f"n{i}", py(fake("lines.py"), f"n{i}", "20000")) for i in range(4)]
    orch = Orchestrator(specs, data_dir=data_dir, bus=bus)
    reader = bus.subscribe("reader", max_pending_lines=10**7)
    got: dict[str, list[str]] = {}

    async def read() -> None:
        async for e in reader:
            if isinstance(e, Output):
                got.setdefault(e.task_id, []).extend(e.split())
            if isinstance(e, RunFinished):
                return

    async with anyio.create_task_group() as tg:
        tg.start_soon(read)
        with anyio.fail_after(60):
            result = await orch.run()
    assert result.exit_code == 0
    for i in range(4):
        assert got[f"n{i}"] == [f"n{i} {k}" for k in range(1, 20001)]


async def test_user_restart_of_an_ended_task_runs_attempt_two(data_dir: Path) -> None:
    orch = Orchestrator([TaskSpec("once", ("echo", "hi"))], data_dir=data_dir)
    watcher = Watcher(orch.bus)
    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: orch.run(stay_open=True))
        await watcher.wait_state("once", S.COMPLETED)
        assert orch.restart("once")
        await watcher.wait_state("once", S.CREATED)
        done = await watcher.wait_state("once", S.COMPLETED)
        assert done.attempt == 2
        orch.shutdown()
    assert orch.tasks["once"].attempt == 2


async def test_sigterm_to_the_orchestrator_stops_everything_and_reports_143(data_dir: Path) -> None:
    orch = Orchestrator([TaskSpec("long", ("sleep", "30"))], data_dir=data_dir)
    watcher = Watcher(orch.bus)
    async with anyio.create_task_group() as tg:

        async def run() -> None:
            result = await orch.run(handle_signals=True)
            assert result.exit_code == 143

        tg.start_soon(run)
        await watcher.wait_state("long", S.RUNNING)
        await anyio.sleep(0.05)  # let the signal receiver install
        os.kill(os.getpid(), signal.SIGTERM)
        ended = await watcher.wait_state("long", S.INTERRUPTED)
    assert ended.reason == "received SIGTERM"


async def test_fail_fast_stops_the_others_and_never_starts_the_queued(data_dir: Path) -> None:
    specs = [TaskSpec("bad", ("false",)), TaskSpec("long", ("sleep", "30"))]
    specs += [TaskSpec(f"q{i}", ("true",)) for i in range(3)]
    settings = RunSettings(max_concurrent=2, fail_fast=True)
    result, _ = await run_recorded(Orchestrator(specs, settings, data_dir=data_dir))
    by_id = {r.task_id: r for r in result.results}
    assert by_id["bad"].state is S.FAILED
    assert by_id["long"].state is S.INTERRUPTED
    assert by_id["long"].reason == "fail-fast: bad failed"
    assert all(by_id[f"q{i}"].state in (S.FAILED, S.COMPLETED) for i in range(3))
    assert result.exit_code == 1
