"""A PTY task's output through a terminal emulator (pyte): what the task drew, not its bytes.

The screen is the task's terminal, `rows` by `cols`. A line that scrolls off its top is finished
and becomes an ordinary display line (scrollback lives where every task's lines live: the task's
bounded view and the viewers' buffers). The rows still on the screen are *live*: a redraw changes
them in place (a progress bar, docker-style layer lines, a full-screen program), so they are
published as a whole each time they change. Lines leave the emulator as strings with SGR
sequences, the form pipe output has, so every viewer draws them one way.

Memory is bounded: the emulator holds one screen of cells (plus the main screen while a program
uses the alternate one), whatever the task writes; a 200 MB line wraps into rows of `cols`.
"""

from __future__ import annotations

import re
from typing import Any

import pyte
from pyte.graphics import FG_BG_256
from pyte.screens import Char, Margins

MAX_ROWS = 500
MAX_COLS = 1000

_ALT_SCREENS = frozenset({47, 1047, 1049})
"""Private modes that switch to the alternate screen (1049 also saves the cursor)."""

_NAMES = ("black", "red", "green", "brown", "blue", "magenta", "cyan", "white")
_FG: dict[str, str] = {name: str(30 + i) for i, name in enumerate(_NAMES)}
_FG.update({"bright" + name: str(90 + i) for i, name in enumerate(_NAMES)})
_BG: dict[str, str] = {name: str(40 + i) for i, name in enumerate(_NAMES)}
_BG.update({"bright" + name: str(100 + i) for i, name in enumerate(_NAMES)})
_INDEX_256 = {hex_: i for i, hex_ in reversed(list(enumerate(FG_BG_256)))}
"""pyte keeps a 256-colour index as its hex value: back to the index, so the user's terminal
draws it with its own palette (the 16 first ones especially)."""


def _colour(value: str, names: dict[str, str], extended: str) -> str:
    code = names.get(value)
    if code is not None:
        return code
    index = _INDEX_256.get(value)
    if index is not None:
        return f"{extended};5;{index}"
    if len(value) == 6:
        try:
            r, g, b = int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)
        except ValueError:
            return ""
        return f"{extended};2;{r};{g};{b}"
    return ""


def _sgr(char: Char) -> str:
    """The SGR sequence that sets `char`'s attributes from the default ("" for none)."""
    codes: list[str] = []
    if char.bold:
        codes.append("1")
    if char.italics:
        codes.append("3")
    if char.underscore:
        codes.append("4")
    if char.blink:
        codes.append("5")
    if char.reverse:
        codes.append("7")
    if char.strikethrough:
        codes.append("9")
    if char.fg != "default":
        codes.append(_colour(char.fg, _FG, "38"))
    if char.bg != "default":
        codes.append(_colour(char.bg, _BG, "48"))
    codes = [code for code in codes if code]
    return f"\x1b[{';'.join(codes)}m" if codes else ""


def _visible(char: Char) -> bool:
    return char.data not in (" ", "") or char.bg != "default" or char.reverse


_PLAIN_ATTRS = Char(" ")[1:]
_NOT_PLAIN = re.compile(rb"[^\x20-\x7e]")


def render_row(row: dict[int, Char], cols: int) -> str:
    """One screen row as text with SGR sequences, trailing blanks dropped."""
    if not row:
        return ""
    if len(row) <= cols and all(c[1:] == _PLAIN_ATTRS for c in row.values()):
        # The common row: default attributes, no gaps: just its characters.
        width = max(row) + 1
        if width == len(row):
            return "".join(row[x].data for x in range(width)).rstrip(" ")
    last = max((x for x, c in row.items() if x < cols and _visible(c)), default=-1)
    out: list[str] = []
    current = ""
    default = " "
    for x in range(last + 1):
        char = row.get(x)
        if char is None:
            if current:
                out.append("\x1b[0m")
                current = ""
            out.append(default)
            continue
        if char.data == "":
            continue  # the second cell of a wide character
        sgr = _sgr(char)
        if sgr != current:
            out.append("\x1b[0m" + sgr if current else sgr)
            current = sgr
        out.append(char.data)
    if current:
        out.append("\x1b[0m")
    return "".join(out)


