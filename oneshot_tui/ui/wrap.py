"""Where each line of a `LineBuffer` lands on screen when long lines wrap. Plain Python.

A wrapped line takes `ceil(cells / width)` rows (at least one), cut at the cell, as a terminal
wraps (tmux, mprocs). The map keeps the running total of rows line by line, so a row of the
view finds its line by bisection and a line finds its row in O(1); lines that arrive extend it,
lines that leave the scrollback are forgotten in chunks. A change of width or of buffer
measures the buffer again: one pass over the lines kept, on a resize or a switch of task.
"""

from __future__ import annotations

from bisect import bisect_right

from rich.cells import cell_len

from oneshot_tui.ui.ansi import plain
from oneshot_tui.ui.buffer import LineBuffer


def line_cells(line: str) -> int:
    """The cells a stored line takes on screen (as the pane draws it)."""
    return len(line) if line.isascii() and line.isprintable() else cell_len(plain(line))


def rows_for(cells: int, width: int) -> int:
    return max(1, -(-cells // width)) if width > 0 else 1


class RowMap:
    """The display rows of one buffer's lines, wrapped at `width` cells."""

    def __init__(self) -> None:
        self.width = 0
        self._buffer: LineBuffer | None = None
        self._first = 0
        """The absolute number of the line `_ends[0]` is about."""
        self._ends: list[int] = [0]
        """`_ends[i]`: the rows of the lines before line `_first + i` (so `_ends[0]` is 0)."""

    def sync(self, buffer: LineBuffer, width: int) -> None:
        """Catch up with the buffer's new lines (or measure it all for a new buffer or width)."""
        width = max(width, 1)
        known = self._first + len(self._ends) - 1
        if buffer is not self._buffer or width != self.width or known < buffer.start:
            self._buffer, self.width = buffer, width
            self._first, self._ends = buffer.start, [0]
            known = buffer.start
        elif buffer.start - self._first > max(len(self._ends) // 2, 1024):
            # Forget the lines that left the scrollback (amortised, like the buffer's own trim).
            cut = buffer.start - self._first
            drop = self._ends[cut]
            self._ends = [rows - drop for rows in self._ends[cut:]]
            self._first = buffer.start
        if known >= buffer.end:
            return
        ends = self._ends
        total = ends[-1]
        marker = buffer.marker
        for number in range(known, buffer.end):
            if marker(number) is not None:
                total += 1
            else:
                total += rows_for(line_cells(buffer.line(number)), width)
            ends.append(total)

    # Rows are counted from line `start` (the buffer's oldest line shown when the view last
    # looked): passed in, so a view can still find its old top line after lines left.

    def _base(self, start: int) -> int:
        return self._ends[min(max(start - self._first, 0), len(self._ends) - 1)]

    def row_of(self, number: int, start: int) -> int:
        """The first row of line `number`, counted from line `start`."""
        last = self._first + len(self._ends) - 1
        number = max(min(number, last), start, self._first)
        return self._ends[number - self._first] - self._base(start)

    def rows(self, start: int) -> int:
        """The rows of the numbered lines from `start` on (live lines are not in the map)."""
        return self._ends[-1] - self._base(start)

    def locate(self, row: int, start: int) -> tuple[int, int]:
        """The line on `row` (counted from line `start`) and which of its rows that is."""
        ends = self._ends
        if len(ends) < 2:
            return self._first, 0
        base = self._base(start)
        index = min(max(bisect_right(ends, row + base) - 1, 0), len(ends) - 2)
        return self._first + index, row + base - ends[index]
