"""Asking before quitting stops tasks that are still running (or leaves them running: detach)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class ConfirmQuit(ModalScreen[str | None]):
    """Dismisses with "stop" (stop the tasks and quit), "detach" (quit; the run goes on in the
    background, `oneshot-tui attach` finds it) or None (stay)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y,ctrl+c", "answer('stop')", "Stop and quit", key_display="y"),
        Binding("d,D", "answer('detach')", "Detach", key_display="d"),
        Binding("n,escape", "answer('')", "Cancel", key_display="n"),
    ]

    DEFAULT_CSS = """
    ConfirmQuit { align: center middle; }
    ConfirmQuit > Vertical {
        width: 72;
        max-width: 100%;
        height: auto;
        padding: 1 2;
        border: round $warning;
        background: $surface;
    }
    ConfirmQuit Static { width: 100%; content-align: center middle; }
    ConfirmQuit Horizontal { height: auto; align: center middle; margin-top: 1; }
    ConfirmQuit Button { margin: 0 1; }
    """

    def __init__(self, running: int, queued: int) -> None:
        super().__init__()
        self.running = running
        self.queued = queued

    def compose(self) -> ComposeResult:
        parts = []
        if self.running:
            parts.append(f"{self.running} task{'s' if self.running != 1 else ''} still running")
        if self.queued:
            parts.append(f"{self.queued} queued")
        with Vertical():
            yield Static(f"[b]{' and '.join(parts)}.[/b]")
            them = "it" if self.running + self.queued == 1 else "them"
            yield Static(f"Stop {them} (SIGINT, SIGTERM, then SIGKILL) and quit, or detach?")
            with Horizontal():
                yield Button("Stop and quit (y)", variant="error", id="stop")
                yield Button("Detach (d)", variant="warning", id="detach")
                yield Button("Cancel (n)", variant="primary", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id if event.button.id in ("stop", "detach") else None)

    def action_answer(self, answer: str) -> None:
        self.dismiss(answer or None)
