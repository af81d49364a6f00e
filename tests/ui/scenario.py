"""A run frozen in a state that shows all six task states, for snapshots.

Every clock, pid and path is fixed: a `FakeClock` (moved only by the scenario), a fixed run id, a
data dir under $HOME (shown as ~/data), and no pid or log path on screen.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from textual.pilot import Pilot

from oneshot_tui.core.clock import FakeClock
from oneshot_tui.core.spec import RunSettings, TaskPolicy, TaskSpec
from oneshot_tui.core.states import TaskState
from oneshot_tui.ui.app import OneshotApp, make_app
from tests.fakes import fake
from tests.ui.driving import until

S = TaskState
RUN_ID = "20260101-120000-snap"


def _quiet(name: str, first: str, **policy: object) -> TaskSpec:
    return TaskSpec(
        name,
        (sys.executable, fake("quiet.py"), first),
        policy=TaskPolicy(**policy),  # type: ignore[arg-type]
    )


def scenario_app() -> tuple[OneshotApp, FakeClock]:
    clock = FakeClock()
    specs = [
        TaskSpec("build", (sys.executable, fake("colours.py"))),
        TaskSpec(
            "lint",
            (sys.executable, "-c", "print('src/app.py:3:101: E501 line too long'); exit(1)"),
        ),
        _quiet("stuck", "waiting for a lock..."),
        _quiet("server", "serving on http://127.0.0.1:8080", idle_threshold=None),
        _quiet("agent", "thinking about the problem...", idle_threshold=2.0),
    ]
    data_dir = Path(os.environ["HOME"]) / "data"
    settings = RunSettings(max_concurrent=2, heartbeat_interval=0.05)
    app = make_app(specs, settings, data_dir=data_dir, clock=clock, run_id=RUN_ID)
    return app, clock


async def reach_six_states(pilot: Pilot[int], app: OneshotApp, clock: FakeClock) -> None:
    """build completed, lint failed, stuck interrupted, server running, agent idle, deploy queued."""

    def state(task_id: str) -> TaskState:
        return app.model.tasks[task_id].state

    def has_output(task_id: str) -> bool:
        return app.model.tasks[task_id].buffer.end > 0

    await until(pilot, lambda: state("build") is S.COMPLETED and state("lint") is S.FAILED)
    await until(pilot, lambda: has_output("stuck") and has_output("server"))
    app.command("interrupt", tasks=["stuck"])  # quiet.py exits 130 on SIGINT
    await until(pilot, lambda: state("stuck") is S.INTERRUPTED)
    await until(pilot, lambda: has_output("agent"))
    deploy = {"name": "deploy", "command": "echo never runs in this picture"}
    app.command("add", tasks=[deploy])  # no slot left: queued
    clock.advance(5)  # five silent seconds on the engine's clock: the agent goes idle
    await until(pilot, lambda: state("agent") is S.IDLE and "deploy" in app.model.tasks)
    await pilot.pause(0.2)
    states = {info.state for info in app.model.tasks.values()}
    assert states == set(TaskState), states
