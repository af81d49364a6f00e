"""Pictures of the TUI at 80x24 and 160x45 (pytest-textual-snapshot; update: --snapshot-update).

The run is real (child processes) but frozen: see `scenario.py`.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.pilot import Pilot

from oneshot_tui.ui.screens.confirm import ConfirmQuit
from oneshot_tui.ui.screens.help import HelpScreen
from tests.ui.driving import main_screen, until
from tests.ui.scenario import reach_six_states, scenario_app

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
