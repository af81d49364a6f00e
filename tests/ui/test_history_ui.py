"""The history in the TUI (h): past runs listed from history.db, one opened read-only in the same
panes with its output read from the ends of its log files, and back to the live run."""

from __future__ import annotations

import sys
import tracemalloc
from pathlib import Path

from textual.widgets import Static

from oneshot_tui.core.spec import RunSettings, TaskSpec
from oneshot_tui.core.states import TaskState as S
from oneshot_tui.store.history_data import RunOrigin
from oneshot_tui.store.paths import history_db_path
from oneshot_tui.ui.app import OneshotApp, make_app
from oneshot_tui.ui.history_loader import fill, read_output, read_tail
from oneshot_tui.ui.model import RunModel
from oneshot_tui.ui.screens.history import HistoryScreen, RunTable
from oneshot_tui.ui.screens.history_run import HistoryRunScreen
from oneshot_tui.ui.screens.stats import StatsScreen
from tests.fakes import fake
from tests.ui.driving import main_screen, stop_app, until
from tests.ui.history_seed import NEWER, OLDER, seed_history

FAST = RunSettings(max_concurrent=4, heartbeat_interval=0.05)


def live_app(data_dir: Path) -> OneshotApp:
    spec = TaskSpec("live", (sys.executable, fake("quiet.py"), "still-live"))
    return make_app([spec], FAST, data_dir=data_dir)


def past_rows(screen: HistoryRunScreen) -> list[str]:
    view = screen.pane.output
    return [view.render_line(y).text.rstrip() for y in range(view.size.height)]


def test_the_tail_of_a_huge_log_is_read_without_reading_the_log(tmp_path: Path) -> None:
    log = tmp_path / "huge.log"
    with log.open("wb") as f:
        f.write(b"the very first line\n")
        f.truncate(1 << 30)  # 1 GiB, sparse: costs no disk
        f.seek(1 << 30)
        f.writelines(f"line {i}\n".encode() for i in range(20_000))
        f.write(b"unfinished last line")
    tracemalloc.start()
    try:
        [part] = read_output([(1, log)], max_bytes=1 << 20, max_lines=5_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20  # a few times the 1 MiB window, nowhere near the 1 GiB file
    assert len(part.lines) == 5_000
    assert part.lines[-2:] == ["line 19999", "unfinished last line"]
    assert part.skipped > (1 << 30) - (1 << 20)
    assert "the very first line" not in part.lines


def test_a_line_cut_by_the_window_is_dropped_and_attempts_share_one_budget(
    tmp_path: Path,
) -> None:
    first, second = tmp_path / "t.log", tmp_path / "t.2.log"
    first.write_bytes(b"".join(f"old {i}\n".encode() for i in range(100)))
    second.write_bytes(b"abcdefghij\nnew 1\r\nnew 2\n")
    lines, skipped = read_tail(second, 14)
    assert lines == ["new 1", "new 2"] and skipped == 11  # "abcdefghij" began before the window
    parts = read_output([(1, first), (2, second)], max_bytes=40, max_lines=100)
    assert [p.attempt for p in parts] == [1, 2]
    assert parts[1].lines == ["abcdefghij", "new 1", "new 2"] and parts[1].skipped == 0
    assert parts[0].lines[-1] == "old 99" and parts[0].skipped > 0  # what was left: 16 bytes
    model = RunModel(lambda _: 1000)
    info = model.add("t", "cmd")
    fill(info, parts)
    buffer = info.buffer
    shown = [
        (m.kind, m.text) if (m := buffer.marker(n)) else buffer.line(n)
        for n in range(buffer.start, buffer.end)
    ]
    assert shown[0][0] == "missed" and "earlier bytes not shown" in shown[0][1]
    assert ("attempt", "attempt 2") in shown and shown[-1] == "new 2"
    missing = read_output([(1, tmp_path / "gone.log")])
    assert missing[0].error.startswith("cannot read") and not missing[0].lines


async def test_h_lists_past_runs_and_opens_one_read_only(data_dir: Path) -> None:
    await seed_history(data_dir)
    app = live_app(data_dir)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: app.model.tasks["live"].buffer.end > 0)
        await pilot.press("h")
        await until(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.loaded)
        history = app.screen
        assert isinstance(history, HistoryScreen)
        assert [r.id for r in history.runs] == [NEWER, OLDER]  # newest first
        newer = history.runs[0]
        assert dict(newer.counts) == {"completed": 2, "failed": 1}
        assert newer.exit_code == 1
        await pilot.press("enter")  # the newest run
        await until(pilot, lambda: isinstance(app.screen, HistoryRunScreen))
        past = app.screen
        assert isinstance(past, HistoryRunScreen) and past.run_id == NEWER
        await pilot.press("i", "x", "r")  # no command exists here: nothing happens
        await until(pilot, lambda: "compiled module 30" in past_rows(past))
        assert "completed" in past.pane.title_bar.render().plain
        await pilot.press("j")  # lint: failed, exit 1, its log read when selected
        await until(pilot, lambda: "src/app.py:3: E501 line too long" in past_rows(past))
        title = past.pane.title_bar.render().plain
        assert "failed" in title and "exit 1" in title
        await pilot.press("j")  # colours rendered, not printed
        await until(pilot, lambda: "green and plain" in past_rows(past))
        # Search works as in a live pane; esc clears it first, then goes back to the list.
        await pilot.press("slash", *"green", "enter")
        await pilot.pause()
        assert past.searching()
        await pilot.press("escape")
        assert not past.searching() and app.screen is past
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, HistoryScreen))
        # j and k move in the list of runs as in the task list.
        table = app.screen.query_one(RunTable)
        await pilot.press("j")
        assert table.cursor_row == 1
        await pilot.press("k")
        assert table.cursor_row == 0
        await pilot.press("j", "enter")  # the older run, then q: straight back to live
        await until(pilot, lambda: isinstance(app.screen, HistoryRunScreen))
        older = app.screen
        assert isinstance(older, HistoryRunScreen) and older.run_id == OLDER
        await until(pilot, lambda: "hello from the past" in past_rows(older))
        await pilot.press("q")
        await until(pilot, lambda: app.screen is main_screen(app))
        # The live run went on underneath, untouched by the keys pressed in the past run.
        assert app.model.tasks["live"].state is S.RUNNING
        assert app.model.tasks["live"].attempt == 1
        assert app.result is None
        await stop_app(pilot)