class _Screen(pyte.Screen):
    """pyte's screen, keeping the lines that scroll off the top and an alternate screen."""

    def __init__(self, columns: int, lines: int) -> None:
        super().__init__(columns, lines)
        self.scrolled: list[str] = []
        """Lines that left the top of the main screen since the last look."""
        self.saved_main: tuple[dict[int, Any], Any] | None = None
        """The main screen's rows and cursor while the alternate screen is shown."""

    def index(self) -> None:
        top, bottom = self.margins or Margins(0, self.lines - 1)
        if self.cursor.y == bottom and top == 0 and self.saved_main is None:
            self.scrolled.append(render_row(self.buffer[0], self.columns))
        super().index()

    def set_mode(self, *modes: int, **kwargs: Any) -> None:
        if kwargs.get("private") and _ALT_SCREENS.intersection(modes) and self.saved_main is None:
            self.saved_main = (dict(self.buffer), self.cursor)
            self.buffer.clear()
            self.cursor = pyte.screens.Cursor(self.cursor.x, self.cursor.y, self.cursor.attrs)
            self.dirty.update(range(self.lines))
            modes = tuple(m for m in modes if m not in _ALT_SCREENS)
        super().set_mode(*modes, **kwargs)

    def reset_mode(self, *modes: int, **kwargs: Any) -> None:
        if kwargs.get("private") and _ALT_SCREENS.intersection(modes) and self.saved_main:
            rows, cursor = self.saved_main
            self.saved_main = None
            self.buffer.clear()
            self.buffer.update(rows)
            self.cursor = cursor
            self.dirty.update(range(self.lines))
            modes = tuple(m for m in modes if m not in _ALT_SCREENS)
        super().reset_mode(*modes, **kwargs)

    def write_process_input(self, data: str) -> None:
        """Answers to queries (cursor position, device attributes) would go to the task's
        input; the task has none through us, so they are dropped."""


