"""Descendants that leave the task's process group (double fork + setsid) are stopped too."""

from __future__ import annotations

import time
from pathlib import Path

import anyio

from oneshot_tui.core.events import Output
from oneshot_tui.core.spec import TaskPolicy, TaskSpec
from oneshot_tui.core.states import TaskState as S
from oneshot_tui.orchestrator import Orchestrator
from tests.fakes import fake
from tests.helpers import Watcher, pid_alive, py, run_recorded


def escaped_pid(watcher: Watcher, task_id: str) -> int:
    text = watcher.output_text(task_id)
    return int(next(line for line in text.splitlines() if line.startswith("escaped")).split()[1])


async def test_interrupt_stops_a_descendant_that_escaped_the_group(data_dir: Path) -> None:
    spec = TaskSpec("esc", py(fake("escaper.py")), policy=TaskPolicy(grace=1))
    orch = Orchestrator([spec], data_dir=data_dir)
    watcher = Watcher(orch.bus)
    async with anyio.create_task_group() as tg:
        tg.start_soon(orch.run)
        await watcher.wait_for(lambda e: isinstance(e, Output) and "escaped" in e.text)
        pid = escaped_pid(watcher, "esc")
        assert pid_alive(pid)
        orch.interrupt("esc")
        await watcher.wait_state("esc", S.INTERRUPTED)
    assert not pid_alive(pid)


async def test_an_escapee_holding_stdout_after_the_leader_exits_is_stopped_promptly(
    data_dir: Path,
) -> None:
    spec = TaskSpec("esc", py(fake("escaper.py"), "--exit"), policy=TaskPolicy(grace=1))
    start = time.monotonic()
    result, watcher = await run_recorded(Orchestrator([spec], data_dir=data_dir))
    assert time.monotonic() - start < 15
    assert result.results[0].state is S.COMPLETED
    assert not pid_alive(escaped_pid(watcher, "esc"))


async def test_cancelling_the_run_leaves_no_escapee(data_dir: Path) -> None:
    specs = [
        TaskSpec(f"e{i}", py(fake("escaper.py")), policy=TaskPolicy(grace=0.5)) for i in range(3)
    ]
    orch = Orchestrator(specs, data_dir=data_dir)
    watcher = Watcher(orch.bus)
    async with anyio.create_task_group() as tg:
        tg.start_soon(orch.run)
        await watcher.wait_until(
            lambda _: all("escaped" in watcher.output_text(f"e{i}") for i in range(3))
        )
        pids = [escaped_pid(watcher, f"e{i}") for i in range(3)]
        tg.cancel_scope.cancel()
    assert {t.state for t in orch.tasks.values()} == {S.INTERRUPTED}
    assert not any(pid_alive(pid) for pid in pids)