async def test_the_live_run_is_listed_as_this_run_and_opens_from_its_logs(data_dir: Path) -> None:
    spec = TaskSpec("live", (sys.executable, fake("quiet.py"), "still-live"))
    app = make_app([spec], FAST, data_dir=data_dir, origin=RunOrigin(argv=("oneshot-tui",)))
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: app.model.tasks["live"].buffer.end > 0)
        await pilot.press("h")
        await until(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.loaded)
        history = app.screen
        assert isinstance(history, HistoryScreen)
        [run] = history.runs
        assert run.id == app.orch.run_id and run.status == "live"
        row = history.table.get_row_at(0)
        assert str(row[2]) == "this run"
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, HistoryRunScreen))
        past = app.screen
        assert isinstance(past, HistoryRunScreen)
        await until(pilot, lambda: "still-live" in past_rows(past))  # from its log, as it grows
        assert " running " in past.pane.title_bar.render().plain
        await pilot.press("q")
        await until(pilot, lambda: app.screen is main_screen(app))
        await stop_app(pilot)


async def test_a_corrupt_history_is_a_notification_not_a_crash(data_dir: Path) -> None:
    history_db_path(data_dir).write_bytes(b"this is not a database" * 100)
    app = live_app(data_dir)
    async with app.run_test(size=(100, 24)) as pilot:
        await until(pilot, lambda: app.model.tasks["live"].buffer.end > 0)
        await pilot.press("h")
        await until(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.loaded)
        notes = [n.message for n in app._notifications]
        assert any(m.startswith("history unavailable") for m in notes), notes
        assert isinstance(app.screen, HistoryScreen) and app.screen.runs == []
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is main_screen(app))
        assert app.model.tasks["live"].state is S.RUNNING
        await stop_app(pilot)


async def test_no_history_yet_says_so(data_dir: Path) -> None:
    app = live_app(data_dir)
    async with app.run_test(size=(100, 24)) as pilot:
        await until(pilot, lambda: app.model.tasks["live"].buffer.end > 0)
        await pilot.press("h")
        await until(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.loaded)
        assert any("no runs recorded yet" in n.message for n in app._notifications)
        await pilot.press("q")
        await until(pilot, lambda: app.screen is main_screen(app))
        await stop_app(pilot)


async def test_the_history_shows_a_runs_totals_and_s_opens_the_stats(data_dir: Path) -> None:
    await seed_history(data_dir)
    app = live_app(data_dir)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: app.model.tasks["live"].buffer.end > 0)
        await pilot.press("h")
        await until(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.loaded)
        history = app.screen
        assert isinstance(history, HistoryScreen)

        def totals() -> str:
            return str(history.query_one("#history-totals", Static).render())

        assert totals().startswith("3 tasks: 2 completed, 1 failed · 66.7% · ")
        await pilot.press("down")  # the older run
        await until(pilot, lambda: totals().startswith("1 task: 1 completed · 100.0% · "))
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, StatsScreen) and app.screen.loaded)
        stats = app.screen
        assert isinstance(stats, StatsScreen) and stats.stats is not None
        assert (stats.stats.total.runs, stats.stats.total.tasks) == (2, 4)
        body = str(stats.body.render())
        assert "success rate  75.0%" in body and "DAY" in body  # by day first
        await pilot.press("b")  # by agent: the commands are one group
        await until(pilot, lambda: stats.loaded and "(command)" in str(stats.body.render()))
        assert stats.stats.by == "agent"
        await pilot.press("w")  # the next window: 30 days
        await until(
            pilot,
            lambda: (
                stats.loaded
                and "window 30d" in str(stats.query_one("#stats-title", Static).render())
            ),
        )
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is history)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is main_screen(app))
        await stop_app(pilot)
