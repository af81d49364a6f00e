"""Screenshots of the real app running examples/demo.toml, as SVG and PNG, into screenshots/.

    .venv/bin/python scripts/screenshots.py

The PNGs are drawn with a monospace font (the SVGs ask for "Fira Code", a web font cairosvg cannot
load; its fallback was a proportional font: `==>fetch` lost its space, box borders broke). Install
it first (Debian/Ubuntu; `fc-match "DejaVu Sans Mono"` must name DejaVuSansMono.ttf):

    sudo apt-get update && sudo apt-get install -y fonts-dejavu-core

Each picture is a fresh run of the demo (or of the tests' agent and loop scenarios, whose agents
are stand-ins replaying a real claude transcript) driven by Textual's pilot (the same `make_app`
as the CLI and the tests), taken when the run reaches a described state, not after a fixed
sleep. HOME points at a temporary directory so the data dir reads ~/.local/share/oneshot-tui.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import cairosvg  # type: ignore[import-untyped]
from textual.pilot import Pilot

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from oneshot_tui.config import load_run_config  # noqa: E402
from oneshot_tui.core.clock import FakeClock  # noqa: E402
from oneshot_tui.core.states import TaskState  # noqa: E402
from oneshot_tui.ui.app import OneshotApp, make_app  # noqa: E402

OUT = ROOT / "screenshots"
Step = Callable[[Pilot[int], OneshotApp], Awaitable[None]]


async def until(pilot: Pilot[int], cond: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError("the demo never reached the state for this screenshot")
        await pilot.pause(0.02)


def state(app: OneshotApp, task_id: str) -> TaskState:
    return app.model.tasks[task_id].state


async def mid_run(pilot: Pilot[int], app: OneshotApp) -> None:
    """The thinker is idle, the build is done, the server log still streams."""
    await until(pilot, lambda: state(app, "thinker") is TaskState.IDLE)
    await until(pilot, lambda: state(app, "build") is TaskState.COMPLETED)
    await until(pilot, lambda: app.model.tasks["server-log"].buffer.end >= 2)


async def queued(pilot: Pilot[int], app: OneshotApp) -> None:
    """Early: four tasks run under max_concurrent = 4, two wait."""
    await until(pilot, lambda: app.model.tasks["build"].buffer.end >= 12)


async def zoomed(pilot: Pilot[int], app: OneshotApp) -> None:
    await until(pilot, lambda: state(app, "tests") is TaskState.COMPLETED)
    await pilot.press("j", "z")


async def searched(pilot: Pilot[int], app: OneshotApp) -> None:
    await until(pilot, lambda: state(app, "build") is TaskState.COMPLETED)
    await pilot.press("slash", *"link", "enter", "N")


async def helped(pilot: Pilot[int], app: OneshotApp) -> None:
    await mid_run(pilot, app)
    await pilot.press("question_mark")


async def quitting(pilot: Pilot[int], app: OneshotApp) -> None:
    await mid_run(pilot, app)
    await pilot.press("q")


MONO = "DejaVu Sans Mono"


def to_png(svg: Path) -> None:
    """The PNG of an SVG screenshot, in an installed monospace font (see the docstring)."""
    found = subprocess.run(["fc-match", MONO], capture_output=True, text=True, check=False)
    if "DejaVuSansMono" not in found.stdout:
        raise SystemExit(f"{MONO} is not installed: apt-get install fonts-dejavu-core")
    text = re.sub(
        r'font-family:\s*"?Fira Code"?(,\s*monospace)?', f'font-family: "{MONO}"', svg.read_text()
    )
    cairosvg.svg2png(bytestring=text.encode(), write_to=str(svg.with_suffix(".png")))


def demo_app(home: Path) -> OneshotApp:
    config = load_run_config(ROOT / "examples" / "demo.toml")
    data_dir = home / ".local" / "share" / "oneshot-tui"
    return make_app(config.specs, config.settings, data_dir=data_dir)


def agents_app(home: Path) -> OneshotApp:
    """The task list with agents (tokens, cost, the tool each runs), beside failed, killed and
    restarted commands: the tests' list scenario."""
    from tests.ui.list_scenario import list_app

    return list_app()[0]


async def agents_busy(pilot: Pilot[int], app: OneshotApp) -> None:
    from tests.ui.list_scenario import reach_list_states

    clock = app.clock
    assert isinstance(clock, FakeClock)
    await reach_list_states(pilot, app, clock)
    await pilot.press(*"jjjjj")  # the agent busy in a tool call


