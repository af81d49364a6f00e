"""A worktree set up like the user's checkout, with real git: `worktree_base`, `worktree_copy`
and `worktree_setup` (its output in the task's log under a divider, its failure the task's)."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

from oneshot_tui.core.events import WorktreeReady
from oneshot_tui.core.spec import RunSettings, TaskPolicy, TaskSpec
from oneshot_tui.core.states import TaskState as S
from oneshot_tui.orchestrator import Orchestrator
from tests.git_helpers import IDENTITY, checkout_state, git, make_repo
from tests.helpers import cli_argv, run_recorded

RUN = RunSettings(max_concurrent=4, heartbeat_interval=0.1)


def task(repo: Path, command: str, **policy: object) -> TaskSpec:
    return TaskSpec(
        "t",
        command,
        cwd=str(repo),
        env=IDENTITY,
        policy=TaskPolicy(worktree=True, **policy),  # type: ignore[arg-type]
    )


async def test_worktree_base_starts_from_another_branch(tmp_path: Path, data_dir: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "feature.txt").write_text("on the feature branch\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "feature")
    feature = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "main")
    orch = Orchestrator(
        [task(repo, "cat feature.txt", worktree_base="feature")], RUN, data_dir=data_dir
    )
    result, watcher = await run_recorded(orch)
    assert result.exit_code == 0, result.results[0].reason
    assert "on the feature branch" in watcher.output_text("t")
    [ready] = [e for e in watcher.all() if isinstance(e, WorktreeReady)]
    assert ready.worktree.base_commit == feature
    assert ready.worktree.base_ref == "feature"  # what it merges back into


async def test_a_worktree_base_that_is_no_ref_fails_the_task(
    tmp_path: Path, data_dir: Path
) -> None:
    repo = make_repo(tmp_path / "repo")
    orch = Orchestrator([task(repo, "true", worktree_base="nope")], RUN, data_dir=data_dir)
    result, _ = await run_recorded(orch)
    assert result.results[0].state is S.FAILED
    assert (
        result.results[0].reason == f'worktree_base "nope" is not a branch, tag or commit of {repo}'
    )


async def test_worktree_copy_brings_ignored_files_along(tmp_path: Path, data_dir: Path) -> None:
    repo = make_repo(tmp_path / "repo", {".gitignore": ".env\nconfig/local.toml\n", "a": "a\n"})
    (repo / ".env").write_text("SECRET=1\n")
    (repo / "config").mkdir()
    (repo / "config" / "local.toml").write_text("port = 1\n")
    before = checkout_state(repo)
    spec = task(repo, "cat .env config/local.toml", worktree_copy=(".env", "config/local.toml"))
    orch = Orchestrator([spec], RUN, data_dir=data_dir)
    result, watcher = await run_recorded(orch)
    assert result.exit_code == 0, result.results[0].reason
    assert watcher.output_text("t").split("\n") == ["SECRET=1", "port = 1"]
    assert checkout_state(repo) == before
    missing = Orchestrator(
        [task(repo, "true", worktree_copy=("nothere",))], RUN, data_dir=data_dir / "x"
    )
    result, _ = await run_recorded(missing)
    assert result.results[0].reason == f"worktree_copy: nothere is not in {repo}"


async def test_worktree_setup_runs_first_under_a_divider_in_the_log(
    tmp_path: Path, data_dir: Path
) -> None:
    repo = make_repo(tmp_path / "repo")
    setup = "echo installing; touch installed"
    orch = Orchestrator(
        [task(repo, "test -f installed && echo the task", worktree_setup=setup)],
        RUN,
        data_dir=data_dir,
    )
    result, _ = await run_recorded(orch)
    assert result.exit_code == 0, result.results[0].reason
    log = Path(result.results[0].log_path or "").read_text()
    assert log == f"──── worktree_setup: {setup} ────\ninstalling\n──── task ────\nthe task\n"


async def test_a_failing_setup_fails_the_task_before_it_runs(
    tmp_path: Path, data_dir: Path
) -> None:
    repo = make_repo(tmp_path / "repo")
    marker = tmp_path / "ran"
    spec = task(repo, f"touch {marker}", worktree_setup="echo no network >&2; exit 3")
    result, _ = await run_recorded(Orchestrator([spec], RUN, data_dir=data_dir))
    assert result.results[0].state is S.FAILED
    assert result.results[0].reason == "worktree_setup failed (exit 3): echo no network >&2; exit 3"
    assert not marker.exists()
    assert "no network" in Path(result.results[0].log_path or "").read_text()


def test_the_keys_work_in_run_for_every_task(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {".gitignore": ".env\n", "a": "a\n"})
    (repo / ".env").write_text("X=1\n")
    (repo / "tasks.toml").write_text(
        textwrap.dedent(
            """
            [run]
            worktree = true
            worktree_copy = [".env"]
            worktree_setup = "cp .env .env.copy"

            [[task]]
            name = "one"
            command = "cat .env.copy"

            [[task]]
            name = "two"
            command = "cat .env.copy"
            worktree_setup = "echo X=2 > .env.copy"
            """
        )
    )
    proc = subprocess.run(
        [*cli_argv(), "run", "tasks.toml", "--no-ui"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "one | X=1" in proc.stdout and "two | X=2" in proc.stdout
