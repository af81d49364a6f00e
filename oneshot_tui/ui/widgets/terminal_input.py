"""Input mode: while it has the focus, every key goes to the shown PTY task's terminal."""

from __future__ import annotations

from textual import events
from textual.message import Message
from textual.widgets import Static

from oneshot_tui.ui.messages import TaskCommand
from oneshot_tui.ui.terminal_keys import LEAVE_KEY, key_bytes


class TerminalInput(Static, can_focus=True):
    """A line under the pane saying where keys go; it sends them (widgets send commands)."""

    DEFAULT_CSS = """
    TerminalInput {
        display: none;
        dock: bottom;
        height: 1;
        padding: 0 1;
        background: $warning;
        color: black;
        text-style: bold;
    }
    """

    class Left(Message):
        """The user left input mode."""

    def __init__(self) -> None:
        super().__init__("")
        self.task_id: str | None = None

    def start(self, task_id: str) -> None:
        self.task_id = task_id
        self.update(f"⌨ typing into {task_id}: every key goes to it; {LEAVE_KEY} leaves")
        self.display = True
        self.focus()

    def stop(self) -> None:
        self.task_id = None
        self.display = False

    async def on_key(self, event: events.Key) -> None:
        event.stop()
        event.prevent_default()
        if event.key == LEAVE_KEY:
            self.post_message(self.Left())
            return
        data = key_bytes(event.key, event.character)
        if data and self.task_id is not None:
            self.post_message(TaskCommand("input", self.task_id, text=data))

    def on_blur(self) -> None:
        if self.task_id is not None:
            self.post_message(self.Left())
