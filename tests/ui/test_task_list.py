"""The task list: its columns at 80 and 160 columns, the keys that jump to a failed task and
filter by state, and the status bar's totals. A real run (tests/ui/list_scenario.py)."""

from __future__ import annotations

from rich.cells import cell_len
from textual.widgets import Static

from oneshot_tui.core.activity import AgentTotals
from oneshot_tui.core.states import TaskState
from oneshot_tui.ui.buffer import LineBuffer
from oneshot_tui.ui.list_columns import middle_ellipsis, plan, render_row
from oneshot_tui.ui.model import RunModel, TaskInfo
from oneshot_tui.ui.screens.main import MainScreen
from oneshot_tui.ui.widgets.run_summary import RunSummary
from oneshot_tui.ui.widgets.status_bar import StatusBar
from tests.ui.driving import list_row, main_screen, stop_app, until
from tests.ui.list_scenario import LONG_1, LONG_2, list_app, reach_list_states

S = TaskState


def info(task_id: str, state: TaskState = S.RUNNING, **fields: object) -> TaskInfo:
    task = TaskInfo(task_id, "cmd", LineBuffer(10), state=state)
    for name, value in fields.items():
        setattr(task, name, value)
    return task


# -- pure: the columns ------------------------------------------------------------------------


def test_a_name_is_cut_in_the_middle_by_cells() -> None:
    assert middle_ellipsis("a-very-long-task-1", 9) == "a-ve…sk-1"
    assert middle_ellipsis("a-very-long-task-2", 9) == "a-ve…sk-2"
    assert middle_ellipsis("short", 9) == "short"
    # A wide character counts two cells: the cut name is never wider than asked.
    cut = middle_ellipsis("ビルド-and-テスト", 9)
    assert cell_len(cut) == 9 and "…" in cut


def test_columns_go_least_telling_first_and_rows_keep_a_blank_at_the_edge() -> None:
    agent = info(
        "review",
        kind="agent",
        started_ts=0.0,
        doing="Bash",
        attempt=2,
        totals=AgentTotals(1200, 300, 0.25, 3),
    )
    failed = info("lint", S.FAILED, started_ts=0.0, ended_ts=3.0, exit_code=2, duration=3.0)
    tasks = [agent, failed]
    wide = plan(tasks, 64, now=10.0)
    assert list(wide.widths) == ["tokens", "cost", "restarts", "exit", "time", "state"]
    assert wide.activity >= 8
    # Narrower: the state word goes first, then the activity, the cost and tokens; the time
    # stays to the last.
    assert "state" not in plan(tasks, 50, now=10.0).widths
    assert plan(tasks, 40, now=10.0).activity == 0
    narrow = plan(tasks, 26, now=10.0)
    assert "time" in narrow.widths and "cost" not in narrow.widths
    assert narrow.name >= 4
    for width in (20, 26, 40, 64):
        layout = plan(tasks, width, now=10.0)
        for task in tasks:
            row = render_row(task, layout, now=10.0).plain
            assert cell_len(row) == width and row.endswith(" "), (width, row)
    row = render_row(agent, wide, now=10.0).plain
    assert "Bash" in row and "1.5k" in row and "$0.250" in row and "↻1" in row
    assert "exit 2" in render_row(failed, wide, now=10.0).plain
    assert " 2 " in render_row(failed, narrow, now=10.0).plain  # the short form
    # A conversation's second turn is an attempt too, not a restart.
    talked = info("talk", S.COMPLETED, kind="agent", attempt=2, turns=2)
    assert "↻" not in render_row(talked, plan([talked], 64, now=10.0), now=10.0).plain


def test_the_status_bar_drops_the_failed_count_last() -> None:
    model = RunModel()
    model.run_id = "20260101-120000-snap"
    states = [S.RUNNING, S.IDLE, S.CREATED, S.COMPLETED, S.FAILED, S.INTERRUPTED]
    for n, state in enumerate(states):
        model.add(f"t{n}", "cmd").state = state
    model.tasks["t0"].totals = AgentTotals(1000, 234, 0.5)
    bar = StatusBar(model, "~/data")
    shown = "".join(text.plain for _, text in bar.segments(words=False))
    assert "1.2k tok $0.500" in shown
    kept = [key for key, _ in _fitting(bar, 5)]
    assert kept == [f"state:{S.FAILED}"]
    kept = [key for key, _ in _fitting(bar, 40)]
    assert f"state:{S.FAILED}" in kept and "run" not in kept and "dir" not in kept


