"""The `h` screen: past runs, newest first, the highlighted one's totals (tasks, success, time,
tokens, cost) under them; enter opens one read-only in the usual panes, `s` the stats screen.

Everything it shows comes from `DATA_DIR/history.db`, read in thread workers (a read takes
milliseconds, but it is still file I/O and must not stall the UI). A history that cannot be
read is a notification and a line on this screen, never an error that ends the app: the live
run goes on underneath.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from oneshot_tui.core.report import duration, exit_text
from oneshot_tui.core.states import TaskState
from oneshot_tui.store.history_data import RunRecord, RunStatus
from oneshot_tui.store.paths import history_db_path
from oneshot_tui.store.stats import Figures
from oneshot_tui.store.stats_report import totals_line
from oneshot_tui.ui.format import STATE_ORDER, describe, look, when
from oneshot_tui.ui.history_loader import RecordedRun, list_runs_with_totals, load_run
from oneshot_tui.ui.screens.history_run import HistoryRunScreen
from oneshot_tui.ui.screens.stats import StatsScreen

RUN_LIMIT = 200
"""Runs listed: the newest ones (`oneshot-tui history --all` lists every one)."""


def states_cell(counts: dict[str, int]) -> Text:
    """`✔ 3 ✘ 1`: tasks per final state, in the status bar's colours and order."""
    text = Text()
    known = {str(state): state for state in TaskState}
    for state in STATE_ORDER:
        n = counts.get(str(state), 0)
        if n:
            entry = look(state)
            text.append(f"{entry.icon} {n} ", style=entry.colour)
    for name in sorted(set(counts) - set(known)):  # a state a newer version wrote
        text.append(f"{name} {counts[name]} ")
    text.rstrip()
    return text


def status_cell(run: RunRecord, live_run: str) -> Text:
    if run.id == live_run:
        return Text("this run", style="bold")
    if run.status == RunStatus.FINISHED:
        shown = exit_text(run.exit_code, run.signal)
        return Text(shown, style="" if run.exit_code == 0 else "bold red")
    return Text(run.status, style="italic yellow" if run.status == RunStatus.LIVE else "red")


class RunTable(DataTable[str | Text]):
    """The runs, one row each; enter opens the row under the cursor (`RowSelected`).

    Enter is the table's own key, not the screen's: a screen (or priority) binding would act
    before the table has handled an arrow key typed just before it, and open the wrong run.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Open", key_display="enter"),
        # As in the task list: j and k move too (the table's own, like its arrows).
        Binding("j", "cursor_down", "Next run", show=False),
        Binding("k", "cursor_up", "Previous run", show=False),
    ]


class HistoryScreen(Screen[None]):
    """The list of runs. Esc or q goes back to the live run."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "reload", "Reload"),
        Binding("s", "stats", "Stats"),
        Binding("escape,q,h", "back", "Live run", key_display="esc"),
    ]

    DEFAULT_CSS = """
    HistoryScreen #history-title {
        dock: top;
        height: 1;
        background: $panel-darken-1;
        color: $text;
    }
    HistoryScreen #history-note { height: auto; padding: 0 1; color: $text-muted; }
    HistoryScreen RunTable { height: 1fr; }
    HistoryScreen #history-totals { height: 1; padding: 0 1; color: $text-muted; }
    """

    @dataclass
    class Loaded(Message):
        runs: list[RunRecord]
        totals: dict[str, Figures]

    @dataclass
    class Failed(Message):
        text: str

    @dataclass
    class Opened(Message):
        recorded: RecordedRun

    def __init__(
        self,
        data_dir: Path,
        data_dir_label: str,
        now: Callable[[], float],
        live_run: str = "",
    ) -> None:
        super().__init__()
        self.data_dir = data_dir
        self._label = data_dir_label
        self._now = now
        self.live_run = live_run
        self.runs: list[RunRecord] = []
        self.totals: dict[str, Figures] = {}
        """Run id -> its totals, for the line under the list."""
        self.loaded = False

    def compose(self) -> ComposeResult:
        yield Static(self._title(), id="history-title")
        yield Static("reading the history…", id="history-note")
        table = RunTable(cursor_type="row", zebra_stripes=True)
        for label, key in (
            ("run", "run"),
            ("started", "started"),
            ("exit", "exit"),
            ("time", "time"),
            ("tasks", "tasks"),
            ("states", "states"),
        ):
            table.add_column(label, key=key)
        yield table
        yield Static("", id="history-totals")
        yield Footer(compact=True, show_command_palette=False)

    def _title(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(" history ", style="bold reverse")
        shown = f"{len(self.runs)} run{'s' if len(self.runs) != 1 else ''}, newest first"
        text.append(f" {shown if self.loaded else 'loading…'} ", style="dim")
        text.append(f" {self._label}", style="dim")
        return text

    @property
    def table(self) -> RunTable:
        return self.query_one(RunTable)

    def on_mount(self) -> None:
        self.table.focus()
        self._load_runs()

    # -- loading (in threads) --------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="history", exit_on_error=False)
    def _load_runs(self) -> None:
        try:
            runs, totals = list_runs_with_totals(self.data_dir, RUN_LIMIT, self._now())
        except Exception as exc:  # a damaged history, a permission: tell, never crash
            self.post_message(self.Failed(f"history unavailable: {describe(exc)}"))
            return
        self.post_message(self.Loaded(runs, totals))

    @work(thread=True, exclusive=True, group="history-run", exit_on_error=False)
    def _load_run(self, run_id: str) -> None:
        try:
            recorded = load_run(self.data_dir, run_id)
        except Exception as exc:  # as above: the run may be gone, the file damaged
            self.post_message(self.Failed(f"cannot open run {run_id}: {describe(exc)}"))
            return
        self.post_message(self.Opened(recorded))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        self.runs, self.totals, self.loaded = message.runs, message.totals, True
        table = self.table
        table.clear()
        now = self._now()
        for run in message.runs:
            table.add_row(
                run.id,
                when(run.started),
                status_cell(run, self.live_run),
                duration(run.duration(now)),
                str(run.task_count),
                states_cell(dict(run.counts)),
                key=run.id,
            )
        note = self.query_one("#history-note", Static)
        if message.runs:
            note.display = False
        else:
            exists = history_db_path(self.data_dir).exists()
            note.update("no runs recorded yet" if exists else f"no history yet in {self._label}")
            note.display = True
            self.notify("no runs recorded yet", timeout=4)
        self.query_one("#history-title", Static).update(self._title())
        self._show_totals()

    def _show_totals(self) -> None:
        """The totals of the run under the cursor."""
        line = ""
        if self.runs and 0 <= self.table.cursor_row < len(self.runs):
            figures = self.totals.get(self.runs[self.table.cursor_row].id)
            line = totals_line(figures) if figures is not None else ""
        self.query_one("#history-totals", Static).update(Text(line, no_wrap=True))

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_totals()

    @on(Failed)
    def _failed(self, message: Failed) -> None:
        self.loaded = True
        note = self.query_one("#history-note", Static)
        note.update(message.text)
        note.display = True
        self.notify(message.text, severity="error", timeout=10)

    @on(Opened)
    def _opened(self, message: Opened) -> None:
        if self.is_current:  # not if the user left meanwhile
            self.app.push_screen(HistoryRunScreen(message.recorded, self._now))

    # -- keys --------------------------------------------------------------------------------------

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self._load_run(event.row_key.value)

    def action_reload(self) -> None:
        self._load_runs()

    def action_stats(self) -> None:
        self.app.push_screen(StatsScreen(self.data_dir, self._now))

    def action_back(self) -> None:
        self.dismiss(None)
