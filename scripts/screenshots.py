"""Screenshots of the real app running examples/demo.toml, as SVG and PNG, into screenshots/.

    .venv/bin/python scripts/screenshots.py

Each picture is a fresh run of the demo driven by Textual's pilot (the same `make_app` as the CLI
and the tests), taken when the run reaches a described state, not after a fixed sleep. HOME
points at a temporary directory so the data dir reads ~/.local/share/oneshot-tui.
"""

from __future__ import annotations

import asyncio
import os
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


async def shoot(name: str, size: tuple[int, int], step: Step, home: Path) -> None:
    config = load_run_config(ROOT / "examples" / "demo.toml")
    data_dir = home / ".local" / "share" / "oneshot-tui"
    app = make_app(config.specs, config.settings, data_dir=data_dir)
    async with app.run_test(size=size) as pilot:
        await step(pilot, app)
        await pilot.pause(0.3)
        svg = OUT / f"{name}.svg"
        app.save_screenshot(filename=svg.name, path=str(OUT))
        cairosvg.svg2png(url=str(svg), write_to=str(svg.with_suffix(".png")))
        app.command(app.orch.shutdown, "screenshot taken")
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


if __name__ == "__main__":
    asyncio.run(main())
