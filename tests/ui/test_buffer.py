"""The bounded line store behind a pane, and search over it."""

from __future__ import annotations

from oneshot_tui.ui.buffer import LineBuffer, Search


def numbered(n: int, start: int = 0) -> list[str]:
    return [f"line {i}" for i in range(start, start + n)]


def visible(buffer: LineBuffer) -> list[str]:
    return [buffer.line(n) for n in range(buffer.start, buffer.end)]


def test_keeps_exactly_the_last_scrollback_lines_with_stable_numbers() -> None:
    buffer = LineBuffer(1000)
    for batch in range(50):
        buffer.append(numbered(100, batch * 100))
        assert len(buffer) == min((batch + 1) * 100, 1000)
        assert buffer.line(buffer.end - 1) == f"line {(batch + 1) * 100 - 1}"
    assert buffer.end == 5000 and buffer.start == 4000
    assert visible(buffer) == numbered(1000, 4000)
    assert buffer.line(4321) == "line 4321"  # absolute numbers survive trimming
    assert len(buffer._lines) <= 1000 + max(1000 // 4, 256) + 100  # memory stays bounded


def test_text_blocks_and_carriage_returns() -> None:
    buffer = LineBuffer(10)
    assert buffer.append_text("a\nb\nc", 3) == 3
    assert buffer.append_text("progress 10%\rprogress 90%", 1) == 1
    assert buffer.append_text("", 0) == 0
    assert visible(buffer) == ["a", "b", "c", "progress 90%"]
    assert buffer.width == len("progress 90%")


def test_markers_take_a_line_and_leave_with_it() -> None:
    buffer = LineBuffer(300)
    buffer.append(["first"])
    buffer.add_marker("attempt", "attempt 2")
    buffer.append(["second"])
    marker = buffer.marker(1)
    assert marker is not None and marker.text == "attempt 2"
    assert buffer.marker(0) is None and buffer.marker(2) is None
    for i in range(5):
        buffer.append(numbered(300, i * 300))
    assert buffer.start > 1 and not buffer.markers


def test_zero_scrollback_shows_nothing() -> None:
    buffer = LineBuffer(0)
    buffer.append(numbered(10))
    assert len(buffer) == 0


def test_search_is_smart_case_ignores_colour_codes_and_finds_new_lines() -> None:
    buffer = LineBuffer(100)
    buffer.append(["an Error here", "\x1b[31merr\x1b[0mor in red", "fine", "ERROR loud"])
    search = Search("error")
    search.scan(buffer)
    assert search.matches == [0, 1, 3]
    strict = Search("Error")
    strict.scan(buffer)
    assert strict.matches == [0]
    buffer.append(["late error"])
    search.scan(buffer)
    assert search.matches == [0, 1, 3, 4]
    assert search.spans("an error, another error") == [(3, 8), (18, 23)]


def test_search_steps_wrap_and_start_near_the_view() -> None:
    buffer = LineBuffer(100)
    buffer.append([f"{'hit' if i % 10 == 0 else 'miss'} {i}" for i in range(50)])
    search = Search("hit")
    search.scan(buffer)
    assert search.matches == [0, 10, 20, 30, 40]
    search.nearest_at_or_before(25)
    assert search.current_line == 20
    search.step(1)
    assert search.current_line == 30
    search.step(1)
    search.step(1)
    assert search.current_line == 0  # wrapped
    search.step(-1)
    assert search.current_line == 40


def test_search_forgets_matches_that_left_the_scrollback() -> None:
    buffer = LineBuffer(300)
    buffer.append(["needle", *numbered(10)])
    search = Search("needle")
    search.scan(buffer)
    search.step(1)
    assert search.current_line == 0
    buffer.append(numbered(1000))
    search.scan(buffer)
    assert search.matches == [] and search.current is None


def test_width_counts_cells_not_escape_codes() -> None:
    buffer = LineBuffer(10)
    buffer.append(["\x1b]0;a long window title that is never drawn\x07ok", "\x1b[31mred\x1b[0m"])
    assert buffer.width == 3
    buffer.append(["日本語", "a\tb"])
    assert buffer.width == 9  # three wide characters are six cells; a tab expands to 8
