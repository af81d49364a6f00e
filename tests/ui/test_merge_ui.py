"""`M` in the TUI with real git: an ended worktree task's branch merged into the user's checkout
(and recorded in history), and a refusal said in a notification that changes nothing."""

from __future__ import annotations

from pathlib import Path

from oneshot_tui.core.spec import RunSettings, TaskPolicy, TaskSpec
from oneshot_tui.core.states import TaskState
from oneshot_tui.store.history import History
from oneshot_tui.store.run_origin import RunOrigin
from oneshot_tui.ui.app import OneshotApp, make_app
from tests.git_helpers import IDENTITY, checkout_state, commit_command, git, make_repo
from tests.ui.driving import stop_app, until

FAST = RunSettings(max_concurrent=4, heartbeat_interval=0.05)


def notes(app: OneshotApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


def _repo(tmp_path: Path) -> Path:
    repo = make_repo(tmp_path / "repo", {"NOTES.md": "first\n"})
    for key, value in (("user.name", "The User"), ("user.email", "user@example.invalid")):
        git(repo, "config", key, value)
    return repo


def _fix(repo: Path) -> TaskSpec:
    return TaskSpec(
        "fix",
        commit_command("NOTES.md", "from the task", "task: notes"),
        cwd=str(repo),
        env=IDENTITY,
        policy=TaskPolicy(worktree=True),
    )


async def test_m_merges_an_ended_worktree_task_and_history_records_it(
    tmp_path: Path, data_dir: Path
) -> None:
    repo = _repo(tmp_path)
    origin = RunOrigin(argv=("oneshot-tui",))
    app = make_app([_fix(repo)], FAST, data_dir=data_dir, origin=origin)
    async with app.run_test(size=(120, 24)) as pilot:
        await until(pilot, lambda: app.model.tasks["fix"].state is TaskState.COMPLETED)
        await pilot.press("M")
        await until(pilot, lambda: any("fast-forward" in n for n in notes(app)), timeout=10)
        assert (repo / "NOTES.md").read_text() == "first\nfrom the task\n"
        await stop_app(pilot)
    with History.open(data_dir) as history:
        [merge] = history.merges(app.model.run_id)
    assert (merge.task, merge.kind, merge.into) == ("fix", "fast-forward", "main")
    assert merge.commit == git(repo, "rev-parse", "HEAD")


async def test_m_in_an_unclean_checkout_says_what_to_do_and_changes_nothing(
    tmp_path: Path, data_dir: Path
) -> None:
    repo = _repo(tmp_path)
    app = make_app([_fix(repo)], FAST, data_dir=data_dir)
    async with app.run_test(size=(120, 24)) as pilot:
        await until(pilot, lambda: app.model.tasks["fix"].state is TaskState.COMPLETED)
        (repo / "NOTES.md").write_text("the user's edit\n")
        before = checkout_state(repo)
        await pilot.press("M")
        await until(pilot, lambda: any("not merged" in n for n in notes(app)), timeout=10)
        assert any("uncommitted changes (NOTES.md)" in n for n in notes(app))
        assert checkout_state(repo) == before
        await stop_app(pilot)
