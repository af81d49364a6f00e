"""The run's summary, shown in place of the pane (`s`) once every task has ended: the tasks per
state, the ones that failed (or were stopped) with their reasons and last line, the slowest, and
the agents' tokens and cost."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from oneshot_tui.core.activity import cost, tokens
from oneshot_tui.core.report import duration
from oneshot_tui.core.states import TaskState
from oneshot_tui.ui.ansi import plain
from oneshot_tui.ui.format import STATE_ORDER, look
from oneshot_tui.ui.list_columns import exit_cell, pad
from oneshot_tui.ui.model import RunModel, TaskInfo
from oneshot_tui.ui.widgets.status_bar import run_totals

SLOWEST = 5
"""How many of the slowest tasks are listed."""
_NOT_DONE = (TaskState.FAILED, TaskState.INTERRUPTED)


def last_line(info: TaskInfo) -> str:
    """The task's last line of output (not a divider or a note), as plain text."""
    buffer = info.buffer
    for number in range(buffer.end - 1, buffer.start - 1, -1):
        if buffer.marker(number) is None:
            line = plain(buffer.line(number)).strip()
            if line:
                return line
    return ""


def summary_text(model: RunModel, now: float) -> Text:
    tasks = [model.tasks[t] for t in model.order]
    text = Text()
    finished = model.finished
    head = f"Run {model.run_id}"
    if finished is not None:
        head += f" · exit {finished.exit_code}"
    text.append(f"{head}\n", style="bold")
    counts = model.counts()
    for state in STATE_ORDER:
        if counts.get(state):
            entry = look(state)
            text.append(f"  {entry.icon} {counts[state]} {entry.label}", style=entry.colour)
    totals = run_totals(model)
    if totals is not None:
        brief = f"{tokens(totals.tokens)} tokens"
        if totals.cost_usd is not None:
            brief += f", {cost(totals.cost_usd)}"
        text.append(f"   agents: {brief}", style="cyan")
    text.append("\n")
    names = max((len(t.task_id) for t in tasks), default=0)
    for state in _NOT_DONE:
        ended = [t for t in tasks if t.state is state]
        if not ended:
            continue
        entry = look(state)
        text.append(f"\n{entry.label.capitalize()}\n", style=f"bold {entry.colour}")
        for info in ended:
            text.append(f"  {entry.icon} ", style=entry.colour)
            text.append(pad(info.task_id, names))
            ended_how = exit_cell(info)
            if ended_how:
                text.append(f"  {ended_how}", style="bold")
            text.append("\n")
            # Why, then its last words, on a line of their own (they may be long).
            why = [info.reason] if info.reason and info.reason != ended_how else []
            line = last_line(info)
            if why or line:
                text.append("    ")
                text.append(" · ".join(why), style="italic")
                if line:
                    text.append(f"{' · ' if why else ''}{line}", style="dim")
                text.append("\n")
    timed = [(t.elapsed(now), t) for t in tasks]
    slowest = sorted(
        ((took, t) for took, t in timed if took is not None), key=lambda p: p[0], reverse=True
    )[:SLOWEST]
    if slowest:
        text.append("\nSlowest\n", style="bold")
        for took, info in slowest:
            entry = look(info.state)
            text.append(f"  {entry.icon} ", style=entry.colour)
            text.append(f"{pad(info.task_id, names)}  {duration(took)}\n")
    text.append("\ns: back to the selected task's output", style="dim")
    return text


class RunSummary(VerticalScroll, can_focus=False):
    """The summary in the pane's place; the screen shows it and keeps it up to date."""

    DEFAULT_CSS = """
    RunSummary {
        width: 1fr;
        height: 1fr;
        padding: 0 1;
        display: none;
        scrollbar-size-vertical: 1;
    }
    """

    def __init__(self, model: RunModel, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.model = model

    def compose(self) -> ComposeResult:
        yield Static(id="summary-text")

    def show(self, now: float) -> None:
        self.query_one("#summary-text", Static).update(summary_text(self.model, now))
