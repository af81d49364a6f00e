"""Helpers for driving the real app (and real child processes) with Textual's pilot."""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.geometry import Region
from textual.pilot import Pilot

from oneshot_tui.ui.app import OneshotApp
from oneshot_tui.ui.screens.main import MainScreen


async def until(pilot: Pilot[int], cond: Callable[[], bool], timeout: float = 30) -> None:
    """Let the app run until `cond()` holds (generous timeout: this box may be busy)."""
    deadline = time.monotonic() + timeout
    while not _holds(cond):
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await pilot.pause(0.02)


def _holds(cond: Callable[[], bool]) -> bool:
    try:
        return cond()
    except KeyError:  # a task the app has not heard of yet
        return False


def main_screen(app: OneshotApp) -> MainScreen:
    screen = app.screen_stack[0]
    assert isinstance(screen, MainScreen)
    return screen


def title_text(app: OneshotApp) -> str:
    """The selected pane's title bar, as shown."""
    return main_screen(app).pane.title_bar.render().plain


def list_row(app: OneshotApp, index: int) -> str:
    task_list = main_screen(app).task_list
    # A paint first: the columns are planned once per paint, from every row as it is now.
    task_list.render_lines(Region(0, 0, task_list.size.width, task_list.size.height))
    return task_list.render_line(index - round(task_list.scroll_y)).text


def pane_rows(app: OneshotApp) -> list[str]:
    """The selected pane's visible output rows, as drawn."""
    view = main_screen(app).pane.output
    return [view.render_line(y).text.rstrip() for y in range(view.size.height)]


async def stop_app(pilot: Pilot[int]) -> None:
    """End the run gracefully (children stopped with the ladder) and let the app exit."""
    app = pilot.app
    assert isinstance(app, OneshotApp)
    app.command("stop", reason="test over")
    await until(pilot, lambda: app.result is not None)
