"""The history's `s` screen: the stats of a window of runs, as `oneshot-tui stats` prints them
(the same lines, from `store/stats_report.py`). `w` changes the window, `b` the grouping; esc
goes back to the list. Read in a thread worker, like the rest of the history."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static

from oneshot_tui.store.stats import Stats
from oneshot_tui.store.stats_report import stats_lines
from oneshot_tui.ui.format import describe
from oneshot_tui.ui.history_loader import load_stats

WINDOWS: tuple[tuple[str, float | None], ...] = (
    ("7d", 7 * 86400.0),
    ("30d", 30 * 86400.0),
    ("24h", 86400.0),
    ("all", None),
)
"""The windows `w` goes through (label, seconds back from now; None: every run)."""
GROUPINGS: tuple[str | None, ...] = ("day", "agent", "model", "task", None)
"""The groupings `b` goes through (None: the totals only)."""


class StatsScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("w", "window", "Window"),
        Binding("b", "by", "Group by"),
        Binding("escape,q,s", "back", "Back", key_display="esc"),
    ]

    DEFAULT_CSS = """
    StatsScreen #stats-title {
        dock: top;
        height: 1;
        background: $panel-darken-1;
        color: $text;
    }
    StatsScreen #stats-body { padding: 0 1; width: auto; }
    """

    @dataclass
    class Loaded(Message):
        stats: Stats

    @dataclass
    class Failed(Message):
        text: str

    def __init__(self, data_dir: Path, now: Callable[[], float]) -> None:
        super().__init__()
        self.data_dir = data_dir
        self._now = now
        self.window = 0
        self.grouping = 0
        self.stats: Stats | None = None
        self.loaded = False

    def compose(self) -> ComposeResult:
        yield Static(self._title(), id="stats-title")
        with VerticalScroll():
            yield Static("reading the history…", id="stats-body")
        yield Footer(compact=True, show_command_palette=False)

    def _title(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(" stats ", style="bold reverse")
        label = WINDOWS[self.window][0]
        by = GROUPINGS[self.grouping]
        text.append(f" window {label}", style="dim")
        text.append(f" · by {by}" if by else " · totals", style="dim")
        return text

    @property
    def body(self) -> Static:
        return self.query_one("#stats-body", Static)

    def on_mount(self) -> None:
        self._load()

    def _reload(self) -> None:
        self.loaded = False
        self.query_one("#stats-title", Static).update(self._title())
        self._load()

    @work(thread=True, exclusive=True, group="stats", exit_on_error=False)
    def _load(self) -> None:
        now = self._now()
        back = WINDOWS[self.window][1]
        try:
            stats = load_stats(
                self.data_dir, None if back is None else now - back, now, GROUPINGS[self.grouping]
            )
        except Exception as exc:  # a damaged history: tell, never crash
            self.post_message(self.Failed(f"history unavailable: {describe(exc)}"))
            return
        self.post_message(self.Loaded(stats))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        self.stats, self.loaded = message.stats, True
        self.body.update(Text("\n".join(stats_lines(message.stats)), no_wrap=True))

    @on(Failed)
    def _failed(self, message: Failed) -> None:
        self.loaded = True
        self.body.update(message.text)
        self.notify(message.text, severity="error", timeout=10)

    def action_window(self) -> None:
        self.window = (self.window + 1) % len(WINDOWS)
        self._reload()

    def action_by(self) -> None:
        self.grouping = (self.grouping + 1) % len(GROUPINGS)
        self._reload()

    def action_back(self) -> None:
        self.dismiss(None)
