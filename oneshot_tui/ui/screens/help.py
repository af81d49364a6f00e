"""The `?` screen: every key and what it does."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from oneshot_tui.ui.format import STATE_ORDER, look
from oneshot_tui.ui.keys import HELP_ROWS


def _keys_table() -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    for keys, what in HELP_ROWS:
        table.add_row(keys, what)
    return table


def _states_table() -> Table:
    table = Table.grid(padding=(0, 1))
    for _ in STATE_ORDER:
        table.add_column()
    table.add_row(*(f"[{look(s).colour}]{look(s).icon} {look(s).label}[/]" for s in STATE_ORDER))
    return table


class HelpScreen(ModalScreen[None]):
    """Keys and state colours; any of esc, q or ? closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss_help", "Close", key_display="esc"),
    ]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical {
        width: 72;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        padding: 0 1;
        border: round $accent;
        border-title-color: $accent;
        background: $surface;
    }
    HelpScreen Static { width: 100%; }
    HelpScreen .-note { color: $text-muted; margin-top: 1; }
    """

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Keys"
            box.border_subtitle = "greyed keys: not for this task · esc closes"
            yield Static(_keys_table())
            yield Static(_states_table(), classes="-note")

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
