"""Contract: `{{ tasks.NAME.FIELD }}` in an agent task's prompt, with the real claude CLI against
the fake model server: the plan's final answer, and a worktree task's branch and diff stat, reach
the next agent's prompt."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from oneshot_tui.core.spec import RunSettings, TaskPolicy, TaskSpec
from oneshot_tui.core.states import TaskState as S
from oneshot_tui.orchestrator import Orchestrator
from tests.agents.clis import require_clis, setup
from tests.agents.helpers import agent_spec, settings
from tests.fakes.model_server import REPLY, FakeModelServer
from tests.git_helpers import IDENTITY, commit_command, make_repo
from tests.helpers import run_recorded

pytestmark = pytest.mark.contract
RUN = RunSettings(max_concurrent=4, heartbeat_interval=0.1)
POLICY = TaskPolicy(timeout=150, grace=3)


@pytest.fixture
def server() -> Iterator[FakeModelServer]:
    require_clis()
    with FakeModelServer() as fake:
        yield fake


def claude(name: str, prompt: str, tmp_path: Path, server: FakeModelServer, cwd: Path) -> TaskSpec:
    env, extra = setup("claude", tmp_path / f"home-{name}", server.url)
    return agent_spec(name, settings("claude", prompt, **extra), cwd=cwd, env=env, policy=POLICY)


def prompts(server: FakeModelServer) -> str:
    return "\n".join(json.dumps(r["body"]) for r in server.main_requests())


async def test_the_plans_answer_is_in_the_implementers_prompt(
    tmp_path: Path, data_dir: Path, server: FakeModelServer
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    plan = claude("plan", "write a plan for the parser", tmp_path, server, work)
    implement = claude(
        "implement",
        "Implement this plan: {{ tasks.plan.result }} -- then stop",
        tmp_path,
        server,
        work,
    )
    implement = replace(implement, depends_on={"plan": "completed"})
    orch = Orchestrator([implement, plan], RUN, data_dir=data_dir)
    result, _ = await run_recorded(orch)
    assert result.exit_code == 0, [r.reason for r in result.results]
    assert f"Implement this plan: {REPLY} -- then stop" in prompts(server)
    assert "{{" not in prompts(server)
    # The template stays the task's own: a later attempt fills it in again.
    assert orch.tasks["implement"].prompt_template.startswith("Implement this plan: {{")


async def test_a_reviewer_gets_the_fixers_branch_and_diff_stat(
    tmp_path: Path, data_dir: Path, server: FakeModelServer
) -> None:
    repo = make_repo(tmp_path / "repo")
    fix = TaskSpec(
        "fix",
        commit_command("NOTES.md", "fixed it", "fix: the notes"),
        cwd=str(repo),
        env=IDENTITY,
        policy=TaskPolicy(worktree=True),
    )
    review = claude(
        "review",
        "Review {{ tasks.fix.branch }} which changed: {{ tasks.fix.diff_stat }}",
        tmp_path,
        server,
        repo,
    )
    review = replace(review, depends_on={"fix": "completed"})
    orch = Orchestrator([fix, review], RUN, data_dir=data_dir)
    result, _ = await run_recorded(orch)
    assert result.exit_code == 0, [r.reason for r in result.results]
    sent = prompts(server)
    assert f"Review oneshot/{orch.run_id}/fix which changed: " in sent
    assert "NOTES.md | 1 +" in sent
    assert orch.tasks["review"].state is S.COMPLETED


async def test_best_of_three_the_judge_picks_the_replica_whose_diff_the_model_prefers(
    tmp_path: Path, data_dir: Path, server: FakeModelServer
) -> None:
    from oneshot_tui.config import load_run_config
    from oneshot_tui.core.events import JudgeVerdict
    from tests.helpers import Watcher

    repo = make_repo(tmp_path / "repo")
    env, extra = setup("claude", tmp_path / "home", server.url)
    # Each replica runs in its own worktree (DATA_DIR/worktrees/RUN/fix_N): the second writes
    # what the fake model prefers.
    write = 'case "$PWD" in *_2) echo FAKE_PREFERRED > pick.txt;; *) echo plain > pick.txt;; esac'
    config = load_run_config(
        None,
        document={
            "task": [
                {
                    "name": "fix",
                    "agent": "claude",
                    "prompt": f"RUN_TOOL: {write}",
                    "cwd": str(repo),  # else the replicas' worktrees would be of this checkout
                    "replicas": 3,
                    "judge": "claude",
                    "judge_model": extra["model"],
                    "env": env,
                    "timeout": 150,
                    "grace": 3,
                    **extra,
                },
                {
                    # After the judge: its branch and diff are the winner's.
                    "name": "review",
                    "agent": "claude",
                    "prompt": "Review {{ tasks.fix.branch }}: {{ tasks.fix.diff_stat }}",
                    "depends_on": ["fix"],
                    "cwd": str(repo),
                    "env": env,
                    "timeout": 150,
                    "grace": 3,
                    **extra,
                },
            ]
        },
        cwd=repo,
        user_config=tmp_path / "none.toml",
    )
    assert [s.name for s in config.specs] == ["fix", "fix#1", "fix#2", "fix#3", "review"]
    orch = Orchestrator(config.specs, RUN, data_dir=data_dir)
    watcher = Watcher(orch.bus)
    result = await orch.run()
    assert result.exit_code == 0, [(r.task_id, r.reason) for r in result.results]
    [verdict] = [e for e in watcher.all() if isinstance(e, JudgeVerdict)]
    assert verdict.winner == "fix#2"
    assert verdict.losers == ("fix#1", "fix#3") == verdict.removed
    worktrees = {n: orch.tasks[n].worktree for n in ("fix#1", "fix#2", "fix#3")}
    assert all(w is not None for w in worktrees.values())
    assert Path(worktrees["fix#2"].path, "pick.txt").read_text() == "FAKE_PREFERRED\n"  # type: ignore[union-attr]
    assert not Path(worktrees["fix#1"].path).exists()  # type: ignore[union-attr]
    assert not Path(worktrees["fix#3"].path).exists()  # type: ignore[union-attr]
    branch = worktrees["fix#2"].branch  # type: ignore[union-attr]
    assert orch.tasks["fix"].reason.startswith(f"winner fix#2 (branch {branch}): ")
    judge_prompt = [r for r in prompts(server).split("\n") if "<candidates>" in r]
    assert judge_prompt and "FAKE_PREFERRED" in judge_prompt[0]
    # The reviewer's prompt: the winner's branch and its diff stat (the judge has no worktree).
    review = [r for r in prompts(server).split("\n") if f"Review {branch}: " in r]
    assert review and "pick.txt" in review[0]
