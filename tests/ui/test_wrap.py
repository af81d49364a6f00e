"""Where wrapped lines land: the row map behind a wrapping pane."""

from __future__ import annotations

import sys
from pathlib import Path

from oneshot_tui.core.spec import RunSettings, TaskSpec
from oneshot_tui.ui.app import make_app
from oneshot_tui.ui.buffer import LineBuffer
from oneshot_tui.ui.wrap import RowMap, line_cells, rows_for
from tests.ui.driving import main_screen, pane_rows, stop_app, until


def test_a_line_takes_a_row_per_width_of_cells_and_at_least_one() -> None:
    assert [rows_for(cells, 10) for cells in (0, 1, 10, 11, 25)] == [1, 1, 1, 2, 3]
    assert line_cells("plain") == 5
    assert line_cells("\x1b[31mred\x1b[0m") == 3  # colour codes take no room
    assert line_cells("宽字") == 4  # wide characters take two cells
    assert line_cells("a\tb") == 9  # a tab runs to the next stop of 8


def test_rows_and_lines_find_each_other() -> None:
    buffer = LineBuffer(100)
    buffer.append(["short", "x" * 25, "y" * 10])
    buffer.add_marker("attempt", "attempt 2" * 10)  # a marker is one row, however long
    rows = RowMap()
    rows.sync(buffer, 10)
    assert rows.rows(buffer.start) == 1 + 3 + 1 + 1
    assert [rows.row_of(n, 0) for n in range(4)] == [0, 1, 4, 5]
    assert [rows.locate(r, 0) for r in range(6)] == [
        (0, 0),
        (1, 0),
        (1, 1),
        (1, 2),
        (2, 0),
        (3, 0),
    ]
    buffer.append(["z" * 11])  # lines that arrive extend the map
    rows.sync(buffer, 10)
    assert rows.rows(0) == 8 and rows.locate(7, 0) == (4, 1)
    rows.sync(buffer, 5)  # another width: measured again
    assert rows.rows(0) == 1 + 5 + 2 + 1 + 3


def test_lines_that_leave_the_scrollback_leave_the_map_and_old_rows_stay_readable() -> None:
    buffer = LineBuffer(300)
    rows = RowMap()
    for batch in range(40):
        buffer.append(["w" * 25 if n % 2 else "n" for n in range(100)])
        old_start = buffer.start
        top = rows.locate(7, old_start) if batch else None
        rows.sync(buffer, 10)
        if top is not None:  # a view can still find its old top line after the sync
            assert top[0] >= old_start
        assert rows.rows(buffer.start) == sum(
            3 if n % 2 else 1 for n in range(buffer.start, buffer.end)
        )
    assert len(rows._ends) <= 300 + 1024 + 101  # forgotten in chunks: bounded
    first = buffer.start
    assert rows.row_of(first, first) == 0 and rows.locate(0, first) == (first, 0)


def test_a_buffer_shown_anew_is_measured_anew() -> None:
    one, two = LineBuffer(10), LineBuffer(10)
    one.append(["a" * 30])
    two.append(["b"])
    rows = RowMap()
    rows.sync(one, 10)
    assert rows.rows(0) == 3
    rows.sync(two, 10)
    assert rows.rows(0) == 1


async def test_the_mouse_selects_across_wrapped_rows_and_y_copies_the_text(data_dir: Path) -> None:
    line = "ab" + "c" * 150 + "END"
    script = f"print('header'); print({line!r}); print('footer'); import time; time.sleep(30)"
    spec = TaskSpec("long", (sys.executable, "-u", "-c", script))
    app = make_app([spec], RunSettings(), data_dir=data_dir)
    async with app.run_test(size=(100, 24)) as pilot:
        await until(pilot, lambda: "footer" in pane_rows(app))
        view = main_screen(app).pane.output
        width = view.wrap_width
        rows = pane_rows(app)
        assert rows[1].startswith("abccc") and rows[2].startswith("c" * 10)  # wrapped
        assert "END" in rows[2 + (len(line) - 1) // width - 1]
        # Drag from column 1 of the long line's first row to column 4 of its second row.
        await pilot.mouse_down(view, offset=(1, 1))
        await pilot.hover(view, offset=(4, 2))
        await pilot.mouse_up(view, offset=(4, 2))
        await pilot.pause()
        assert view.has_selection
        await pilot.press("y")
        await pilot.pause()
        # Columns within the line, not the row; the end column is taken (as Textual does).
        assert app.clipboard == line[1 : width + 5]
        assert not view.has_selection
        # And whole lines with the keyboard: the last line in view, then two more above.
        await pilot.press("V", "k", "k", "y")
        await pilot.pause()
        assert app.clipboard == "\n".join(["header", line, "footer"])
        await stop_app(pilot)
