"""The `v` screen: a loop task's verdict history, each iteration's verdict and feedback.

It reads the task's `LoopInfo`, which the model keeps up to date from `LoopPhase` / `LoopVerdict`
events; the app calls `refresh_content` when a batch touched the task, so a verdict that arrives
while the screen is open appears in it.
"""

from __future__ import annotations

from typing import ClassVar

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.markup import escape
from textual.screen import ModalScreen
from textual.widgets import Static

from oneshot_tui.core.printable import one_line
from oneshot_tui.ui.ansi import plain
from oneshot_tui.ui.format import phase_text
from oneshot_tui.ui.model import LoopInfo, TaskInfo

VERDICT_COLOURS = {"DONE": "#5fafff", "RETRY": "#e5c14a", "IMPOSSIBLE": "#ff5f5f"}


def _feedback(text: str) -> Text:
    # The auditor's words come from an agent: no escape sequence of theirs reaches the terminal.
    lines = [plain(line) for line in text.strip().splitlines()] or ["(no feedback)"]
    return Text("\n".join(lines), style="" if text.strip() else "italic dim")


def judgement(info: TaskInfo) -> RenderableType:
    """A best-of-N judge's verdict: the winner, the judge's reasons in full, the others."""
    verdict = info.judgement
    if verdict is None:
        return Text("No verdict yet: the judge has not answered.", style="italic dim")
    title = Text()
    title.append(" WINNER ", style="bold #101010 on #5fafff")
    title.append(f"  {verdict.winner}", style="bold")
    others = Text("\n")
    for loser in verdict.losers:
        gone = " (worktree and branch removed)" if loser in verdict.removed else " (kept)"
        others.append(f"{loser}{gone}\n", style="dim")
    return Group(title, Padding(_feedback(verdict.reasons), (1, 0, 0, 2)), others)


def verdict_history(info: TaskInfo) -> RenderableType:
    """Every verdict of the task, oldest first, with its feedback in full."""
    if info.loop is None and info.judgement is not None:
        return judgement(info)
    loop = info.loop or LoopInfo()
    parts: list[RenderableType] = []
    phase = phase_text(info)
    head = Text()
    if loop.oneshot_id:
        head.append(f"oneshot {loop.oneshot_id}", style="dim")
    if phase:
        head.append(f"  now: {phase}", style="bold magenta")
    elif loop.max_iterations:
        head.append(f"  {len(loop.verdicts)} of at most {loop.max_iterations} iterations")
    if head.plain:
        parts.append(head)
    if not loop.verdicts:
        parts.append(Text("No verdict yet: the auditor has not answered.", style="italic dim"))
    several_attempts = len({v.attempt for v in loop.verdicts}) > 1
    for entry in loop.verdicts:
        title = Text()
        title.append(f"\n#{entry.iteration}", style="bold")
        if several_attempts:
            title.append(f" (attempt {entry.attempt})", style="dim")
        title.append("  ")
        if entry.well_formed:
            colour = VERDICT_COLOURS.get(entry.verdict, "bold")
            title.append(f" {entry.verdict} ", style=f"bold #101010 on {colour}")
        else:
            title.append(" ? ", style="bold #101010 on #a0a0a0")
        if not entry.well_formed:
            title.append("  unreadable answer: the auditor was asked again", style="italic")
        parts.append(title)
        if entry.well_formed:
            parts.append(Padding(_feedback(entry.feedback), (0, 0, 0, 2)))
        else:
            parts.append(Padding(Text("The auditor said:", style="dim"), (0, 0, 0, 2)))
            parts.append(Padding(_feedback(entry.answer or "(nothing)"), (0, 0, 0, 4)))
    return Group(*parts)


class VerdictScreen(ModalScreen[None]):
    """Scrollable; esc, q or v closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,v", "close", "Close", key_display="esc"),
    ]

    DEFAULT_CSS = """
    VerdictScreen { align: center middle; }
    VerdictScreen > VerticalScroll {
        width: 90;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        padding: 0 1;
        border: round $accent;
        border-title-color: $accent;
        background: $surface;
    }
    VerdictScreen Static { width: 100%; }
    """

    def __init__(self, info: TaskInfo) -> None:
        super().__init__()
        self.info = info

    @property
    def task_id(self) -> str:
        return self.info.task_id

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = f"Verdicts · {escape(one_line(self.info.task_id))}"
            box.border_subtitle = "↑↓ pgup pgdn scroll · esc closes"
            yield Static(verdict_history(self.info), id="verdicts")

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()

    def refresh_content(self) -> None:
        """The task changed (a new phase or verdict): redraw, staying at the end if there."""
        box = self.query_one(VerticalScroll)
        at_end = box.scroll_y >= box.max_scroll_y
        self.query_one("#verdicts", Static).update(verdict_history(self.info))
        if at_end:
            box.call_after_refresh(box.scroll_end, animate=False)

    def action_close(self) -> None:
        self.dismiss(None)
