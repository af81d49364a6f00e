"""The PTY terminal emulator (runner/terminal.py): what a task drew, as finished lines and a
live screen, with colours as SGR, the alternate screen, resizes, and a bounded memory."""

from __future__ import annotations

import tracemalloc

import pytest

from oneshot_tui.runner.terminal import MAX_COLS, TerminalEmulator, render_row


def lines(emulator: TerminalEmulator, data: bytes) -> list[str]:
    text, count = emulator.feed(data)
    return text.split("\n") if count else []


def test_lines_that_scroll_off_the_top_are_finished_and_the_rest_is_live() -> None:
    term = TerminalEmulator(3, 20)
    assert lines(term, b"one\r\ntwo\r\n") == []
    assert term.live() == ("one", "two", "")
    assert lines(term, b"three\r\nfour\r\n") == ["one", "two"]
    assert term.live() == ("three", "four", "")
    text, count = term.flush()
    assert (text, count) == ("three\nfour", 2)  # the blank row under the cursor is not a line


def test_carriage_returns_and_cursor_moves_redraw_in_place() -> None:
    term = TerminalEmulator(5, 30)
    term.feed(b"10%\r50%\r100%")
    assert term.live() == ("100%",)
    term.feed(b"\r\nlayer a: 1%\r\nlayer b: 1%\r\n")
    term.feed(b"\x1b[2Alayer a: 9%\x1b[K\r\nlayer b: done\x1b[K\r\n")
    assert term.live() == ("100%", "layer a: 9%", "layer b: done", "")
    term.feed(b"\x1b[2J\x1b[Hclean")
    assert term.live() == ("clean",)


def test_colours_and_attributes_come_out_as_sgr_the_terminal_draws_itself() -> None:
    term = TerminalEmulator(3, 40)
    term.feed(b"\x1b[31mred\x1b[0m \x1b[35mmag\x1b[0m \x1b[1;4mbu\x1b[0m")
    term.feed(b" \x1b[38;5;208mo\x1b[38;2;1;2;3mt\x1b[0m \x1b[94mb\x1b[0m \x1b[7mr\x1b[0m")
    [row] = term.live()
    assert "\x1b[31mred\x1b[0m" in row and "\x1b[35mmag\x1b[0m" in row
    assert "\x1b[1;4mbu\x1b[0m" in row
    assert "\x1b[38;5;208mo" in row  # a 256-colour index stays an index
    assert "\x1b[38;2;1;2;3mt" in row  # truecolour as given
    assert "\x1b[94mb" in row and "\x1b[7mr" in row
    assert render_row({}, 10) == ""


def test_a_full_screen_program_on_the_alternate_screen_leaves_the_main_one_as_it_was() -> None:
    term = TerminalEmulator(4, 20)
    term.feed(b"$ htop\r\n")
    term.feed(b"\x1b[?1049h\x1b[H\x1b[2JCPU 50%\r\nMEM 20%")
    assert term.live() == ("CPU 50%", "MEM 20%", "", "")  # the whole frame
    # Scrolling on the alternate screen makes no history.
    assert lines(term, b"\r\n\r\n\r\n\r\nmore") == []
    term.feed(b"\x1b[?1049l")
    assert term.live() == ("$ htop", "")


def test_resizing_keeps_the_cursor_row_and_finishes_the_rows_above() -> None:
    term = TerminalEmulator(5, 20)
    term.feed(b"a\r\nb\r\nc\r\nd\r\ne")
    text, count = term.resize(2, 20)
    assert text.split("\n") == ["a", "b", "c"] and count == 3
    assert term.live() == ("d", "e")
    assert term.resize(10, 30) == ("", 0)
    term.feed(b"\r\n" + b"x" * 30)
    assert term.live() == ("d", "e", "x" * 30)


def test_memory_stays_bounded_whatever_the_task_writes() -> None:
    """A 5 MB line without a newline and a `\\r` loop hold one screen of cells, no more."""
    term = TerminalEmulator(10, MAX_COLS + 500)
    assert term.cols == MAX_COLS
    tracemalloc.start()
    try:
        for _ in range(5):
            term.feed(b"y" * 1_000_000)
            lines(term, b"")
        for i in range(2_000):
            term.feed(b"\r%d%%" % i)
        term.live()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # 10 x 1000 cells of a few hundred bytes each at most, and a chunk's lines handed back.
    assert peak < 15_000_000


def _everything(term: TerminalEmulator, chunks: list[bytes]) -> tuple[list[str], tuple[str, ...]]:
    finished: list[str] = []
    for chunk in chunks:
        text, count = term.feed(chunk)
        if count:
            finished.extend(text.split("\n"))
        term.live()
    return finished, term.live()


def test_a_flood_of_plain_lines_gives_what_pyte_alone_gives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The fast path for plain rows changes nothing but the time: long lines that wrap, lines
    cut by the chunk boundaries, a coloured line between plain ones."""
    data = (
        b"".join(b"line %d %s\r\n" % (i, b"x" * (i * 37 % 250)) for i in range(3000))
        + b"\x1b[31mred\x1b[0m\r\nafter\r\n"
        + b"z" * 1000
        + b"\r\nend"
    )
    chunks = [data[i : i + 4093] for i in range(0, len(data), 4093)]
    fast = _everything(TerminalEmulator(20, 80), chunks)
    monkeypatch.setattr(TerminalEmulator, "_skip_plain_rows", lambda self, data: data)
    slow = _everything(TerminalEmulator(20, 80), chunks)
    assert fast == slow
    assert fast[1][-1] == "end"


def test_what_a_flood_left_on_screen_is_there_for_redraws_and_resizes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After a flood takes the fast path, its rows are cells again when pyte needs them: a
    cursor-up redraw over them, a resize, then another flood."""
    flood = b"".join(b"row %d %s\r\n" % (i, b"w" * 70) for i in range(500))

    def run() -> tuple[list[str], tuple[str, ...]]:
        term = TerminalEmulator(10, 90)
        finished, _ = _everything(term, [flood[i : i + 4000] for i in range(0, len(flood), 4000)])
        finished += lines(term, b"\x1b[3Aover\x1b[K\r\n\r\n\r\n")  # redraw 3 rows up
        text, count = term.resize(6, 60)
        finished += text.split("\n") if count else []
        more, live = _everything(term, [flood[:5000], flood[5000:9000]])
        return finished + more, live

    fast = run()
    monkeypatch.setattr(TerminalEmulator, "_skip_plain_rows", lambda self, data: data)
    assert fast == run()
    assert any(line.startswith("over") for line in fast[0])
