"""Worktree tasks on the real engine: real git repositories, real processes (scripted stand-in
agents that edit and commit files, and plain commands)."""

from __future__ import annotations

import os
import subprocess
from dataclasses import replace
from pathlib import Path

import anyio
import pytest

from oneshot_tui.core.events import Output, ProcessStarted, WorktreeFinished, WorktreeReady
from oneshot_tui.core.spec import RunSettings, TaskPolicy, TaskSpec
from oneshot_tui.core.states import TaskState as S
from oneshot_tui.core.worktree import DiffStat
from oneshot_tui.orchestrator import Orchestrator
from oneshot_tui.workspace import Scope, create_worktree, diff_text, summarize, task_diff
from tests.agents.helpers import agent_spec, settings
from tests.git_helpers import (
    IDENTITY,
    branch_files,
    checkout_state,
    commit_command,
    commit_messages,
    git,
    make_repo,
)
from tests.helpers import Watcher, py, run_recorded
from tests.loop_helpers import ScriptedAgents, loop_spec, verdict

RUN = RunSettings(max_concurrent=4, heartbeat_interval=0.1)
WORKTREE = TaskPolicy(worktree=True, grace=2)


def user_repo(tmp_path: Path) -> Path:
    """The user's checkout: a commit, then uncommitted work of every kind."""
    repo = make_repo(tmp_path / "repo")
    (repo / "README.md").write_text("# demo\nuncommitted edit\n")
    (repo / "notes.txt").write_text("untracked\n")
    (repo / "src" / "staged.py").write_text("x = 1\n")
    git(repo, "add", "src/staged.py")
    return repo


def agent_task(name: str, repo: Path, agents: ScriptedAgents, shell: str) -> TaskSpec:
    env = {**agents.env, **IDENTITY, "FAKE_SHELL": shell}
    return agent_spec(name, settings("claude", f"task {name}"), cwd=repo, env=env, policy=WORKTREE)


def ready_events(watcher: Watcher, task: str) -> list[WorktreeReady]:
    return [e for e in watcher.all() if isinstance(e, WorktreeReady) and e.task_id == task]


async def test_three_agents_in_parallel_each_commit_on_their_own_branch(
    tmp_path: Path, data_dir: Path
) -> None:
    repo = user_repo(tmp_path)
    before = checkout_state(repo)
    agents = ScriptedAgents(tmp_path, [{"result": "done"}])
    specs = [
        agent_task("alpha", repo, agents, commit_command("alpha.txt", "a", "alpha: add file")),
        agent_task(
            "beta",
            repo,
            agents,
            commit_command("src/beta.py", "b = 2", "beta: one")
            + " && "
            + commit_command("src/beta.py", "c = 3", "beta: two"),
        ),
        agent_task("gamma", repo, agents, "printf 'fix\\n' >> README.md && echo new > gamma.txt"),
    ]
    orch = Orchestrator(specs, RUN, data_dir=data_dir)
    result, watcher = await run_recorded(orch)
    assert result.exit_code == 0, [(r.task_id, r.reason) for r in result.results]
    assert checkout_state(repo) == before  # HEAD, index, uncommitted and untracked files

    by_task = {r.task_id: r for r in result.results}
    paths = set()
    for name, commits in (("alpha", 1), ("beta", 2), ("gamma", 0)):
        summary = by_task[name].worktree
        assert summary is not None and not summary.error
        branch = f"oneshot/{orch.run_id}/{name}"
        assert summary.branch == branch
        assert summary.worktree.base_commit == before.head
        assert summary.worktree.base_ref == "main"
        assert summary.commits == commits
        assert summary.final_commit == git(repo, "rev-parse", branch)
        assert len(commit_messages(repo, f"main..{branch}")) == commits
        paths.add(summary.worktree.path)
        [ready] = ready_events(watcher, name)
        assert not ready.reused and Path(ready.worktree.path).is_relative_to(data_dir)
    assert len(paths) == 3

    alpha, beta, gamma = (by_task[n].worktree for n in ("alpha", "beta", "gamma"))
    assert alpha is not None and beta is not None and gamma is not None
    assert commit_messages(repo, f"main..oneshot/{orch.run_id}/alpha") == ["alpha: add file"]
    assert commit_messages(repo, f"main..oneshot/{orch.run_id}/beta") == ["beta: two", "beta: one"]
    assert "alpha.txt" in branch_files(repo, alpha.branch)
    assert "alpha.txt" not in branch_files(repo, beta.branch) | branch_files(repo, "main")
    assert alpha.total == alpha.committed == DiffStat(1, 1, 0) and alpha.uncommitted.empty
    assert beta.total == DiffStat(1, 2, 0)
    # gamma committed nothing: an edit and an untracked file, counted as uncommitted
    assert gamma.committed.empty and gamma.uncommitted == gamma.total == DiffStat(2, 2, 0)
    # The scripted agent ran in its worktree (the session line reports its cwd).
    assert all(call["binary"] == "claude" for call in agents.calls())
    finished = [e for e in watcher.all() if isinstance(e, WorktreeFinished)]
    assert sorted(e.task_id for e in finished) == ["alpha", "beta", "gamma"]