def _fitting(bar: StatusBar, width: int) -> list[tuple[str, object]]:
    """What `render` keeps at `width` (the same loop, without a mounted widget)."""
    from oneshot_tui.ui.widgets.status_bar import _DROP

    parts = bar.segments(words=False)
    while len(parts) > 1 and sum(p.cell_len for _, p in parts) > width:
        parts.remove(min(parts, key=lambda p: _DROP[p[0]]))
    return list(parts)


def shown_state(screen: MainScreen) -> TaskState | None:
    """The filter (read through a call: mypy would keep an earlier `is` narrowing)."""
    return screen.state_filter


# -- the real list ----------------------------------------------------------------------------


async def test_at_80_columns_every_row_fits_and_long_names_stay_apart() -> None:
    app, clock = list_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await reach_list_states(pilot, app, clock)
        task_list = main_screen(app).task_list
        width = task_list.scrollable_content_region.width
        rows = [list_row(app, i) for i in range(len(app.model.order))]
        for row in rows:
            assert cell_len(row) == width and row.endswith(" "), row
        first, second = rows[0], rows[1]
        assert first != second and first.split()[1].endswith("-1") and "-2" in second
        assert "1m05s" in list_row(app, app.model.order.index("restarted"))
        assert "KILL" in list_row(app, app.model.order.index("killed"))
        await stop_app(pilot)


async def test_e_jumps_to_the_next_failed_task_and_f_filters_by_state() -> None:
    app, clock = list_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await reach_list_states(pilot, app, clock)
        screen = main_screen(app)
        assert screen.selected_info is not None and screen.selected_info.task_id == LONG_1
        # The selected row's highlight runs unbroken under the restarts mark (the old `×2`
        # badge broke it): every cell of the row has the cursor's background.
        index = app.model.order.index("restarted")
        await pilot.press(*"j" * index)
        list_row(app, index)
        strip = screen.task_list.render_line(index - round(screen.task_list.scroll_y))
        backgrounds = {seg.style.bgcolor for seg in strip if seg.style is not None}
        assert len(backgrounds) == 1 and "↻1" in strip.text
        await pilot.press(*"k" * index)
        await pilot.press("e")
        assert screen.selected_info.task_id == LONG_2
        await pilot.press("e")  # the only failed one: it wraps around to itself
        assert screen.selected_info.task_id == LONG_2
        # F: the first state with tasks (running), then the next ones, then every task.
        await pilot.press("F")
        assert screen.state_filter is S.RUNNING
        assert screen.task_list.rows == ["restarted", "fix-bug"]
        assert "running only (2)" in screen.status_bar.render().plain
        await pilot.press("F", "F", "F")  # idle, completed, failed
        assert shown_state(screen) is S.FAILED and screen.rows == [LONG_2]
        assert screen.selected_info.task_id == LONG_2  # still listed: still selected
        await pilot.press("F", "F")  # interrupted, then all again
        assert shown_state(screen) is None and len(screen.rows) == len(app.model.order)
        # e with a filter that hides every failed task shows them all again.
        await pilot.press("F")
        await pilot.press("e")
        assert shown_state(screen) is None and screen.selected_info.task_id == LONG_2
        await stop_app(pilot)


async def test_s_shows_the_run_summary_once_every_task_has_ended() -> None:
    app, clock = list_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await reach_list_states(pilot, app, clock)
        screen = main_screen(app)
        await pilot.press("s")  # tasks still run: no summary yet
        assert not screen.has_class("-summary")
        # Each one interrupted (a stop would end the run, and the app with it).
        live = [t.task_id for t in app.model.tasks.values() if not t.state.ended]
        app.command("interrupt", tasks=live)
        await until(pilot, lambda: screen.all_ended())
        await pilot.pause()
        await pilot.press("s")
        assert screen.has_class("-summary")
        assert not screen.pane.display or not screen.pane.is_on_screen
        shown = str(screen.query_one(RunSummary).query_one(Static).render())
        assert "1 failed" in shown and "Failed" in shown and "Interrupted" in shown
        # The failed task with its exit and its last line; the slowest with their times.
        assert f"{LONG_2}  exit 2" in shown and "two" in shown
        assert "Slowest" in shown and "1m05s" in shown
        await pilot.press("j")  # a task chosen: its pane again
        assert not screen.has_class("-summary")
        await stop_app(pilot)
