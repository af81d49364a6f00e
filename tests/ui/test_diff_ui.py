"""Worktree tasks in the TUI: the branch and changes in the pane title, and `d`, the diff view."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from textual.widgets import Static

from oneshot_tui.core.spec import RunSettings, TaskPolicy, TaskSpec
from oneshot_tui.core.states import TaskState as S
from oneshot_tui.ui.app import make_app
from oneshot_tui.ui.screens.diff import DiffScreen
from tests.git_helpers import IDENTITY, commit_command, make_repo
from tests.ui.driving import main_screen, stop_app, title_text, until

FAST = RunSettings(max_concurrent=4, heartbeat_interval=0.05)


def plain_text(widget: Static) -> str:
    """What a Static shows, as plain text (its content rendered by Rich, colours dropped)."""
    console = Console(width=200, color_system=None, file=io.StringIO())
    with console.capture() as capture:
        console.print(widget.content)
    return capture.get()


async def test_d_shows_what_a_worktree_task_changed(data_dir: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    edit = commit_command("README.md", "a line from the agent", "agent: edit the readme")
    specs = [
        TaskSpec(
            "agent", edit, cwd=str(repo), env=IDENTITY, policy=replace(TaskPolicy(), worktree=True)
        ),
        TaskSpec("plain", "echo no worktree", cwd=str(repo)),
    ]
    app = make_app(specs, FAST, data_dir=data_dir)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = main_screen(app)
        await until(pilot, lambda: all(t.state.ended for t in app.model.tasks.values()))
        await until(pilot, lambda: bool(app.model.tasks["agent"].changes))
        await pilot.pause()
        assert app.model.tasks["agent"].state is S.COMPLETED
        title = title_text(app)
        assert "⎇ oneshot/" in title and "1 commit" in title
        # Not a worktree task: d is greyed for it.
        await pilot.press("j")
        assert screen.check_action("diff", ()) is None
        await pilot.press("d")
        assert not isinstance(app.screen, DiffScreen)
        await pilot.press("k", "d")
        assert isinstance(app.screen, DiffScreen)
        shown = app.screen.query_one("#diff", Static)
        await until(pilot, lambda: "a line from the agent" in plain_text(shown))
        text = plain_text(shown)
        assert "README.md" in text and "+a line from the agent" in text
        await pilot.press("escape")
        assert not isinstance(app.screen, DiffScreen)
        assert (repo / "README.md").read_text() == "# demo\n"  # the user's checkout: untouched
        await stop_app(pilot)
