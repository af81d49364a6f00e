"""Stats from a history recorded by a real orchestrator: restarts, CPU time over attempts, days."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import anyio

from oneshot_tui.core.spec import RunSettings, TaskSpec
from oneshot_tui.core.states import TaskState as S
from oneshot_tui.orchestrator import Orchestrator
from oneshot_tui.store.history import History
from oneshot_tui.store.live_recorder import record_history
from tests.fakes import fake
from tests.helpers import Watcher
from tests.integration.test_history_recorder import until_recorded

FAST = RunSettings(max_concurrent=4, heartbeat_interval=0)


async def test_restarts_and_cpu_time_over_attempts_are_counted(data_dir: Path) -> None:
    marker = data_dir / "second-time"
    burn = f"{sys.executable} {fake('burn_cpu.py')} 0.2"  # 0.2 s of CPU, however busy the machine
    flaky = TaskSpec("flaky", f"{burn}; test -f {marker} || {{ touch {marker}; exit 1; }}")
    orch = Orchestrator([flaky, TaskSpec("quick", "true")], FAST, data_dir=data_dir)
    watcher = Watcher(orch.bus)
    async with record_history(orch, warn=lambda m: None), anyio.create_task_group() as tg:
        tg.start_soon(lambda: orch.run(stay_open=True))
        await watcher.wait_state("flaky", S.FAILED)
        await until_recorded(data_dir, lambda r: r.run(orch.run_id).status == "finished")
        assert orch.restart("flaky")
        await watcher.wait_state("flaky", S.COMPLETED)
        orch.shutdown()
    with History.open(data_dir) as reader:
        stats = reader.stats(since=None, until=time.time(), by="task")
        today = reader.stats(since=None, until=time.time(), by="day")
        later = reader.stats(since=time.time() + 3600, until=time.time())
        started = reader.run(orch.run_id).started
    total = stats.total
    assert (total.runs, total.tasks, total.attempts, total.restarts) == (1, 2, 3, 1)
    assert total.states["completed"] == 2 and total.success_rate == 1.0
    groups = {g.key: g for g in stats.groups}
    # Both attempts burnt 0.2 s each: CPU time is summed over them (the shell's own is extra).
    assert groups["flaky"].cpu_seconds is not None and groups["flaky"].cpu_seconds >= 0.4
    assert groups["quick"].cpu_seconds is not None and groups["quick"].cpu_seconds < 0.4
    assert (groups["flaky"].restarts, groups["quick"].restarts) == (1, 0)
    assert [g.key for g in today.groups] == [time.strftime("%Y-%m-%d", time.localtime(started))]
    assert later.total.runs == 0 and later.total.cpu_seconds is None


def test_an_empty_history_has_no_figures(data_dir: Path) -> None:
    with History.open(data_dir / "nowhere") as reader:
        stats = reader.stats(since=None, until=time.time(), by="agent")
    assert stats.total.runs == 0 and stats.groups == () and stats.per_hour(1.0) is None
