"""Contract: the real claude CLI, run by our executor in a worktree task against the fake model
server, writes its file (through its shell tool) in the task's worktree only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from oneshot_tui.core.activity import ToolCall
from oneshot_tui.core.spec import RunSettings, TaskPolicy
from oneshot_tui.core.states import TaskState as S
from oneshot_tui.core.worktree import DiffStat
from oneshot_tui.orchestrator import Orchestrator
from tests.agents.clis import require_clis, setup
from tests.agents.helpers import agent_spec, parsed, settings
from tests.fakes.model_server import FakeModelServer
from tests.git_helpers import branch_files, checkout_state, git, make_repo
from tests.helpers import run_recorded

pytestmark = pytest.mark.contract


@pytest.fixture
def server() -> Iterator[FakeModelServer]:
    require_clis()
    with FakeModelServer() as fake:
        yield fake


async def test_claude_writes_its_file_in_its_worktree_only(
    tmp_path: Path, data_dir: Path, server: FakeModelServer
) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "README.md").write_text("# demo\nthe user's own edit\n")
    before = checkout_state(repo)
    env, extra = setup("claude", tmp_path / "home", server.url)
    spec = agent_spec(
        "writer",
        settings("claude", "RUN_TOOL: echo hello > file.txt", **extra),
        cwd=repo,
        env=env,
        policy=TaskPolicy(timeout=120, grace=3, worktree=True),
    )
    result, watcher = await run_recorded(
        Orchestrator([spec], RunSettings(heartbeat_interval=0.1), data_dir=data_dir)
    )
    [r] = result.results
    log = Path(r.log_path or "").read_text(errors="replace")
    assert r.state is S.COMPLETED, f"{r.reason}\n{log[-3000:]}"
    calls = [e for e in parsed(watcher.all(), "writer") if isinstance(e, ToolCall)]
    assert [c.summary for c in calls] == ["echo hello > file.txt"], log[-3000:]

    assert r.worktree is not None and not r.worktree.error
    worktree = Path(r.worktree.worktree.path)
    assert (worktree / "file.txt").read_text() == "hello\n"
    assert not (repo / "file.txt").exists()
    assert checkout_state(repo) == before
    # The agent did not commit: the file is the branch's one uncommitted change.
    assert r.worktree.commits == 0
    assert r.worktree.uncommitted == r.worktree.total == DiffStat(1, 1, 0)
    assert "file.txt" not in branch_files(repo, "main")
    assert git(worktree, "status", "--porcelain") == "?? file.txt"
