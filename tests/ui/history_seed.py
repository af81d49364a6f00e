"""Past runs recorded in a data dir's history, for the history screens' tests and snapshots."""

from __future__ import annotations

import sys
from pathlib import Path

from oneshot_tui.core.clock import FakeClock
from oneshot_tui.core.spec import RunSettings, TaskSpec
from oneshot_tui.orchestrator import Orchestrator
from oneshot_tui.store.history_data import RunOrigin
from oneshot_tui.store.live_recorder import record_history

SEEDED = RunSettings(max_concurrent=4, heartbeat_interval=0)
OLDER, NEWER = "20270115-080000-aaaa", "20270116-093000-bbbb"


def _py(code: str) -> tuple[str, ...]:
    return (sys.executable, "-c", code)


async def record_run(data_dir: Path, run_id: str, specs: list[TaskSpec], wall_start: float) -> None:
    """Run `specs` to the end, recorded, on a frozen clock (times and durations are fixed)."""
    orch = Orchestrator(
        specs, SEEDED, data_dir=data_dir, clock=FakeClock(wall_start=wall_start), run_id=run_id
    )
    async with record_history(orch, RunOrigin(argv=("oneshot-tui", "run"), cwd="/work")):
        await orch.run()


async def seed_history(data_dir: Path) -> None:
    """Two runs: an older one that all completed, a newer one with a failure."""
    await record_run(
        data_dir,
        OLDER,
        [TaskSpec("hello", _py("print('hello from the past')"))],
        wall_start=1_800_000_000.0,
    )
    await record_run(
        data_dir,
        NEWER,
        [
            TaskSpec("build", _py("for i in range(1, 31): print(f'compiled module {i}')")),
            TaskSpec("lint", _py("print('src/app.py:3: E501 line too long'); exit(1)")),
            TaskSpec("colours", _py("print('\\x1b[32mgreen\\x1b[0m and plain')")),
        ],
        wall_start=1_800_091_800.0,
    )
