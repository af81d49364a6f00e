"""A pane's title bar: name, state badge, attempt, loop phase, times, a rate-limit countdown,
exit, agent totals, worktree branch and changes, search and agent activity."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.widget import Widget

from oneshot_tui.core.printable import one_line
from oneshot_tui.core.states import TaskState
from oneshot_tui.ui.format import badge, end_text, phase_text, retry_text, timing_text
from oneshot_tui.ui.model import TaskInfo


class PaneTitle(Widget):
    """One line describing the task shown in the pane below it."""

    DEFAULT_CSS = """
    PaneTitle {
        height: 1;
        background: $panel;
        color: $text;
    }
    """

    def __init__(self, now: Callable[[], float], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._now = now
        self.info: TaskInfo | None = None

    def show(self, info: TaskInfo | None) -> None:
        self.info = info
        self.refresh()

    def render(self) -> Text:
        info = self.info
        text = Text(no_wrap=True, overflow="ellipsis")
        if info is None:
            return text
        text.append(f" {one_line(info.task_id)} ", style="bold")
        text.append_text(badge(info.state))
        if info.turns > 1:
            text.append(f" turn {info.turns}", style="bold")
        elif info.attempt > 1:
            text.append(f" attempt {info.attempt}", style="bold")
        if info.queued_messages:
            s = "s" if info.queued_messages > 1 else ""
            text.append(f" · {info.queued_messages} message{s} queued", style="bold yellow")
        if info.agent:
            after = f" (after {info.previous_agent})" if info.previous_agent else ""
            text.append(f" · {info.agent}{after}", style="bold cyan")
        now = self._now()
        phase = phase_text(info)
        if phase:
            text.append(f" · {phase}", style="bold magenta")
        elif info.step and not info.state.ended and info.loop is None:
            text.append(f" · {info.step}")
        timing = timing_text(info, now)
        if timing:
            text.append(f"  {timing}")
        if info.winner and info.winner != info.task_id:
            text.append(f"  winner {info.winner}", style="bold green")
        if info.waiting and info.state is TaskState.CREATED:
            text.append(f"  waiting for {info.waiting}", style="bold yellow")
        elif info.ready and info.state.active:
            text.append("  ready", style="bold green")
        retry = retry_text(info, now)
        if retry:
            text.append(f"  ⏳ {retry}", style="bold yellow")
        ended = end_text(info)
        if ended:
            style = "bold red" if info.state is TaskState.FAILED else "bold"
            text.append(f"  {ended}", style=style)
        if info.state.ended and info.reason and not info.reason.startswith("exit "):
            text.append(f"  {one_line(info.reason)}", style="italic")
        if info.totals is not None:
            text.append(f"  {info.totals.brief()}", style="dim")
        if info.attention and info.state.ended:
            text.append(f"  ⚠ {info.attention}", style="bold yellow")
        if info.worktree is not None:
            text.append(f"  ⎇ {info.worktree.branch}", style="green")
            if info.changes and info.state.ended:
                text.append(f" {info.changes}", style="dim")
        search = info.view.search
        if search is not None:
            position = "" if search.current is None else f"{search.current + 1}/"
            found = f"{position}{len(search.matches)}" if search.matches else "no match"
            text.append(f'  search "{search.term}" {found}', style="bold yellow")
        if info.activity:
            text.append(f"  │ {info.activity}", style="cyan")
        return text
