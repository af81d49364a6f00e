"""A task's output: a virtual, read-only log that draws only the lines in view.

It shows a `LineBuffer` (plain strings, bounded) and converts a line to styled text only when the
line is on screen, with a small cache, so 20 panes of 50,000 lines cost their strings and nothing
else. It follows the tail until the user scrolls up; then it keeps its place (even while old lines
fall out of the scrollback) and draws an "N new lines" marker on its last row until the user is
back at the bottom.

Long lines wrap by default (`wrap`; off, they are cut and the view scrolls sideways): rows are
then display rows, which a `RowMap` maps to lines. Text can be selected with the mouse (Textual's
selection: each strip carries its line number and column) or a range of lines with the keyboard
(`select_lines`); the selection's text is the lines' plain text.
"""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Offset, Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.selection import Selection
from textual.strip import Strip

from oneshot_tui.ui.ansi import plain, to_text
from oneshot_tui.ui.buffer import LineBuffer, Marker, Search, ViewState
from oneshot_tui.ui.messages import PaneResized
from oneshot_tui.ui.wrap import RowMap, line_cells, rows_for

_CACHE_SIZE = 1024
_WHOLE_LINE = 1 << 30
"""A selection's end column that takes the rest of its line."""


class OutputView(ScrollView, can_focus=False):
    """The scrolling output of one task at a time (the pane swaps buffers on selection)."""

    DEFAULT_CSS = """
    OutputView {
        background: $surface;
        scrollbar-size-vertical: 1;
        scrollbar-size-horizontal: 1;
    }
    OutputView > .output-view--divider { color: $accent; text-style: bold; }
    OutputView > .output-view--missed { color: $warning; text-style: italic; }
    OutputView > .output-view--new-lines { background: $accent; color: $text; text-style: bold; }
    OutputView > .output-view--match { background: $warning 40%; }
    OutputView > .output-view--match-current { background: $warning; color: black; }
    OutputView > .output-view--empty { color: $text-muted; }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "output-view--divider",
        "output-view--missed",
        "output-view--new-lines",
        "output-view--match",
        "output-view--match-current",
        "output-view--empty",
    }

    class FollowChanged(Message):
        """Following the tail started or stopped (the user scrolled)."""

        def __init__(self, follow: bool) -> None:
            super().__init__()
            self.follow = follow

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.buffer: LineBuffer | None = None
        self.state: ViewState | None = None
        self.empty_text = ""
        """Shown on the first row while the buffer has no lines."""
        self._start = 0
        self._cache: dict[int, Strip] = {}
        self._matches: frozenset[int] = frozenset()
        self._adjusting = False
        self._paint_width = 0
        self._paint_height = 0
        self._styles: dict[str, Style] = {}
        """The widget's and its component classes' styles: computing them walks the DOM, which
        is too slow to do for every line of every frame."""
        self.wrap = True
        """Long lines wrap (else they are cut, and the view scrolls sideways)."""
        self._map = RowMap()
        self._selection: Selection | None = None
        """The screen's selection in this view (kept here: drawing asks for it on every row)."""

    # -- rows: lines, or display rows when wrapping -------------------------------------------

    @property
    def wrap_width(self) -> int:
        """Cells per row of a wrapped line: the text columns, the scrollbar's one left out (so
        rows do not change when it comes and goes), as the PTY's size."""
        return max(self.size.width - 1, 1)

    def _measure(self) -> Size:
        """The virtual size for the current buffer (the row map caught up first)."""
        buffer = self.buffer
        if buffer is None:
            return Size(0, 0)
        if not self.wrap:
            return Size(buffer.width, buffer.rows)
        width = self.wrap_width
        self._map.sync(buffer, width)
        live = sum(rows_for(line_cells(line), width) for line in buffer.live)
        return Size(width, self._map.rows(buffer.start) + live)

    def _row_of(self, number: int) -> int:
        """The first row of line `number` (from the buffer's oldest line shown)."""
        assert self.buffer is not None
        start = self.buffer.start
        return self._map.row_of(number, start) if self.wrap else max(number - start, 0)

    def _line_at(self, row: int) -> int:
        """The line on `row` (live rows count as the line after the last)."""
        buffer = self.buffer
        assert buffer is not None
        if not self.wrap:
            return buffer.start + row
        if row >= self._map.rows(buffer.start):
            return buffer.end
        return self._map.locate(row, buffer.start)[0]

    # -- what is shown ---------------------------------------------------------------------------

    def show(self, buffer: LineBuffer, state: ViewState) -> None:
        """Display another buffer, restoring where its reader left it."""
        if self.buffer is buffer:
            return
        self._save_position()
        self.clear_selection()
        self.buffer, self.state = buffer, state
        self._start = buffer.start
        self._cache.clear()
        if state.search is not None:
            state.search.scan(buffer)  # lines that arrived while another task was shown
        self._update_matches()
        self._place(None if state.follow else max(state.top, buffer.start))

    def _place(self, top: int | None, scroll_x: float | None = None) -> None:
        """Measure again, then follow the tail (`top` None) or show line `top` first."""
        state = self.state
        self._adjusting = True
        try:
            self.virtual_size = self._measure()
            if state is not None and state.follow:
                self._scroll(self.max_scroll_y)
                # Again once the scrollbars are laid out: the sideways one, coming with a
                # wider virtual size, takes a row, and the newest line would hide under it.
                self.call_after_refresh(self._follow_tail)
            elif top is not None:
                x = 0 if self.wrap else (state.scroll_x if scroll_x is None and state else scroll_x)
                self._scroll(self._row_of(top), x)
        finally:
            self._adjusting = False
        self.refresh()

    def _follow_tail(self) -> None:
        if self.state is not None and self.state.follow:
            self._to_tail()

    def _to_tail(self) -> None:
        """Scroll to the newest row, as the view's own move (not the user's scrolling)."""
        self._adjusting = True
        try:
            self._scroll(self.max_scroll_y)
        finally:
            self._adjusting = False

    def set_wrap(self, wrap: bool) -> None:
        """Wrap long lines, or cut them (sideways scrolling); the top line stays on top."""
        if wrap == self.wrap:
            return
        top = self.scroll_top_line() if self.buffer is not None else None
        self.wrap = wrap
        self._place(top, 0)

    def lines_added(self, count: int) -> None:
        """The buffer grew by `count` lines (markers included): resize, follow or keep place."""
        buffer, state = self.buffer, self.state
        if buffer is None or state is None:
            return
        old_start = self._start
        dropped = buffer.start - old_start
        top: tuple[int, int] | None = None
        if dropped and not state.follow and self.wrap:
            # Found before the map forgets the lines that left.
            top = self._map.locate(round(self.scroll_y), old_start)
        self._start = buffer.start
        if state.search is not None:
            state.search.scan(buffer)
            self._update_matches()
        self._adjusting = True
        try:
            self.virtual_size = self._measure()
            if state.follow:
                self._scroll(self.max_scroll_y)
            else:
                state.new_lines += count
                if top is not None:
                    number, sub = top
                    row = self._row_of(number) + sub if number >= buffer.start else 0
                    self._scroll(row)
                elif dropped:
                    self._scroll(max(self.scroll_y - dropped, 0))
        finally:
            self._adjusting = False
        self.refresh()

    def set_follow(self, follow: bool) -> None:
        state = self.state
        if state is None or state.follow == follow:
            return
        state.follow = follow
        if follow:
            state.new_lines = 0
            self._to_tail()
        self.refresh()
        self.post_message(self.FollowChanged(follow))

    def search_changed(self) -> None:
        """The search (term or current match) changed: redraw, and bring the match into view."""
        self._update_matches()
        self._cache.clear()
        state, buffer = self.state, self.buffer
        if state is not None and buffer is not None and state.search is not None:
            line = state.search.current_line
            if line is not None:
                self.bring_into_view(line)
        self.refresh()

    def bring_into_view(self, number: int) -> None:
        """Scroll (unfollowing) so line `number` is in view, in the middle if it was not."""
        row = self._row_of(number)
        height = self.scrollable_content_region.height
        if not (self.scroll_y <= row < self.scroll_y + height - 1):
            self.set_follow(False)
            self.scroll_to(y=max(row - height // 2, 0), animate=False, force=True)

    def scroll_top_line(self) -> int:
        """The absolute number of the line at the top of the view."""
        if self.buffer is None:
            return 0
        return self._line_at(round(self.scroll_y))

    def last_visible_line(self) -> int:
        """The absolute number of the last numbered line in view (or the last line)."""
        buffer = self.buffer
        if buffer is None:
            return 0
        bottom = round(self.scroll_y) + max(self.scrollable_content_region.height, 1) - 1
        return max(min(self._line_at(bottom), buffer.end - 1), buffer.start)

    def _scroll(self, y: float, x: float | None = None) -> None:
        self.scroll_to(x=x, y=y, animate=False, force=True)

    def _save_position(self) -> None:
        if self.state is not None and self.buffer is not None:
            self.state.top = self.scroll_top_line()
            self.state.scroll_x = self.scroll_x

    def _update_matches(self) -> None:
        search = self.state.search if self.state is not None else None
        self._matches = frozenset(search.matches) if search is not None else frozenset()
        self._cache.clear()

    # -- selection -------------------------------------------------------------------------------

    def select_lines(self, first: int, last: int) -> None:
        """Select whole lines `first`..`last` (absolute numbers, either order)."""
        first, last = sorted((first, last))
        self.screen.selections = {self: Selection(Offset(0, first), Offset(_WHOLE_LINE, last))}

    def clear_selection(self) -> None:
        if self._selection is not None and self.is_attached:
            self.screen.selections = {}
        self._selection = None

    @property
    def has_selection(self) -> bool:
        return self._selection is not None

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        # Offsets are (column, absolute line number): every strip is drawn with its own.
        buffer = self.buffer
        if buffer is None:
            return None
        live_end = buffer.end + len(buffer.live)
        first, first_x = (buffer.start, 0) if selection.start is None else selection.start.transpose
        last, last_x = (
            (live_end - 1, _WHOLE_LINE) if selection.end is None else selection.end.transpose
        )
        first, last = max(first, buffer.start), min(last, live_end - 1)
        lines: list[str] = []
        for number in range(first, last + 1):
            text = self._plain_line(number)
            end = last_x if number == last else len(text)
            lines.append(text[first_x if number == first else 0 : end])
        return "\n".join(lines), "\n"

    def _plain_line(self, number: int) -> str:
        buffer = self.buffer
        assert buffer is not None
        if number >= buffer.end:
            live = number - buffer.end
            return plain(buffer.live[live]) if live < len(buffer.live) else ""
        marker = buffer.marker(number)
        if marker is not None:
            return marker.text
        return plain(buffer.line(number))

    def selection_updated(self, selection: Selection | None) -> None:
        self._selection = selection
        self.refresh()

    # -- following the user's scrolling ---------------------------------------------------------

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        state = self.state
        if state is None or self._adjusting:
            return
        at_end = new_value >= self.max_scroll_y
        if at_end != state.follow:
            state.follow = at_end
            if at_end:
                state.new_lines = 0
            self.refresh()
            self.post_message(self.FollowChanged(at_end))

    def on_resize(self) -> None:
        # A PTY task's terminal is the pane: text columns (the scrollbar's one left out, so the
        # size does not change when it comes and goes) by rows.
        size = self.size
        self.post_message(PaneResized(max(size.height, 1), max(size.width - 1, 1)))
        if self.buffer is None:
            return
        if self.wrap and self._map.width != self.wrap_width:
            # Rows change with the width: measure again, keeping the top line on top (found
            # before the map measures the new width).
            state = self.state
            self._place(None if state is None or state.follow else self.scroll_top_line())
        else:
            self._follow_tail()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self._cache.clear()

    def _style(self, name: str = "") -> Style:
        """The widget's base style, or base + a component class's style (cached)."""
        style = self._styles.get(name)
        if style is None:
            base = self.rich_style
            style = base + self.get_component_rich_style(name) if name else base
            self._styles[name] = style
        return style

    # -- drawing ---------------------------------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        # Measured once per paint: each size lookup goes through the compositor's map, and
        # doing it per line cost more than drawing the line.
        self._paint_width = self.size.width
        self._paint_height = self.scrollable_content_region.height
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        width = self._paint_width
        base = self._style()
        buffer, state = self.buffer, self.state
        if buffer is None or state is None:
            return Strip.blank(width, base)
        height = self._paint_height
        if not state.follow and state.new_lines and y == height - 1:
            return self._new_lines_strip(state.new_lines, width)
        scroll_x, scroll_y = self.scroll_offset
        row = scroll_y + y
        if self.wrap:
            return self._wrapped_row(row, width, base)
        number = buffer.start + row
        if number >= buffer.end:
            live = number - buffer.end
            if live < len(buffer.live):
                # Redrawn in place as the task draws: never cached.
                strip = self._render_line(buffer.live[live], number, base)
                return strip.crop_extend(scroll_x, scroll_x + width, base).apply_offsets(
                    scroll_x, number
                )
            return self._empty_row(y, width, base)
        marker = buffer.marker(number)
        if marker is not None:
            return self._marker_strip(marker, width).apply_offsets(0, number)
        strip = self._line_strip(number, base)
        return strip.crop_extend(scroll_x, scroll_x + width, base).apply_offsets(scroll_x, number)

    def _wrapped_row(self, row: int, width: int, base: Style) -> Strip:
        buffer = self.buffer
        assert buffer is not None
        wrap = self.wrap_width
        if row >= self._map.rows(buffer.start):
            # The live lines, below the numbered ones: wrapped the same way, never cached.
            row -= self._map.rows(buffer.start)
            for live, line in enumerate(buffer.live):
                rows = rows_for(line_cells(line), wrap)
                if row < rows:
                    strip = self._render_line(line, buffer.end + live, base)
                    return self._cut(strip, row, wrap, width, base, buffer.end + live)
                row -= rows
            return self._empty_row(row, width, base)
        number, sub = self._map.locate(row, buffer.start)
        if number >= buffer.end:
            return Strip.blank(width, base)
        marker = buffer.marker(number)
        if marker is not None:
            return self._marker_strip(marker, width).apply_offsets(0, number)
        return self._cut(self._line_strip(number, base), sub, wrap, width, base, number)

    @staticmethod
    def _cut(strip: Strip, sub: int, wrap: int, width: int, base: Style, number: int) -> Strip:
        """Row `sub` of a line wrapped at `wrap` cells, `width` wide, with its selection offsets
        (the column is in characters, as Textual's selection counts them)."""
        start = sub * wrap
        row = strip.crop_extend(start, start + wrap, base).extend_cell_length(width, base)
        column = sum(len(segment.text) for segment in strip.crop(0, start)) if sub else 0
        return row.apply_offsets(column, number)

    def _empty_row(self, y: int, width: int, base: Style) -> Strip:
        buffer = self.buffer
        if y == 0 and buffer is not None and not buffer.rows and self.empty_text:
            style = self._style("output-view--empty")
            return Strip([Segment(self.empty_text[:width], style)]).extend_cell_length(width, base)
        return Strip.blank(width, base)

    def _line_strip(self, number: int, base: Style) -> Strip:
        """Numbered line `number`, whole (uncut), from the cache when nothing marks it."""
        buffer, state = self.buffer, self.state
        assert buffer is not None and state is not None
        span = self._selected_span(number)
        strip = self._cache.get(number) if span is None else None
        if strip is None:
            line = buffer.line(number)
            if span is not None:
                strip = self._render_line(line, number, base)
            elif line.isascii() and line.isprintable() and number not in self._matches:
                # The common case, without Rich: one segment, one cell per character.
                strip = Strip([Segment(line, base)], len(line))
            else:
                strip = self._render_number(line, number, state.search, base)
            if span is None:
                if len(self._cache) >= _CACHE_SIZE:
                    del self._cache[next(iter(self._cache))]
                self._cache[number] = strip
        return strip

    def _selected_span(self, number: int) -> tuple[int, int] | None:
        selection = self._selection
        return None if selection is None else selection.get_span(number)

    def _render_line(self, line: str, number: int, base: Style) -> Strip:
        span = self._selected_span(number)
        if span is None and line.isascii() and line.isprintable():
            return Strip([Segment(line, base)], len(line))
        text = to_text(line)
        if span is not None:
            start, end = span
            style = self.screen.get_component_rich_style("screen--selection")
            text.stylize(style, start, len(text) if end == -1 else end)
        text.stylize_before(base)
        return Strip(text.render(self.app.console), text.cell_len)

    def _render_number(self, line: str, number: int, search: Search | None, base: Style) -> Strip:
        text = to_text(line)
        if search is not None and number in self._matches:
            name = "output-view--match"
            if search.current_line == number:
                name = "output-view--match-current"
            style = self.get_component_rich_style(name)
            for start, end in search.spans(text.plain):
                text.stylize(style, start, end)
        text.stylize_before(base)
        return Strip(text.render(self.app.console), text.cell_len)

    def _marker_strip(self, marker: Marker, width: int) -> Strip:
        kind = "output-view--divider" if marker.kind == "attempt" else "output-view--missed"
        style = self._style(kind)
        if marker.kind == "attempt":
            label = f"── {marker.text} "
            text = Text(label + "─" * max(width - len(label), 0), style=style)
        else:
            text = Text(f"… {marker.text}", style=style)
        text.truncate(width)
        return Strip(text.render(self.app.console), text.cell_len).extend_cell_length(
            width, self._style()
        )

    def _new_lines_strip(self, count: int, width: int) -> Strip:
        style = self._style("output-view--new-lines")
        lines = "new line" if count == 1 else "new lines"
        text = Text(f" ▼ {count:,} {lines} (f or End to follow) ".center(width), style=style)
        text.truncate(width)
        return Strip(text.render(self.app.console), text.cell_len).extend_cell_length(width, style)
