"""Pictures of the TUI at 80x24 and 160x45 (pytest-textual-snapshot; update: --snapshot-update).

The run is real (child processes) but frozen: see `scenario.py`.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from oneshot_tui.core.clock import FakeClock
from oneshot_tui.core.spec import RunSettings, TaskSpec
from oneshot_tui.orchestrator import loop_body
from oneshot_tui.ui.app import OneshotApp, make_app
from oneshot_tui.ui.screens.confirm import ConfirmQuit
from oneshot_tui.ui.screens.help import HelpScreen
from oneshot_tui.ui.screens.history import HistoryScreen
from oneshot_tui.ui.screens.history_run import HistoryRunScreen
from oneshot_tui.ui.screens.verdicts import VerdictScreen
from tests.loop_helpers import ScriptedAgents, loop_spec, verdict
from tests.ui.driving import main_screen, until
from tests.ui.history_seed import seed_history
from tests.ui.list_scenario import list_app, reach_list_states
from tests.ui.scenario import RUN_ID, reach_six_states, scenario_app

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 45), id="160x45")]
Snap = Callable[..., bool]


@pytest.mark.parametrize("size", SIZES)
def test_run_in_progress_with_all_six_states(snap_compare: Snap, size: tuple[int, int]) -> None:
    app, clock = scenario_app()

    async def run_before(pilot: Pilot[int]) -> None:
        await reach_six_states(pilot, app, clock)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_zoomed_idle_pane(snap_compare: Snap, size: tuple[int, int]) -> None:
    app, clock = scenario_app()

    async def run_before(pilot: Pilot[int]) -> None:
        await reach_six_states(pilot, app, clock)
        await pilot.press("j", "j", "j", "j", "z")  # the idle agent, full screen
        await pilot.pause()
        assert main_screen(app).has_class("-zoomed")

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_help_screen(snap_compare: Snap, size: tuple[int, int]) -> None:
    app, clock = scenario_app()

    async def run_before(pilot: Pilot[int]) -> None:
        await reach_six_states(pilot, app, clock)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_search_results(snap_compare: Snap, size: tuple[int, int]) -> None:
    app, clock = scenario_app()

    async def run_before(pilot: Pilot[int]) -> None:
        await reach_six_states(pilot, app, clock)
        # Two matches; the search starts at the last one, N goes back to the first.
        await pilot.press("slash", *"needle", "enter", "N")
        await pilot.pause()
        search = app.model.tasks["build"].view.search
        assert search is not None and search.current == 0 and len(search.matches) == 2

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_quit_confirmation(snap_compare: Snap, size: tuple[int, int]) -> None:
    app, clock = scenario_app()

    async def run_before(pilot: Pilot[int]) -> None:
        await reach_six_states(pilot, app, clock)
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, ConfirmQuit))

    assert snap_compare(app, terminal_size=size, run_before=run_before)


# -- loops and the history ------------------------------------------------------------------------


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Times of past runs are shown in local time: make it UTC for the pictures."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def loop_app(monkeypatch: pytest.MonkeyPatch) -> OneshotApp:
    """A loop frozen in its second worker step, after a RETRY; beside a plain command."""
    monkeypatch.setattr(loop_body, "new_oneshot_id", lambda: "20270117-000000-0001")
    home = Path(os.environ["HOME"])
    workdir = home / "work"
    workdir.mkdir(exist_ok=True)
    agents = ScriptedAgents(
        workdir,
        [
            {"result": "I wrote the parser."},
            verdict(
                "RETRY",
                "The parser has no tests. Add one for empty input and one for a line longer "
                "than the cap.",
            ),
            {"result": "never answers in this picture", "sleep": 120},
        ],
    )
    specs = [
        loop_spec("Write a parser", cwd=workdir, env=agents.env, name="parser"),
        TaskSpec("echo", (sys.executable, "-c", "print('not a loop')")),
    ]
    settings = RunSettings(max_concurrent=4, heartbeat_interval=0.05)
    return make_app(specs, settings, data_dir=home / "data", clock=FakeClock(), run_id=RUN_ID)


@pytest.mark.parametrize("size", SIZES)
def test_loop_verdicts(
    snap_compare: Snap, size: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = loop_app(monkeypatch)

    async def run_before(pilot: Pilot[int]) -> None:
        info = app.model.tasks["parser"]
        await until(pilot, lambda: info.loop is not None and info.loop.iteration == 2)
        await until(pilot, lambda: "fake-session-2" in info.activity)
        await pilot.press("v")
        await until(pilot, lambda: isinstance(app.screen, VerdictScreen))

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def history_app() -> OneshotApp:
    """A live run (not recorded) over a data dir holding two past runs."""
    data_dir = Path(os.environ["HOME"]) / "data"
    data_dir.mkdir(exist_ok=True)
    asyncio.run(seed_history(data_dir))
    spec = TaskSpec("live", (sys.executable, "-c", "print('the live run')"))
    return make_app([spec], data_dir=data_dir, clock=FakeClock(), run_id=RUN_ID)


@pytest.mark.parametrize("size", SIZES)
def test_history_list(snap_compare: Snap, size: tuple[int, int], utc: None) -> None:
    app = history_app()

    async def run_before(pilot: Pilot[int]) -> None:
        await until(pilot, lambda: app.model.tasks["live"].state.ended)
        await pilot.press("h")
        await until(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.loaded)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_past_run(snap_compare: Snap, size: tuple[int, int], utc: None) -> None:
    app = history_app()

    async def run_before(pilot: Pilot[int]) -> None:
        await until(pilot, lambda: app.model.tasks["live"].state.ended)
        await pilot.press("h")
        await until(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.loaded)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, HistoryRunScreen))
        await pilot.press("j")  # the failed task
        screen = app.screen
        assert isinstance(screen, HistoryRunScreen)
        await until(pilot, lambda: screen.model.tasks["lint"].buffer.end > 0)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


# -- the task list's columns ----------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_task_list_columns(snap_compare: Snap, size: tuple[int, int]) -> None:
    """Times, exits, a signal, restarts, an agent's tokens, cost and tool; the run's totals."""
    app, clock = list_app()

    async def run_before(pilot: Pilot[int]) -> None:
        await reach_list_states(pilot, app, clock)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_run_summary(snap_compare: Snap, size: tuple[int, int]) -> None:
    """Every task ended: `s` shows the run's summary in the pane's place."""
    app, clock = list_app()

    async def run_before(pilot: Pilot[int]) -> None:
        await reach_list_states(pilot, app, clock)
        live = [t.task_id for t in app.model.tasks.values() if not t.state.ended]
        app.command("interrupt", tasks=live)
        screen = main_screen(app)
        await until(pilot, screen.all_ended)
        await until(pilot, lambda: app.model.finished is not None)  # its exit code in the title
        await pilot.press("s")
        assert screen.has_class("-summary")

    assert snap_compare(app, terminal_size=size, run_before=run_before)
