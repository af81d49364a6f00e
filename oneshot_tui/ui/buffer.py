"""The recent display lines of one task, and a search over them. Plain Python: no widgets here.

Lines are kept as the strings that arrived (SGR colours included, `\\r` rewrites resolved) and
are only turned into styled text when a pane draws them, so a task nobody looks at costs one
`list.extend` per batch. Lines are addressed by absolute numbers (the count of lines before them
since the task started), which stay valid while old lines fall out of the scrollback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rich.cells import cell_len

from oneshot_tui.core.record import record
from oneshot_tui.ui.ansi import last_segment, plain

# Old lines are deleted in chunks (a quarter of the scrollback, at least this many) so that
# trimming a list stays amortised O(1) per line while indexing stays O(1).
_MIN_TRIM = 256


@record
class Marker:
    """A line the pane draws itself: a divider between attempts, or a gap in the output."""

    kind: str
    """"attempt" or "missed"."""
    text: str


class LineBuffer:
    """At most `scrollback` recent lines, plus markers, addressed by absolute line number."""

    def __init__(self, scrollback: int) -> None:
        self.scrollback = max(scrollback, 0)
        self._lines: list[str] = []
        self._base = 0
        self.end = 0
        """The absolute number one past the last line (lines and markers ever added)."""
        self.width = 0
        """Characters in the widest line seen: the pane's horizontal scroll range."""
        self.markers: dict[int, Marker] = {}
        self.live: list[str] = []
        """What the task is drawing now, below the last line: its unfinished line, or its
        PTY's screen. Replaced as a whole (`set_live`); not numbered, not searched."""

    @property
    def rows(self) -> int:
        """Rows the pane has to show: the lines kept, then the live ones."""
        return self.end - self.start + len(self.live)

    def set_live(self, lines: list[str]) -> None:
        self.live = lines
        for line in lines:
            width = len(line) if line.isascii() and line.isprintable() else cell_len(plain(line))
            if width > self.width:
                self.width = width

    @property
    def start(self) -> int:
        """The absolute number of the oldest line still shown."""
        return max(self._base, self.end - self.scrollback)

    def __len__(self) -> int:
        return self.end - self.start

    def line(self, number: int) -> str:
        return self._lines[number - self._base]

    def marker(self, number: int) -> Marker | None:
        return self.markers.get(number) if self.markers else None

    def append_text(self, text: str, count: int) -> int:
        """Add `count` lines joined by "\\n" (an `Output` event's text); returns lines added."""
        if count <= 0:
            return 0
        return self._add(text.split("\n") if count > 1 else [text], text)

    def append(self, lines: list[str]) -> int:
        return self._add(lines, "\n".join(lines))

    def _add(self, lines: list[str], block: str) -> int:
        if not lines:
            return 0
        # Whole-block tests run in C (memchr); the per-line work below is for the rare odd lines.
        # Other control characters are rare enough to only make the width estimate a bit high.
        simple = block.isascii() and "\x1b" not in block and "\t" not in block
        simple = simple and "\r" not in block
        if not simple and "\r" in block:
            lines = [last_segment(line) if "\r" in line else line for line in lines]
        self._lines.extend(lines)
        self.end += len(lines)
        if simple:
            widest = max(map(len, lines))
        else:
            # Escapes, tabs and wide characters: measure as the pane will draw them.
            widest = max(
                len(line) if line.isascii() and line.isprintable() else cell_len(plain(line))
                for line in lines
            )
        if widest > self.width:
            self.width = widest
        self._trim()
        return len(lines)

    def replace_all(self, lines: list[str]) -> int:
        """Show `lines` instead of everything so far (numbering goes on from the old end, so
        every old line simply counts as dropped)."""
        self._lines.clear()
        self._base = self.end
        self.markers = {}
        self.live = []
        return self.append(lines)

    def add_marker(self, kind: str, text: str) -> None:
        self.markers[self.end] = Marker(kind, text)
        self._lines.append("")
        self.end += 1
        self.width = max(self.width, len(text) + 8)
        self._trim()

    def _trim(self) -> None:
        excess = len(self._lines) - self.scrollback
        if excess > max(self.scrollback // 4, _MIN_TRIM):
            del self._lines[:excess]
            self._base += excess
            if self.markers:
                self.markers = {n: m for n, m in self.markers.items() if n >= self._base}


class Search:
    """The lines of a buffer that contain a term (case-insensitive unless it has capitals).

    Matches are absolute line numbers, found incrementally as lines arrive, so `n`/`N` reach
    output written after the search began.
    """

    def __init__(self, term: str) -> None:
        self.term = term
        self.fold = term == term.lower()
        self._needle = term.lower() if self.fold else term
        self._pattern = re.compile(re.escape(term), re.IGNORECASE if self.fold else 0)
        self.matches: list[int] = []
        self.current: int | None = None
        """Index into `matches` of the match the pane shows, if any."""
        self._scanned = 0

    def scan(self, buffer: LineBuffer) -> None:
        """Look at lines added since the last scan; forget matches that left the scrollback."""
        start = buffer.start
        if self.matches and self.matches[0] < start:
            kept = [n for n in self.matches if n >= start]
            if self.current is not None:
                self.current = max(self.current - (len(self.matches) - len(kept)), 0)
            self.matches = kept
            if not kept:
                self.current = None
        needle, fold = self._needle, self.fold
        for number in range(max(self._scanned, start), buffer.end):
            if buffer.marker(number) is not None:
                continue
            text = buffer.line(number)
            if "\x1b" in text or "\t" in text or "\r" in text:
                text = plain(text)
            if needle in (text.lower() if fold else text):
                self.matches.append(number)
        self._scanned = buffer.end

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where the term occurs in a line's plain text."""
        return [m.span() for m in self._pattern.finditer(text)]

    @property
    def current_line(self) -> int | None:
        return None if self.current is None else self.matches[self.current]

    def nearest_at_or_before(self, number: int) -> None:
        """Make the last match at or above line `number` current (else the first match)."""
        if not self.matches:
            self.current = None
            return
        best = 0
        for i, match in enumerate(self.matches):
            if match > number:
                break
            best = i
        self.current = best

    def step(self, delta: int) -> None:
        """Move to the next (+1, further down) or previous (-1) match, wrapping around."""
        if not self.matches:
            self.current = None
            return
        if self.current is None:
            self.current = 0 if delta > 0 else len(self.matches) - 1
        else:
            self.current = (self.current + delta) % len(self.matches)


@dataclass
class ViewState:
    """How a task's pane was last looked at; kept per task so switching tasks loses nothing."""

    follow: bool = True
    """Keep the newest line in view."""
    scroll_y: float = 0.0
    scroll_x: float = 0.0
    top: int = 0
    """The absolute line number at the top of the pane when it was last drawn unfollowed."""
    new_lines: int = 0
    """Lines that arrived while not following (the "N new lines" marker)."""
    search: Search | None = field(default=None)
