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
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from oneshot_tui.ui.ansi import to_text
from oneshot_tui.ui.buffer import LineBuffer, Marker, Search, ViewState

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

    # -- what is shown ---------------------------------------------------------------------------

    def show(self, buffer: LineBuffer, state: ViewState) -> None:
        """Display another buffer, restoring where its reader left it."""
        if self.buffer is buffer:
            return
        self._save_position()
        self.buffer, self.state = buffer, state
        self._start = buffer.start
        self._cache.clear()
        self._update_matches()
        self._adjusting = True
        try:
            self.virtual_size = Size(buffer.width, len(buffer))
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
            self.virtual_size = Size(buffer.width, len(buffer))
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
        if self.state is not None and self.state.follow:
            self._adjusting = True
            try:
                self._scroll(self.max_scroll_y)
            finally:
                self._adjusting = False

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()

    # -- drawing ---------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        buffer, state = self.buffer, self.state
        if buffer is None or state is None:
            return Strip.blank(width, base)
        height = self.scrollable_content_region.height
        if not state.follow and state.new_lines and y == height - 1:
            return self._new_lines_strip(state.new_lines, width)
        scroll_x, scroll_y = self.scroll_offset
        number = buffer.start + scroll_y + y
        if number >= buffer.end:
            if y == 0 and not len(buffer) and self.empty_text:
                style = self.get_component_rich_style("output-view--empty")
                return Strip([Segment(self.empty_text[:width], base + style)]).extend_cell_length(
                    width, base
                )
            return Strip.blank(width, base)
        marker = buffer.marker(number)
        if marker is not None:
            return self._marker_strip(marker, width)
        strip = self._cache.get(number)
        if strip is None:
            strip = self._render_number(buffer, number, state.search, base)
            if len(self._cache) >= _CACHE_SIZE:
                del self._cache[next(iter(self._cache))]
            self._cache[number] = strip
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    def _render_number(
        self, buffer: LineBuffer, number: int, search: Search | None, base: Style
    ) -> Strip:
        text = to_text(buffer.line(number))
        if search is not None and number in self._matches:
            style = "output-view--match"
            if search.current_line == number:
                style = "output-view--match-current"
            rich = self.get_component_rich_style(style)
            for start, end in search.spans(text.plain):
                text.stylize(rich, start, end)
        text.stylize_before(base)
        return Strip(text.render(self.app.console), text.cell_len)

    def _marker_strip(self, marker: Marker, width: int) -> Strip:
        kind = "output-view--divider" if marker.kind == "attempt" else "output-view--missed"
        style = self.rich_style + self.get_component_rich_style(kind)
        if marker.kind == "attempt":
            label = f"── {marker.text} "
            text = Text(label + "─" * max(width - len(label), 0), style=style)
        else:
            text = Text(f"… {marker.text}", style=style)
        text.truncate(width)
        return Strip(text.render(self.app.console), text.cell_len).extend_cell_length(
            width, self.rich_style
        )

    def _new_lines_strip(self, count: int, width: int) -> Strip:
        style = self.rich_style + self.get_component_rich_style("output-view--new-lines")
        lines = "new line" if count == 1 else "new lines"
        text = Text(f" ▼ {count:,} {lines} (f or End to follow) ".center(width), style=style)
        text.truncate(width)
        return Strip(text.render(self.app.console), text.cell_len).extend_cell_length(width, style)
