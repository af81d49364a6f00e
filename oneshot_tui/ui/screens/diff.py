"""The `d` screen: what a worktree task changed, as `git diff` prints it, coloured and scrollable.

The diff is read in a thread worker (a few git commands); the UI never waits for git. It is safe
while the agent still runs: nothing in the worktree is written.
"""

from __future__ import annotations

from typing import ClassVar

from rich.console import Group
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.markup import escape
from textual.screen import ModalScreen
from textual.widgets import Static

from oneshot_tui.core.printable import one_line
from oneshot_tui.core.worktree import WorktreeInfo
from oneshot_tui.workspace import GitError, TaskDiff, WorkspaceError, task_diff

MAX_DIFF_CHARS = 2_000_000
"""A diff larger than this is cut (the rest is one `oneshot-tui diff RUN TASK` away)."""


def render_diff(diff: TaskDiff, task_id: str) -> Group:
    head = Text()
    head.append(f"⎇ {diff.summary.branch}", style="bold green")
    head.append(f"  {diff.summary.changes_text()}", style="dim")
    text = diff.text
    cut = len(text) > MAX_DIFF_CHARS
    if cut:
        text = text[:MAX_DIFF_CHARS]
    # git's colours are SGR only; Text.from_ansi drops anything else it does not understand.
    body = Text.from_ansi(text) if text.strip() else Text("No changes.", style="italic dim")
    parts: list[Text] = [head, Text(""), body]
    if cut:
        parts.append(
            Text(f"\n… cut: see `oneshot-tui diff RUN {one_line(task_id)}`", style="italic")
        )
    return Group(*parts)


class DiffScreen(ModalScreen[None]):
    """Scrollable; esc, q or d closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,d", "close", "Close", key_display="esc"),
    ]

    DEFAULT_CSS = """
    DiffScreen { align: center middle; }
    DiffScreen > VerticalScroll {
        width: 100%;
        height: 100%;
        padding: 0 1;
        border: round $accent;
        border-title-color: $accent;
        background: $surface;
    }
    DiffScreen Static { width: auto; min-width: 100%; }
    """

    def __init__(self, task_id: str, worktree: WorktreeInfo) -> None:
        super().__init__()
        self.task_id = task_id
        self.worktree = worktree

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = f"Diff · {escape(one_line(self.task_id))}"
            box.border_subtitle = "↑↓ ←→ pgup pgdn scroll · esc closes"
            yield Static(Text("Reading the diff…", style="italic dim"), id="diff")

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()
        self._load()

    @work(thread=True, exclusive=True, group="diff")
    def _load(self) -> None:
        try:
            diff = task_diff(self.worktree, colour=True)
        except (GitError, WorkspaceError, OSError) as exc:
            shown = Text(f"No diff: {exc}", style="bold red")
            self.app.call_from_thread(self._show, shown)
            return
        self.app.call_from_thread(self._show, render_diff(diff, self.task_id))

    def _show(self, content: Group | Text) -> None:
        if self.is_attached:
            self.query_one("#diff", Static).update(content)

    def action_close(self) -> None:
        self.dismiss(None)
