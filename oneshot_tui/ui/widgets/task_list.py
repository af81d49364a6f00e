"""The list of tasks, one row each with its state: virtual, so hundreds of tasks cost nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from oneshot_tui.core.printable import one_line
from oneshot_tui.core.states import TaskState
from oneshot_tui.ui.format import countdown, look, short_phase
from oneshot_tui.ui.model import RunModel

NEEDS_MARK = "!"
"""A task that needs its user: failed, denied a tool, or waiting at a prompt."""
NEEDS_STYLE = "bold black on yellow"


class TaskList(ScrollView, can_focus=False):
    """Rows of `icon name … state`; the selected row is highlighted and kept in view."""

    DEFAULT_CSS = """
    TaskList {
        width: 30%;
        min-width: 22;
        max-width: 40;
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

    def __init__(
        self,
        model: RunModel,
        now: Callable[[], float] | None = None,
        *,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.model = model
        self._now = now
        """The time, for a restart's countdown (None: no countdown)."""
        self.selected = 0
        self._paint_width = 0
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
        self.virtual_size = Size(self.size.width, len(self.model.order))
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
            index = self.model.order.index(task_id)
        except ValueError:
            return
        self.refresh_line(index)

    def on_resize(self) -> None:
        self.sync()
        self.scroll_to_row(self.selected)

    def on_click(self, event: events.Click) -> None:
        index = event.y + round(self.scroll_y)
        if 0 <= index < len(self.model.order):
            self.post_message(self.Clicked(index))

    def render_lines(self, crop: Region) -> list[Strip]:
        self._paint_width = self.scrollable_content_region.width  # once per paint, not per row
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        width = self._paint_width
        base = self._style()
        index = y + round(self.scroll_y)
        order = self.model.order
        if index >= len(order):
            return Strip.blank(width, base)
        info = self.model.tasks[order[index]]
        entry = look(info.state)
        label = entry.label
        if info.waiting and info.state is TaskState.CREATED:
            label = "waiting"  # for its dependencies (the pane says which), not for a slot
        # Muted after the name: the attempt (×2), a running loop's step ("w2/3": worker,
        # iteration 2 of 3; "a2/3": its auditor) and a restart's countdown (⏳4s).
        extra = f" ×{info.attempt}" if info.attempt > 1 else ""
        phase = short_phase(info)
        if phase:
            extra += f" {phase}"
        wait = countdown(info, self._now()) if self._now is not None else ""
        if wait:
            extra += f" {wait}"
        if info.winner and info.winner == info.task_id:
            extra += " 🏆"
        elif info.lost:
            extra += " lost"
        room = width - 3 - len(label) - len(extra) - 1
        name = one_line(info.task_id)  # a name may hold a newline or an escape sequence
        if info.group and name != info.group and name.startswith(info.group):
            name = "  " + name[len(info.group) :]  # a replica, under its group's judge: "  #2"
        if room < 4:  # narrow: drop the state word, the icon still says it
            label = ""
            room = width - 3 - len(extra)
        if len(name) > room:
            name = name[: max(room - 1, 1)] + "…"
        row = Text(no_wrap=True, end="")
        if info.needs:  # needs its user: a mark of its own in place of the icon (tmux's `!`)
            row.append(" ")
            row.append(NEEDS_MARK, style=NEEDS_STYLE)
            row.append(" ")
        else:
            row.append(f" {entry.icon} ", style=entry.colour)
        row.append(name)
        if extra:
            row.append(extra, style=self._style("task-list--muted"))
        pad = width - row.cell_len - len(label) - 1
        row.append(" " * max(pad, 1))
        row.append(label, style=entry.colour)
        row.truncate(width, pad=True)
        style = self._style("task-list--cursor") if index == self.selected else base
        row.stylize_before(style)
        return Strip(row.render(self.app.console), row.cell_len).extend_cell_length(width, style)
