"""The list of tasks, one row each with its state: virtual, so hundreds of tasks cost nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.style import Style
from textual import events
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from oneshot_tui.ui.list_columns import MUTED, Layout, plan, render_row
from oneshot_tui.ui.model import RunModel


class TaskList(ScrollView, can_focus=False):
    """One row per task (columns: `list_columns.py`); the selected row is highlighted and kept
    in view."""

    DEFAULT_CSS = """
    TaskList {
        width: 34%;
        min-width: 24;
        max-width: 72;
        height: 1fr;
        background: $panel;
        border-right: solid $foreground 15%;
        scrollbar-size-vertical: 1;
        overflow-x: hidden;
    }
    TaskList > .task-list--cursor { background: $primary 45%; }
    TaskList > .task-list--muted { color: $text-muted; }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {"task-list--cursor", "task-list--muted"}

    class Clicked(Message):
        """A row was clicked."""

        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def __init__(self, model: RunModel, now: Callable[[], float], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.model = model
        self._now = now
        self.rows: list[str] = model.order
        """The tasks shown, in order: every task, or those the state filter lets through (the
        screen sets it)."""
        self.selected = 0
        self._paint_width = 0
        self._paint_now = 0.0
        self._layout = Layout(0, 1, 0, 0, {})
        self._muted = MUTED
        self._styles: dict[str, Style] = {}

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()

    def _style(self, name: str = "") -> Style:
        """The base style, or base + a component class's style (cached: the DOM walk is slow)."""
        style = self._styles.get(name)
        if style is None:
            base = self.rich_style
            style = base + self.get_component_rich_style(name) if name else base
            self._styles[name] = style
        return style

    def sync(self) -> None:
        """Tasks were added: resize the scroll range."""
        self.virtual_size = Size(self.size.width, len(self.rows))
        self.refresh()

    def select(self, index: int) -> None:
        self.selected = index
        self.scroll_to_row(index)
        self.refresh()

    def scroll_to_row(self, index: int) -> None:
        height = self.scrollable_content_region.height
        if height <= 0:
            return
        if index < self.scroll_y:
            self.scroll_to(y=index, animate=False, force=True)
        elif index >= self.scroll_y + height:
            self.scroll_to(y=index - height + 1, animate=False, force=True)

    def refresh_task(self, task_id: str) -> None:
        try:
            index = self.rows.index(task_id)
        except ValueError:
            return
        self.refresh_line(index)

    def on_resize(self) -> None:
        self.sync()
        self.scroll_to_row(self.selected)

    def on_click(self, event: events.Click) -> None:
        index = event.y + round(self.scroll_y)
        if 0 <= index < len(self.rows):
            self.post_message(self.Clicked(index))

    def render_lines(self, crop: Region) -> list[Strip]:
        # Once per paint, not per row: the width, the clock, and the columns every row shares.
        self._paint_width = width = self.scrollable_content_region.width
        self._paint_now = now = self._now()
        layout = plan((self.model.tasks[t] for t in self.rows), width, now)
        if layout != self._layout:
            # A column came or went (or widened): the rows not repainted now must follow it.
            self._layout = layout
            self.refresh()
        muted = self._style("task-list--muted").color
        self._muted = muted.name if muted is not None else MUTED
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        width = self._paint_width
        base = self._style()
        index = y + round(self.scroll_y)
        rows = self.rows
        if index >= len(rows):
            return Strip.blank(width, base)
        info = self.model.tasks[rows[index]]
        row = render_row(info, self._layout, self._paint_now, self._muted)
        style = self._style("task-list--cursor") if index == self.selected else base
        # Under the cells' own colours, so the highlight runs unbroken through every column.
        row.stylize_before(style)
        return Strip(row.render(self.app.console), row.cell_len).extend_cell_length(width, style)
