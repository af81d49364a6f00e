"""The top line: how many tasks need you, run id, tasks per state (and waiting for their
dependencies), the run's tokens and cost, slots in use, the list's
filter, where the logs are, and the run's phase.

What does not fit goes in a set order (`_DROP`), never the failed count first: the brand, the
data dir and the run id go before any count, and the failed count goes last of all.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.widget import Widget

from oneshot_tui.core.activity import AgentTotals, cost, tokens
from oneshot_tui.core.states import TaskState
from oneshot_tui.ui.format import STATE_ORDER, look
from oneshot_tui.ui.model import RunModel

_DROP: dict[str, int] = {
    "brand": 0,
    "dir": 1,
    "run": 2,
    "slots": 3,
    "totals": 4,
    f"state:{TaskState.COMPLETED}": 5,
    f"state:{TaskState.CREATED}": 6,
    f"state:{TaskState.INTERRUPTED}": 7,
    f"state:{TaskState.IDLE}": 8,
    f"state:{TaskState.RUNNING}": 9,
    f"state:{TaskState.CREATED}:waiting": 9,
    "shown": 10,
    "phase": 11,
    f"state:{TaskState.FAILED}": 12,
    "needs": 13,
}
"""Which segment goes first when the line is too long (lowest first)."""


def run_totals(model: RunModel) -> AgentTotals | None:
    """Tokens and cost over every agent task of the run (None when there is none)."""
    found = [info.totals for info in model.tasks.values() if info.totals is not None]
    if not found:
        return None
    total = found[0]
    for more in found[1:]:
        total = total + more
    return total


class StatusBar(Widget):
    """One line; its facts are set by the app (`in_use`, `phase`) and the screen (`shown`), the
    rest comes from the model."""

    DEFAULT_CSS = """
    StatusBar {
        dock: top;
        height: 1;
        background: $panel-darken-1;
        color: $text;
    }
    """

    def __init__(
        self,
        model: RunModel,
        data_dir: str,
        *,
        slots: bool = True,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.model = model
        self.data_dir = data_dir
        self.slots = slots
        """False for a past run: nothing is using slots."""
        self.in_use = 0
        self.phase = ""
        """"", "stopping N tasks…" or "finished · exit N" (set by the app)."""
        self.shown = ""
        """The list's filter ("failed only (2)"), or empty when it lists every task."""

    def segments(self, words: bool) -> list[tuple[str, Text]]:
        """The line's parts in order, each with its key in `_DROP`; `words`: states by name."""
        model = self.model
        parts: list[tuple[str, Text]] = [
            ("brand", Text(" oneshot-tui ", style="bold reverse")),
            ("run", Text(f" run {model.run_id} ", style="dim")),
        ]
        needing = len(model.needing())
        if needing:  # the one figure that asks for the user: before the counts, and the last to go
            shown = f"! {needing} need you" if words else f"! {needing}"
            parts.append(("needs", Text(f" {shown}", style="bold black on yellow")))
        counts = model.counts()
        # Queued tasks that wait for their dependencies (not for a slot) are counted apart.
        waiting = sum(1 for t in model.tasks.values() if t.waiting and t.state is TaskState.CREATED)
        for state in STATE_ORDER:
            n = counts.get(state, 0) - (waiting if state is TaskState.CREATED else 0)
            entry = look(state)
            if n:
                shown = f"{entry.icon} {n} {entry.label}" if words else f"{entry.icon} {n}"
                parts.append((f"state:{state}", Text(f" {shown}", style=entry.colour)))
            if state is TaskState.CREATED and waiting:
                shown = f"{entry.icon} {waiting} waiting" if words else f"{entry.icon} {waiting}w"
                parts.append((f"state:{state}:waiting", Text(f" {shown}", style=entry.colour)))
        totals = run_totals(model)
        if totals is not None:
            about = "~" if totals.estimated else ""
            brief = f"{about}{tokens(totals.tokens)} tok"
            if totals.cost_usd is not None:
                brief += f" {about}{cost(totals.cost_usd)}"
            parts.append(("totals", Text(f"  {brief}", style="cyan")))
        if self.slots:
            parts.append(("slots", Text(f"  slots {self.in_use}/{model.max_concurrent}", "bold")))
        if self.shown:
            parts.append(("shown", Text(f"  {self.shown}", style="bold reverse")))
        if self.phase:
            parts.append(("phase", Text(f"  {self.phase}", style="bold yellow")))
        parts.append(("dir", Text(f"  {self.data_dir}", style="dim")))
        return parts

    def render(self) -> Text:
        width = self.size.width
        # State words only where the whole line fits with them (the icons and colours say it).
        parts = self.segments(words=True)
        if sum(part.cell_len for _, part in parts) > width:
            parts = self.segments(words=False)
        while len(parts) > 1 and sum(part.cell_len for _, part in parts) > width:
            drop = min(parts, key=lambda p: _DROP[p[0]])
            parts.remove(drop)
        text = Text(no_wrap=True, overflow="ellipsis")
        for _, part in parts:
            text.append_text(part)
        if cell_len(text.plain) > width:  # one segment longer than the line: cut its end
            text.truncate(width, overflow="ellipsis")
        return text
