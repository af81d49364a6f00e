"""The top line: run id, tasks per state, slots in use, where the logs are, and the run's phase."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from oneshot_tui.core.states import TaskState
from oneshot_tui.ui.format import STATE_ORDER, look
from oneshot_tui.ui.model import RunModel


class StatusBar(Widget):
    """One line; its facts are set by the app (`in_use`, `phase`), the rest comes from the model."""

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

    def render(self) -> Text:
        model = self.model
        # Below 120 columns the state words go (the icons and colours say it) and the name too.
        wide = self.size.width >= 120
        text = Text(no_wrap=True, overflow="ellipsis")
        if wide:
            text.append(" oneshot-tui ", style="bold reverse")
        text.append(f" run {model.run_id} ", style="dim")
        needing = len(model.needing())
        if needing:  # first: the one figure that asks for the user
            text.append(" ")
            shown = f"! {needing} need you" if wide else f"! {needing}"
            text.append(shown, style="bold black on yellow")
        counts = model.counts()
        # Queued tasks that wait for their dependencies (not for a slot) are counted apart.
        waiting = sum(1 for t in model.tasks.values() if t.waiting and t.state is TaskState.CREATED)
        for state in STATE_ORDER:
            n = counts.get(state, 0) - (waiting if state is TaskState.CREATED else 0)
            if n:
                entry = look(state)
                text.append(" ")
                shown = f"{entry.icon} {n} {entry.label}" if wide else f"{entry.icon} {n}"
                text.append(shown, style=entry.colour)
            if state is TaskState.CREATED and waiting:
                entry = look(state)
                shown = f"{entry.icon} {waiting} waiting" if wide else f"{entry.icon} {waiting}w"
                text.append(f" {shown}", style=entry.colour)
        if self.slots:
            text.append(f"  slots {self.in_use}/{model.max_concurrent}", style="bold")
        if self.phase:
            text.append(f"  {self.phase}", style="bold yellow")
        text.append(f"  {self.data_dir}", style="dim")
        return text