def loop_app(home: Path) -> OneshotApp:
    """A worker/auditor loop after a RETRY verdict, its worker on its second iteration."""
    from oneshot_tui.core.spec import RunSettings
    from oneshot_tui.orchestrator import loop_body
    from tests.loop_helpers import ScriptedAgents, loop_spec, verdict

    loop_body.new_oneshot_id = lambda: "20270117-000000-0001"  # type: ignore[assignment]
    work = home / "work"
    work.mkdir(exist_ok=True)
    retry = verdict(
        "RETRY",
        "The parser has no tests. Add one for empty input and one for a line longer than the cap.",
    )
    agents = ScriptedAgents(
        work,
        [{"result": "I wrote the parser."}, retry, {"result": "still at it", "sleep": 120}],
    )
    spec = loop_spec("Write a parser for the log format", cwd=work, env=agents.env, name="parser")
    settings = RunSettings(max_concurrent=4, heartbeat_interval=0.05)
    return make_app([spec], settings, data_dir=home / ".local" / "share" / "oneshot-tui")


async def verdicts(pilot: Pilot[int], app: OneshotApp) -> None:
    info = app.model.tasks["parser"]
    await until(pilot, lambda: info.loop is not None and info.loop.iteration == 2)
    await pilot.press("v")


def talk_app(home: Path) -> OneshotApp:
    """An agent task (a stand-in claude) that finished, then was messaged with `m`."""
    from tests.agents.helpers import agent_spec, settings
    from tests.loop_helpers import ScriptedAgents

    work = home / "talk"
    work.mkdir(exist_ok=True)
    agents = ScriptedAgents(
        work,
        [
            {"result": "The failing test expected UTC; I made the parser keep the offset."},
            {"result": "Added a CHANGELOG entry under Fixed: timestamps keep their offset."},
        ],
    )
    prompt = "fix the failing test in tests/test_dates.py"
    spec = agent_spec("fix-dates", settings(prompt=prompt), cwd=work, env=agents.env)
    return make_app([spec], data_dir=home / ".local" / "share" / "oneshot-tui")


async def conversation(pilot: Pilot[int], app: OneshotApp) -> None:
    info = app.model.tasks["fix-dates"]
    await until(pilot, lambda: info.state is TaskState.COMPLETED)
    await pilot.press("m", *"and add a changelog entry", "enter")
    await until(pilot, lambda: info.turns == 2 and info.state is TaskState.COMPLETED)


def pty_app(home: Path) -> OneshotApp:
    """A PTY task drawing docker-style progress bars in place, through the terminal emulator."""
    from oneshot_tui.core.spec import RunSettings, TaskPolicy, TaskSpec

    gate = home / "gate"
    gate.mkdir(exist_ok=True)
    drawing = str(ROOT / "tests" / "fakes" / "drawing.py")
    pty = TaskPolicy(pty=True, idle_threshold=None)
    specs = [
        TaskSpec("pull", (sys.executable, drawing, "pull", str(gate)), policy=pty),
        TaskSpec("fetch", (sys.executable, drawing, "progress", str(gate)), policy=pty),
    ]
    data_dir = home / ".local" / "share" / "oneshot-tui"
    return make_app(specs, RunSettings(), data_dir=data_dir)


async def pulling(pilot: Pilot[int], app: OneshotApp) -> None:
    from tests.ui.driving import pane_rows

    await until(pilot, lambda: any("Pull complete" in row for row in pane_rows(app)))


async def shoot(
    name: str,
    size: tuple[int, int],
    step: Step,
    home: Path,
    build: Callable[[Path], OneshotApp] = demo_app,
) -> None:
    app = build(home)
    async with app.run_test(size=size) as pilot:
        await step(pilot, app)
        await pilot.pause(0.3)
        svg = OUT / f"{name}.svg"
        app.save_screenshot(filename=svg.name, path=str(OUT))
        to_png(svg)
        app.command("stop", reason="screenshot taken")
        await until(pilot, lambda: app.result is not None)
    print(f"wrote {svg.relative_to(ROOT)} and .png")


async def main() -> None:
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="oneshot-shots-") as tmp:
        home = Path(tmp)
        os.environ["HOME"] = str(home)  # so the data dir is shown as ~/...
        await shoot("main", (120, 32), mid_run, home)
        await shoot("queued-80x24", (80, 24), queued, home)
        await shoot("zoomed", (120, 32), zoomed, home)
        await shoot("search", (120, 32), searched, home)
        await shoot("help", (120, 32), helped, home)
        await shoot("quit", (120, 32), quitting, home)
        await shoot("agents", (120, 32), agents_busy, home, agents_app)
        await shoot("agents-80x24", (80, 24), agents_busy, home, agents_app)
        await shoot("verdicts", (120, 32), verdicts, home, loop_app)
        await shoot("conversation", (120, 32), conversation, home, talk_app)
        await shoot("pty", (120, 32), pulling, home, pty_app)


if __name__ == "__main__":
    asyncio.run(main())