async def test_two_agents_editing_the_same_file_do_not_interfere(
    tmp_path: Path, data_dir: Path
) -> None:
    repo = make_repo(tmp_path / "repo")
    agents = ScriptedAgents(tmp_path, [{"result": "done"}])
    one = "printf 'one\\n' > README.md && git commit -qam one"
    two = "printf 'two\\n' > README.md && git commit -qam two && printf 'two more\\n' >> README.md"
    specs = [agent_task("one", repo, agents, one), agent_task("two", repo, agents, two)]
    orch = Orchestrator(specs, RUN, data_dir=data_dir)
    result, _ = await run_recorded(orch)
    assert result.exit_code == 0
    first, second = (r.worktree for r in result.results)
    assert first is not None and second is not None
    assert git(repo, "show", f"{first.branch}:README.md") == "one"
    assert git(repo, "show", f"{second.branch}:README.md") == "two"
    assert Path(first.worktree.path, "README.md").read_text() == "one\n"
    assert Path(second.worktree.path, "README.md").read_text() == "two\ntwo more\n"
    assert (repo / "README.md").read_text() == "# demo\n"
    assert first.commits == second.commits == 1
    assert first.total == DiffStat(1, 1, 1) and first.uncommitted.empty
    assert second.committed == DiffStat(1, 1, 1) and second.uncommitted == DiffStat(1, 1, 0)


async def test_a_cwd_outside_a_repository_fails_that_task_only(
    tmp_path: Path, data_dir: Path
) -> None:
    repo = make_repo(tmp_path / "repo")
    plain = tmp_path / "plain"
    plain.mkdir()
    specs = [
        TaskSpec("outside", py("-c", "print('never')"), cwd=str(plain), policy=WORKTREE),
        TaskSpec("inside", py("-c", "print('ran')"), cwd=str(repo), policy=WORKTREE),
    ]
    result, watcher = await run_recorded(Orchestrator(specs, RUN, data_dir=data_dir))
    outside, inside = result.results
    assert outside.state is S.FAILED and outside.worktree is None
    assert outside.reason == f"worktree = true, but {plain} is not in a git repository"
    assert "never" not in watcher.output_text("outside")
    assert inside.state is S.COMPLETED and inside.worktree is not None
    assert result.exit_code == 1


async def test_a_restarted_task_runs_again_in_the_same_worktree(
    tmp_path: Path, data_dir: Path
) -> None:
    repo = make_repo(tmp_path / "repo")
    script = (
        "import os, subprocess, sys, time\n"
        "if os.path.exists('first.txt'):\n"
        "    print('second attempt sees', open('first.txt').read().strip(), flush=True)\n"
        "    sys.exit(0)\n"
        "open('first.txt', 'w').write('attempt one\\n')\n"
        "subprocess.run(['git', 'add', 'first.txt'], check=True)\n"
        "subprocess.run(['git', 'commit', '-qm', 'first'], check=True)\n"
        "print('first attempt committed', flush=True)\n"
        "time.sleep(60)\n"
    )
    spec = TaskSpec("r", py("-c", script), cwd=str(repo), env=IDENTITY, policy=WORKTREE)
    orch = Orchestrator([spec], RUN, data_dir=data_dir)
    watcher = Watcher(orch.bus)
    async with anyio.create_task_group() as tg:
        tg.start_soon(orch.run)
        await watcher.wait_for(
            lambda e: isinstance(e, Output) and "first attempt committed" in e.text, 30
        )
        orch.restart("r")
        await watcher.wait_state("r", S.COMPLETED, 30)
    task = orch.tasks["r"]
    assert task.attempt == 2
    assert "second attempt sees attempt one" in watcher.output_text("r")
    first, second = ready_events(watcher, "r")
    assert (first.attempt, first.reused) == (1, False)
    assert (second.attempt, second.reused) == (2, True)
    assert second.worktree == first.worktree
    summaries = [e for e in watcher.all() if isinstance(e, WorktreeFinished)]
    assert [e.attempt for e in summaries] == [1, 2]
    assert task.worktree_summary is not None and task.worktree_summary.commits == 1
    assert not (repo / "first.txt").exists()