class TerminalEmulator:
    """Feeds a PTY's bytes to a screen; hands back finished lines and the live screen."""

    def __init__(self, rows: int, cols: int) -> None:
        self.rows, self.cols = _bounded(rows, cols)
        self._screen = _Screen(self.cols, self.rows)
        self._stream = pyte.ByteStream(self._screen)
        self._live: tuple[str, ...] = ()
        self._rendered: dict[int, str] = {}
        self._held_cr = False
        self._plain: list[str] | None = None
        """The screen's rows as plain text, after a flood of plain lines skipped pyte: written
        into pyte's cells only when something needs them (`_cells`). A flood of wide lines
        would otherwise build a screenful of cells for every read, to be replaced by the next."""

    def feed(self, data: bytes) -> tuple[str, int]:
        """Feed a chunk; returns the lines it pushed off the screen, as `LineSplitter.feed`."""
        screen = self._screen
        if self._held_cr:
            data = b"\r" + data
        # A CRLF cut by the chunk boundary would make both chunks look not plain: a trailing CR
        # waits for the next chunk (it only moves the cursor, nothing on screen changes).
        self._held_cr = data.endswith(b"\r")
        if self._held_cr:
            data = data[:-1]
        if len(data) > self.cols * 2:
            data = self._skip_plain_rows(data)
        if data:
            self._cells()
            self._stream.feed(data)
        return _joined(screen.scrolled)

    def _cells(self) -> None:
        """Put the plain rows a skip left into pyte's cells (before pyte acts on them)."""
        plain, self._plain = self._plain, None
        if plain is None:
            return
        buffer = self._screen.buffer
        buffer.clear()
        for y, text in enumerate(plain):
            if text:
                buffer[y].update({x: Char(c) for x, c in enumerate(text)})

    def _skip_plain_rows(self, data: bytes) -> bytes:
        """A flood of plain lines (printable ASCII and CRLF, the cursor at the end of a row of
        plain text, no attributes set): the rows that would scroll off the screen anyway are
        finished here, as pyte would have left them, and only the last screenful goes through
        pyte (it costs about 0.3 ms a row). Returns what is left to feed."""
        screen = self._screen
        cursor = screen.cursor
        if (
            screen.saved_main is not None
            or screen.margins is not None
            or cursor.attrs != screen.default_char
            or _NOT_PLAIN.search(data.replace(b"\r\n", b""))
        ):
            return data
        # The row being written, if the cursor is at its end, is the start of the first line.
        if self._plain is not None:
            start = self._plain[cursor.y] if cursor.y < len(self._plain) else ""
            if cursor.x != len(start):
                return data
        else:
            row: dict[int, Char] = screen.buffer.get(cursor.y) or {}
            if cursor.x != len(row) or (row and max(row) + 1 != len(row)):
                return data
            if any(c[1:] != _PLAIN_ATTRS for c in row.values()):
                return data
            start = "".join(row[x].data for x in range(len(row)))
            if not start.isascii():
                return data
        cols = self.cols
        *lines, rest = (start + data.decode("ascii")).split("\r\n")
        if not lines or max(map(len, lines)) <= cols:
            rows = lines  # no line wraps (the usual flood): a row each, as they are
        else:
            rows = [line[i : i + cols] for line in lines for i in range(0, len(line) or 1, cols)]
        tail = [rest[i : i + cols] for i in range(0, len(rest), cols)] or [""]
        rows.extend(tail[:-1])
        keep = self.rows
        if len(rows) <= keep:
            return data
        # The screen ends as pyte would leave it: the last rows - 1 rows above the cursor's row,
        # which holds the unfinished tail; the rows before them scrolled off.
        on_screen = rows[-(keep - 1) :] if keep > 1 else []
        known, dirty, plain = self._rendered, screen.dirty, self._plain
        if plain is not None:  # the rows above the cursor are known as text
            screen.scrolled.extend(plain[y].rstrip(" ") for y in range(cursor.y))
        else:
            screen.scrolled.extend(
                known[y] if y in known and y not in dirty else render_row(screen.buffer[y], cols)
                for y in range(cursor.y)
            )
        screen.scrolled.extend(row.rstrip(" ") for row in rows[: len(rows) - len(on_screen)])
        screen.buffer.clear()
        # Their text is known: rendered here, so `live` has nothing to render again; the cells
        # are made only if pyte needs them.
        self._plain = [*on_screen, tail[-1]]
        rendered = self._rendered
        rendered.clear()
        for y, text in enumerate(self._plain):
            if text:
                rendered[y] = text.rstrip(" ")
        cursor.x, cursor.y = len(tail[-1]), len(on_screen)
        screen.dirty.clear()
        return b""

    def live(self) -> tuple[str, ...]:
        """The screen's rows down to the last one written or holding the cursor."""
        screen = self._screen
        rendered = self._rendered
        for y in screen.dirty:
            if y < screen.lines:
                rendered[y] = (
                    render_row(screen.buffer[y], screen.columns) if y in screen.buffer else ""
                )
        screen.dirty.clear()
        # A full-screen program's frame is all of the screen.
        last = (
            min(screen.cursor.y, screen.lines - 1)
            if screen.saved_main is None
            else screen.lines - 1
        )
        for y in range(screen.lines - 1, last, -1):
            if rendered.get(y):
                last = y
                break
        return tuple(rendered.get(y, "") for y in range(last + 1))

    def resize(self, rows: int, cols: int) -> tuple[str, int]:
        """A new size; returns the top lines that no longer fit, as finished lines."""
        rows, cols = _bounded(rows, cols)
        screen = self._screen
        if (rows, cols) == (self.rows, self.cols):
            return "", 0
        self._cells()
        if rows < screen.lines:
            # Keep the rows down to the cursor (pyte would drop the top ones whatever they
            # hold); those above it leave the screen as finished lines.
            drop = max(screen.cursor.y + 1 - rows, 0)
            if screen.saved_main is None:
                screen.scrolled.extend(
                    render_row(screen.buffer[y], screen.columns) for y in range(drop)
                )
            old = dict(screen.buffer)
            screen.buffer.clear()
            for y in range(rows):
                if y + drop in old:
                    screen.buffer[y] = old[y + drop]
            screen.cursor.y -= drop
            screen.lines = rows
        screen.resize(rows, cols)
        screen.set_margins()
        self.rows, self.cols = rows, cols
        self._rendered.clear()
        screen.dirty.update(range(rows))
        return _joined(screen.scrolled)

    def flush(self) -> tuple[str, int]:
        """At the end: every live row becomes a finished line."""
        lines = list(self.live())
        while lines and not lines[-1]:
            lines.pop()
        self._screen.reset()
        self._rendered.clear()
        self._plain = None
        if self._screen.saved_main is not None:
            self._screen.saved_main = None
        return _joined(lines)


def _joined(lines: list[str]) -> tuple[str, int]:
    if not lines:
        return "", 0
    text = "\n".join(lines)
    count = len(lines)
    lines.clear()
    return text, count


def _bounded(rows: int, cols: int) -> tuple[int, int]:
    return min(max(rows, 2), MAX_ROWS), min(max(cols, 10), MAX_COLS)
