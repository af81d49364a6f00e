"""Line selection with the keyboard (tmux's copy mode, vim's `V`): while it has the focus, the
arrows extend a range of whole lines, `y` or enter copies it, esc gives up."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Static


class LineSelect(Static, can_focus=True):
    """A line under the pane saying what is selected; it tells the pane what the keys ask."""

    DEFAULT_CSS = """
    LineSelect {
        display: none;
        dock: bottom;
        height: 1;
        padding: 0 1;
        background: $accent;
        color: $text;
        text-style: bold;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "move(-1)", "Extend up", show=False),
        Binding("down,j", "move(1)", "Extend down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,g", "move(-1_000_000_000)", "To the oldest line", show=False),
        Binding("end,G", "move(1_000_000_000)", "To the newest line", show=False),
        Binding("y,enter", "copy", "Copy", show=False),
        Binding("escape,q", "cancel", "Cancel", show=False),
    ]

    class Moved(Message):
        """Move the selection's moving end by `lines` (a page: `pages`)."""

        def __init__(self, lines: int = 0, pages: int = 0) -> None:
            super().__init__()
            self.lines = lines
            self.pages = pages

    class Copy(Message):
        """Copy the selected lines, and stop selecting."""

    class Cancelled(Message):
        """Stop selecting, copying nothing."""

    def __init__(self) -> None:
        super().__init__("")
        self.active = False

    def start(self) -> None:
        self.active = True
        self.display = True
        self.focus()

    def stop(self) -> None:
        self.active = False
        self.display = False

    def describe(self, first: int, last: int) -> None:
        count = last - first + 1
        lines = "line" if count == 1 else "lines"
        self.update(f"▤ {count:,} {lines} selected · ↑↓ extend · y copy · esc cancel")

    def action_move(self, lines: int) -> None:
        self.post_message(self.Moved(lines=lines))

    def action_page(self, pages: int) -> None:
        self.post_message(self.Moved(pages=pages))

    def action_copy(self) -> None:
        self.post_message(self.Copy())

    def action_cancel(self) -> None:
        self.post_message(self.Cancelled())

    def on_blur(self) -> None:
        if self.active:
            self.post_message(self.Cancelled())