async def test_a_task_in_a_subdirectory_runs_in_the_same_subdirectory_of_its_worktree(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path / "repo")
    # A GIT_DIR we inherited (from a hook, say) must not send the task's commits to the user.
    monkeypatch.setenv("GIT_DIR", str(repo / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(repo))
    command = "pwd && " + commit_command("here.txt", "x", "from src")
    spec = TaskSpec("sub", command, cwd=str(repo / "src"), env=IDENTITY, policy=WORKTREE)
    orch = Orchestrator([spec], RUN, data_dir=data_dir)
    result, watcher = await run_recorded(orch)
    [r] = result.results
    assert r.state is S.COMPLETED, r.reason
    assert r.worktree is not None
    info = r.worktree.worktree
    assert info.cwd == os.path.join(info.path, "src")
    assert watcher.output_text("sub").splitlines()[0] == info.cwd
    monkeypatch.delenv("GIT_DIR")
    monkeypatch.delenv("GIT_WORK_TREE")
    assert "src/here.txt" in branch_files(repo, r.worktree.branch)
    assert commit_messages(repo, "main") == ["initial"]
    assert git(repo, "status", "--porcelain") == ""


async def test_a_loop_runs_worker_and_auditor_in_the_worktree_and_saves_it_for_resume(
    tmp_path: Path, data_dir: Path
) -> None:
    import json

    repo = make_repo(tmp_path / "repo")
    agents = ScriptedAgents(tmp_path, [{"result": "did it"}, verdict("DONE")])
    # Worker and auditor both run FAKE_SHELL: the second run finds nothing new to commit.
    shell = "printf 'loop\\n' > loop.txt && git add loop.txt && (git commit -qm loop || true)"
    env = {**agents.env, **IDENTITY, "FAKE_SHELL": shell}
    spec = loop_spec("add loop.txt", cwd=repo, env=env)
    spec = replace(spec, policy=WORKTREE)
    orch = Orchestrator([spec], RUN, data_dir=data_dir)
    result, _ = await run_recorded(orch)
    [r] = result.results
    assert r.state is S.COMPLETED, r.reason
    assert r.worktree is not None and r.worktree.commits == 1
    [state_file] = (data_dir / "oneshot").glob("*/state.json")
    saved = json.loads(state_file.read_text())["settings"]
    assert saved["cwd"] == str(repo)
    assert saved["worktree"] == {
        "path": r.worktree.worktree.path,
        "branch": r.worktree.branch,
        "cwd": r.worktree.worktree.cwd,
    }
    assert not (repo / "loop.txt").exists()


async def test_a_task_stopped_while_its_worktree_is_made_never_starts(
    tmp_path: Path, data_dir: Path
) -> None:
    repo = make_repo(tmp_path / "repo")
    # `git worktree add` runs the repository's post-checkout hook: this one holds the checkout
    # until the test lets it go, so the stop lands while the worktree is being made.
    entered, release = tmp_path / "entered", tmp_path / "release"
    hook = repo / ".git" / "hooks" / "post-checkout"
    hook.write_text(f"#!/bin/sh\ntouch {entered}\nwhile [ ! -e {release} ]; do sleep 0.01; done\n")
    hook.chmod(0o755)
    spec = TaskSpec("slow", py("-c", "print('started')"), cwd=str(repo), policy=WORKTREE)
    orch = Orchestrator([spec], RUN, data_dir=data_dir)
    watcher = Watcher(orch.bus)
    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            tg.start_soon(orch.run)
            while not entered.exists():
                await anyio.sleep(0.01)
            assert orch.interrupt("slow")
            release.touch()
    task = orch.tasks["slow"]
    assert task.state is S.FAILED and task.reason == "not started: interrupted by user"
    assert not any(isinstance(e, ProcessStarted) for e in watcher.all())
    assert task.worktree is not None  # made all the same, and reported
    assert task.worktree_summary is not None and task.worktree_summary.total.empty


async def test_a_diff_view_can_read_a_running_task_and_its_result(
    tmp_path: Path, data_dir: Path
) -> None:
    """What the TUI's `d` key calls: `task_diff` on the worktree of the `WorktreeReady` event."""
    repo = make_repo(tmp_path / "repo")
    command = (
        commit_command("src/app.py", "print(2)", "edit app")
        + " && echo draft > draft.md && echo ready && sleep 60"
    )
    spec = TaskSpec("live", command, cwd=str(repo), env=IDENTITY, policy=WORKTREE)
    orch = Orchestrator([spec], RUN, data_dir=data_dir)
    watcher = Watcher(orch.bus)
    async with anyio.create_task_group() as tg:
        tg.start_soon(orch.run)
        ready = await watcher.wait_for_a(WorktreeReady, timeout=30)
        await watcher.wait_for(lambda e: isinstance(e, Output) and "ready" in e.text, 30)
        view = await anyio.to_thread.run_sync(task_diff, ready.worktree)
        orch.interrupt("live")
    assert view.scope is Scope.ALL
    assert [(f.path, f.status, f.added, f.removed) for f in view.files] == [
        ("draft.md", "added", 1, 0),
        ("src/app.py", "modified", 1, 0),
    ]
    assert "\x1b[" in view.text and "draft" in view.text
    assert view.summary.commits == 1 and view.summary.uncommitted == DiffStat(1, 1, 0)
    committed = task_diff(ready.worktree, colour=False, scope=Scope.COMMITTED)
    assert [f.path for f in committed.files] == ["src/app.py"] and "\x1b[" not in committed.text
    # Interrupted, it still reports what it left, the same as the view saw.
    task = orch.tasks["live"]
    assert task.state is S.INTERRUPTED
    assert task.worktree_summary == view.summary


def test_inspecting_a_worktree_changes_nothing_in_it_or_in_the_object_store(
    tmp_path: Path, data_dir: Path
) -> None:
    repo = make_repo(tmp_path / "repo")
    info = create_worktree(str(repo), str(data_dir / "wt"), "oneshot/r/t")
    work = Path(info.path)
    (work / "big.bin").write_bytes(os.urandom(4096))  # untracked: counted, never stored
    (work / "README.md").write_text("changed\n")
    (work / "src" / "app.py").unlink()
    blob = git(work, "hash-object", "big.bin")
    index = (repo / ".git" / "worktrees" / "wt" / "index").read_bytes()
    status = git(work, "status", "--porcelain")

    summary = summarize(info)
    text = diff_text(info, stat=True)
    assert summary.uncommitted == summary.total == DiffStat(3, 1, 2)
    assert "big.bin" in text and "README.md" in text and "src/app.py" in text
    assert subprocess.run(["git", "cat-file", "-e", blob], cwd=repo).returncode != 0
    assert (repo / ".git" / "worktrees" / "wt" / "index").read_bytes() == index
    assert git(work, "status", "--porcelain") == status


async def test_task_names_that_make_the_same_branch_get_distinct_branches(
    tmp_path: Path, data_dir: Path
) -> None:
    repo = make_repo(tmp_path / "repo")
    specs = [
        TaskSpec(name, "true", cwd=str(repo), policy=WORKTREE) for name in ("fix it", "fix-it")
    ]
    orch = Orchestrator(specs, RUN, data_dir=data_dir)
    result, _ = await run_recorded(orch)
    assert result.exit_code == 0
    branches = sorted(r.worktree.branch for r in result.results if r.worktree is not None)
    assert branches == [f"oneshot/{orch.run_id}/fix-it", f"oneshot/{orch.run_id}/fix-it-2"]
