"""A run frozen with every kind of list row, for the task list's snapshots and tests.

Two long names that differ only at their end, a command that failed, one killed (a signal), one
restarted, a queued one, and two agents (stand-ins replaying a real claude transcript): one that
finished with its tokens and cost, one busy in a tool call. The clock is a `FakeClock`.
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
from tests.agents.helpers import TRANSCRIPTS, FakeAgent, agent_spec, settings
from tests.fakes import fake
from tests.ui.driving import main_screen, until
from tests.ui.scenario import RUN_ID

S = TaskState
LONG_1 = "a-very-long-task-name-1"
LONG_2 = "a-very-long-task-name-2"


def list_app() -> tuple[OneshotApp, FakeClock]:
    home = Path(os.environ["HOME"])
    work = home / "work"
    work.mkdir(exist_ok=True)
    # The busy agent: its session, a line of text and a tool call, then it works on (sleeps).
    busy = work / "claude-busy.out"
    busy.write_text("".join((TRANSCRIPTS / "claude-tool.out").read_text().splitlines(True)[:3]))
    (work / "done").mkdir(exist_ok=True)
    (work / "busy").mkdir(exist_ok=True)
    done = FakeAgent(work / "done", "claude", [{"out": "claude-tool.out"}])
    working = FakeAgent(work / "busy", "claude", [{"out": str(busy), "sleep_after": 120}])
    py = sys.executable
    no_idle = TaskPolicy(idle_threshold=None)
    specs = [
        TaskSpec(LONG_1, (py, "-c", "print('one')")),
        TaskSpec(LONG_2, (py, "-c", "print('two'); exit(2)")),
        TaskSpec("killed", (py, fake("quiet.py"), "about to be killed")),
        TaskSpec("restarted", (py, fake("quiet.py"), "started again"), policy=no_idle),
        agent_spec("review", settings(), cwd=work, env=done.env),
        agent_spec("fix-bug", settings(), cwd=work, env=working.env, policy=no_idle),
        TaskSpec("server", (py, fake("quiet.py"), "serving"), policy=TaskPolicy(idle_threshold=30)),
    ]
    data_dir = home / "data"
    clock = FakeClock()
    run = RunSettings(max_concurrent=6, heartbeat_interval=0.05)
    return make_app(specs, run, data_dir=data_dir, clock=clock, run_id=RUN_ID), clock


async def reach_list_states(pilot: Pilot[int], app: OneshotApp, clock: FakeClock) -> None:
    tasks = app.model.tasks

    def state(task_id: str) -> TaskState:
        return tasks[task_id].state

    await until(pilot, lambda: state(LONG_1) is S.COMPLETED and state(LONG_2) is S.FAILED)
    await until(pilot, lambda: state("review") is S.COMPLETED)
    await until(pilot, lambda: tasks["fix-bug"].doing == "Bash")
    await until(pilot, lambda: all(tasks[t].buffer.end for t in ("killed", "restarted")))
    app.command("kill", tasks=["killed"])
    app.command("restart", tasks=["restarted"])
    await until(pilot, lambda: state("killed").ended)
    await until(pilot, lambda: tasks["restarted"].attempt == 2 and state("restarted").active)
    await until(pilot, lambda: tasks["restarted"].buffer.end > 1)
    clock.advance(65)  # a minute on the engine's clock: the times move, "server" goes idle
    await until(pilot, lambda: state("server") is S.IDLE)
    main_screen(app).tick()  # the second's redraw, now rather than at the next real second
    await pilot.pause(0.2)
