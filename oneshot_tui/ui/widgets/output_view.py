"""A task's output: a virtual, read-only log that draws only the lines in view.

It shows a `LineBuffer` (plain strings, bounded) and converts a line to styled text only when the
line is on screen, with a small cache, so 20 panes of 50,000 lines cost their strings and nothing
else. It follows the tail until the user scrolls up; then it keeps its place (even while old lines
fall out of the scrollback) and draws an "N new lines" marker on its last row until the user is
back at the bottom.
"""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from oneshot_tui.ui.ansi import to_text
from oneshot_tui.ui.buffer import LineBuffer, Marker, Search, ViewState
from oneshot_tui.ui.messages import PaneResized

_CACHE_SIZE = 1024


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

    # -- what is shown ---------------------------------------------------------------------------

    def show(self, buffer: LineBuffer, state: ViewState) -> None:
        """Display another buffer, restoring where its reader left it."""
        if self.buffer is buffer:
            return
        self._save_position()
        self.buffer, self.state = buffer, state
        self._start = buffer.start
        self._cache.clear()
        if state.search is not None:
            state.search.scan(buffer)  # lines that arrived while another task was shown
        self._update_matches()
        self._adjusting = True
        try:
            self.virtual_size = Size(buffer.width, buffer.rows)
            if state.follow:
                self._scroll(self.max_scroll_y)
            else:
                self._scroll(max(state.top - buffer.start, 0), state.scroll_x)
        finally:
            self._adjusting = False
        self.refresh()

    def lines_added(self, count: int) -> None:
        """The buffer grew by `count` lines (markers included): resize, follow or keep place."""
        buffer, state = self.buffer, self.state
        if buffer is None or state is None:
            return
        dropped = buffer.start - self._start
        self._start = buffer.start
        if state.search is not None:
            state.search.scan(buffer)
            self._update_matches()
        self._adjusting = True
        try:
            self.virtual_size = Size(buffer.width, buffer.rows)
            if state.follow:
                self._scroll(self.max_scroll_y)
            else:
                state.new_lines += count
                if dropped:
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
            self._adjusting = True
            try:
                self._scroll(self.max_scroll_y)
            finally:
                self._adjusting = False
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
                row = line - buffer.start
                height = self.scrollable_content_region.height
                if not (self.scroll_y <= row < self.scroll_y + height - 1):
                    self.set_follow(False)
                    self.scroll_to(y=max(row - height // 2, 0), animate=False, force=True)
        self.refresh()

    def scroll_top_line(self) -> int:
        """The absolute number of the line at the top of the view."""
        return (self.buffer.start if self.buffer else 0) + round(self.scroll_y)

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
        if self.state is not None and self.state.follow:
            self._adjusting = True
            try:
                self._scroll(self.max_scroll_y)
            finally:
                self._adjusting = False

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
        number = buffer.start + scroll_y + y
        if number >= buffer.end:
            live = number - buffer.end
            if live < len(buffer.live):
                # Redrawn in place as the task draws: never cached.
                return self._render_line(buffer.live[live], base).crop_extend(
                    scroll_x, scroll_x + width, base
                )
            if y == 0 and not buffer.rows and self.empty_text:
                style = self._style("output-view--empty")
                return Strip([Segment(self.empty_text[:width], style)]).extend_cell_length(
                    width, base
                )
            return Strip.blank(width, base)
        marker = buffer.marker(number)
        if marker is not None:
            return self._marker_strip(marker, width)
        strip = self._cache.get(number)
        if strip is None:
            line = buffer.line(number)
            if line.isascii() and line.isprintable() and number not in self._matches:
                # The common case, without Rich: one segment, one cell per character.
                strip = Strip([Segment(line, base)], len(line))
            else:
                strip = self._render_number(line, number, state.search, base)
            if len(self._cache) >= _CACHE_SIZE:
                del self._cache[next(iter(self._cache))]
            self._cache[number] = strip
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    def _render_line(self, line: str, base: Style) -> Strip:
        if line.isascii() and line.isprintable():
            return Strip([Segment(line, base)], len(line))
        text = to_text(line)
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
