"""The `m` screen: a message to an agent task, its next turn (multi-line: enter sends, ctrl+j or
shift+enter starts a new line; esc cancels)."""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.markup import escape
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Static, TextArea

from oneshot_tui.core.printable import one_line


class MessageBox(TextArea):
    """A TextArea where enter sends (it posts `Send`) and ctrl+j / shift+enter break the line."""

    class Send(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.prevent_default()
            event.stop()
            self.post_message(self.Send(self.text))
            return
        if event.key in ("ctrl+j", "shift+enter"):
            event.prevent_default()
            event.stop()
            self.insert("\n")
            return
        await super()._on_key(event)


class MessageScreen(ModalScreen[str | None]):
    """Dismisses with the message's text, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    DEFAULT_CSS = """
    MessageScreen { align: center middle; }
    MessageScreen > Vertical {
        width: 90;
        max-width: 100%;
        height: auto;
        padding: 1 2;
        border: round $accent;
        background: $surface;
    }
    MessageScreen Static { width: 100%; }
    MessageScreen MessageBox { height: 8; margin: 1 0; }
    MessageScreen .hint { color: $text-muted; }
    """

    def __init__(self, task_id: str, running: bool) -> None:
        super().__init__()
        self.task_id = task_id
        self.running = running

    def compose(self) -> ComposeResult:
        when = "when its turn ends" if self.running else "now, in its session"
        with Vertical():
            name = escape(one_line(self.task_id))
            head = f"[b]A message to {name}[/b]: the agent's next turn, {when}"
            yield Static(head)
            yield MessageBox(id="message", soft_wrap=True, show_line_numbers=False)
            yield Static("enter sends · ctrl+j a new line · esc cancels", classes="hint")

    def on_mount(self) -> None:
        self.query_one(MessageBox).focus()

    def on_message_box_send(self, message: MessageBox.Send) -> None:
        text = message.text.strip("\n")
        if text.strip():
            self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)
