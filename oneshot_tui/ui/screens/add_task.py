"""The `a` screen: a small form that adds a command or an agent task to the live run.

It only builds a `[[task]]` table; the run checks it as a task file is (a bad one comes back as a
notification and nothing is added).
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Select, Static

from oneshot_tui.core.spec import AGENTS

COMMAND = "command"


class AddTaskScreen(ModalScreen[dict[str, Any] | None]):
    """Dismisses with a task table (`command`, or `agent` and `prompt`; `name` if given), or
    None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    DEFAULT_CSS = """
    AddTaskScreen { align: center middle; }
    AddTaskScreen > Vertical {
        width: 80;
        max-width: 100%;
        height: auto;
        padding: 1 2;
        border: round $accent;
        background: $surface;
    }
    AddTaskScreen Static { width: 100%; margin-bottom: 1; }
    AddTaskScreen Select, AddTaskScreen Input { margin-bottom: 1; }
    AddTaskScreen .hint { color: $text-muted; margin: 0; }
    """

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("[b]Add a task to the run[/b]")
            options = [("shell command", COMMAND), *((name, name) for name in AGENTS)]
            yield Select(options, value=COMMAND, allow_blank=False, id="kind")
            yield Input(placeholder="the command, e.g. make test", id="what")
            yield Input(placeholder="name (optional)", id="name")
            yield Input(placeholder="model (agents only; optional)", id="model")
            yield Static("enter adds it · esc cancels", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#what", Input).focus()

    def on_select_changed(self, event: Select.Changed) -> None:
        what = self.query_one("#what", Input)
        agent = event.value != COMMAND
        what.placeholder = "the prompt" if agent else "the command, e.g. make test"

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = self.query_one("#what", Input).value.strip()
        if not text:
            self.query_one("#what", Input).focus()
            return
        kind = self.query_one("#kind", Select).value
        table: dict[str, Any] = (
            {"command": text} if kind == COMMAND else {"agent": str(kind), "prompt": text}
        )
        name = self.query_one("#name", Input).value.strip()
        if name:
            table["name"] = name
        model = self.query_one("#model", Input).value.strip()
        if model and kind != COMMAND:
            table["model"] = model
        self.dismiss(table)

    def action_cancel(self) -> None:
        self.dismiss(None)
