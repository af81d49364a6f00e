"""Worktree tasks end to end through the console scripts: the summary, NDJSON, history, `diff`,
`worktrees` and `worktrees clean`, on real repositories with scripted stand-in agents."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from tests.git_helpers import (
    IDENTITY,
    checkout_state,
    commit_command,
    git,
    make_repo,
)
from tests.helpers import cli_argv
from tests.integration.test_oneshot_cli import oneshot_argv
from tests.loop_helpers import ScriptedAgents, verdict


def cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*cli_argv(), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )


def show(cwd: Path) -> dict[str, Any]:
    proc = cli("show", "last", "--json", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    doc: dict[str, Any] = json.loads(proc.stdout)
    return doc


def worktrees(cwd: Path, *args: str) -> list[dict[str, Any]]:
    proc = cli("worktrees", "--json", *args, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    rows: list[dict[str, Any]] = json.loads(proc.stdout)
    return rows


def task_file(path: Path, tasks: dict[str, str], *, head: str = "[run]\nworktree = true\n") -> Path:
    """Scripted-claude agent tasks in `repo`, each running its shell command as its tool."""
    lines = [head]
    for name, shell in tasks.items():
        lines += [
            "[[task]]",
            f'name = "{name}"',
            'agent = "claude"',
            f'prompt = "do {name}"',
            'cwd = "repo"',
            f"env = {{ FAKE_SHELL = {json.dumps(shell)} }}",
            "",
        ]
    path.write_text("\n".join(lines))
    return path


THREE = {
    "alpha": commit_command("alpha.txt", "a", "alpha"),
    "beta": commit_command("beta.txt", "b1", "beta one")
    + " && "
    + commit_command("beta.txt", "b2", "beta two"),
    "gamma": "printf 'gamma\\n' >> README.md && echo new > gamma.txt",
}


def test_three_agents_summary_ndjson_and_history_agree_on_branches_and_stats(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "README.md").write_text("# demo\nmine, uncommitted\n")
    before = checkout_state(repo)
    agents = ScriptedAgents(tmp_path, [{"result": "done"}])
    env = {**agents.env, **IDENTITY}
    tasks = task_file(tmp_path / "tasks.toml", THREE)

    proc = cli("run", str(tasks), "--no-ui", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert checkout_state(repo) == before
    doc = show(tmp_path)
    run_id = doc["run"]["id"]
    expected = {
        "alpha": "1 commit, 1 file +1 -0",
        "beta": "2 commits, 1 file +2 -0",
        "gamma": "0 commits, 2 files +2 -0 (2 files +2 -0 uncommitted)",
    }
    lines = proc.stderr.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["TASK", "BRANCH"])
    summary = lines[header + 1 :]
    for name, changes in expected.items():
        [row] = [line for line in summary if line.startswith(name)]
        assert f"oneshot/{run_id}/{name}" in row and changes in row, row
    for line in proc.stderr.splitlines():
        if line.startswith("alpha: worktree "):
            assert f"(branch oneshot/{run_id}/alpha, from main at " in line
            break
    else:
        raise AssertionError(proc.stderr)

    # History: the columns, and the same table from `show`.
    recorded = {t["name"]: t["worktree"] for t in doc["tasks"]}
    for name, commits in (("alpha", 1), ("beta", 2), ("gamma", 0)):
        w = recorded[name]
        branch = f"oneshot/{run_id}/{name}"
        assert w["branch"] == branch and w["base_commit"] == before.head
        assert w["final_commit"] == git(repo, "rev-parse", branch)
        assert w["commits"] == commits and w["base_ref"] == "main" and w["error"] == ""
    assert recorded["beta"]["total"] == {"files": 1, "insertions": 2, "deletions": 0}
    assert recorded["gamma"]["uncommitted"] == {"files": 2, "insertions": 2, "deletions": 0}
    assert recorded["gamma"]["committed"] == {"files": 0, "insertions": 0, "deletions": 0}
    text = cli("show", "last", cwd=tmp_path).stdout
    assert expected["gamma"] in text and f"oneshot/{run_id}/gamma" in text

    # The same through NDJSON, in a second run of the same tasks (new branches, same changes).
    proc = cli("rerun", "last", "--json", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    new_run = events[0]["run"]
    ready = {e["task"]: e for e in events if e["event"] == "worktree"}
    results = {e["task"]: e for e in events if e["event"] == "worktree_result"}
    assert set(ready) == set(results) == set(THREE)
    assert ready["alpha"]["branch"] == f"oneshot/{new_run}/alpha" and not ready["alpha"]["reused"]
    assert results["beta"]["commits"] == 2 and results["beta"]["total"]["insertions"] == 2
    [finished] = [e for e in events if e["event"] == "run_finished"]
    final = {r["task"]: r["worktree"] for r in finished["results"]}
    assert final["gamma"]["uncommitted"] == {"files": 2, "insertions": 2, "deletions": 0}
    assert final["alpha"]["final_commit"] == git(repo, "rev-parse", f"oneshot/{new_run}/alpha")
    assert checkout_state(repo) == before


def test_diff_prints_the_changes_plain_or_coloured(tmp_path: Path) -> None:
    make_repo(tmp_path / "repo")
    agents = ScriptedAgents(tmp_path, [{"result": "done"}])
    shell = commit_command("done.txt", "committed line", "c") + " && echo loose > loose.txt"
    tasks = task_file(tmp_path / "tasks.toml", {"t": shell})
    proc = cli("run", str(tasks), "--no-ui", cwd=tmp_path, env={**agents.env, **IDENTITY})
    assert proc.returncode == 0, proc.stderr

    plain = cli("diff", "last", "t", cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr
    assert "\x1b[" not in plain.stdout  # not a terminal: no colour
    assert "+committed line" in plain.stdout and "+loose" in plain.stdout
    committed = cli("diff", "last", "t", "--committed", cwd=tmp_path).stdout
    assert "+committed line" in committed and "loose" not in committed
    uncommitted = cli("diff", "last", "t", "--uncommitted", cwd=tmp_path).stdout
    assert "loose" in uncommitted and "committed line" not in uncommitted
    coloured = cli("diff", "last", "t", "--color", "always", cwd=tmp_path).stdout
    assert "\x1b[32m" in coloured and "committed line\x1b[m" in coloured  # green additions
    stat = cli("diff", "last", "--stat", cwd=tmp_path).stdout
    assert "2 files changed, 2 insertions(+)" in stat

    missing = cli("diff", "last", "nope", cwd=tmp_path)
    assert missing.returncode == 2 and "has no task 'nope'" in missing.stderr
    other = cli("run", "-c", "true", "--no-ui", cwd=tmp_path)
    assert other.returncode == 0
    plain_task = cli("diff", "last", "true", cwd=tmp_path)
    assert plain_task.returncode == 2 and "did not run in a worktree" in plain_task.stderr


def test_worktrees_clean_removes_merged_and_refuses_unmerged_without_force(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "repo")
    agents = ScriptedAgents(tmp_path, [{"result": "done"}])
    tasks = task_file(
        tmp_path / "tasks.toml",
        {
            "merged": commit_command("merged.txt", "m", "to be merged"),
            "unmerged": commit_command("unmerged.txt", "u", "left on its branch"),
            "dirty": "echo wip > wip.txt",
            "same": "true",
        },
    )
    proc = cli("run", str(tasks), "--no-ui", cwd=tmp_path, env={**agents.env, **IDENTITY})
    assert proc.returncode == 0, proc.stderr
    run_id = show(tmp_path)["run"]["id"]
    git(repo, "merge", "-q", "--ff-only", f"oneshot/{run_id}/merged")  # the user merges one

    listed = {row["task"]: row for row in worktrees(tmp_path)}
    states = {name: row["state"] for name, row in listed.items()}
    assert states == {
        "merged": "merged",
        "unmerged": "unmerged",
        "dirty": "dirty",
        "same": "unchanged",
    }
    assert listed["unmerged"]["unmerged_commits"] == 1
    assert listed["unmerged"]["blockers"] == ["1 commit not merged into main"]
    table = cli("worktrees", cwd=tmp_path).stdout.splitlines()
    assert table[0].split() == ["RUN", "TASK", "BRANCH", "STATE", "CHANGES", "AGE", "PATH"]

    young = cli("worktrees", "clean", "--older-than", "7d", cwd=tmp_path)
    assert young.returncode == 0 and "no worktrees to clean" in young.stdout

    merged = cli("worktrees", "clean", "--merged", cwd=tmp_path)
    assert merged.returncode == 1, merged.stdout + merged.stderr  # "dirty" is merged but has wip
    assert f"removed {run_id} merged" in merged.stdout
    assert f"removed {run_id} same" in merged.stdout
    assert "unmerged" not in merged.stdout
    assert f"kept {run_id} dirty" in merged.stdout and "uncommitted changes" in merged.stdout
    assert not Path(listed["merged"]["path"]).exists()
    branches = git(repo, "branch", "--format=%(refname:short)").splitlines()
    assert f"oneshot/{run_id}/merged" not in branches
    assert f"oneshot/{run_id}/unmerged" in branches
    assert (repo / "merged.txt").exists()  # merged work stays on main

    refused = cli("worktrees", "clean", cwd=tmp_path)
    assert refused.returncode == 1
    assert (
        f"kept {run_id} unmerged (oneshot/{run_id}/unmerged): 1 commit not merged" in refused.stdout
    )
    assert "--force removes it" in refused.stdout
    assert Path(listed["unmerged"]["path"]).exists()
    assert {row["task"] for row in worktrees(tmp_path)} == {"unmerged", "dirty"}

    dry = cli("worktrees", "clean", "--force", "--dry-run", cwd=tmp_path)
    assert dry.returncode == 0 and dry.stdout.count("would remove") == 2
    assert Path(listed["unmerged"]["path"]).exists()

    forced = cli("worktrees", "clean", "--force", run_id[:12], cwd=tmp_path)
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert worktrees(tmp_path) == []
    assert {row["task"] for row in worktrees(tmp_path, "--all")} == set(listed)
    assert git(repo, "branch", "--list", "oneshot/*") == ""
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1
    assert not (tmp_path / "data" / "worktrees" / run_id).exists()
    # A removed worktree's committed changes can still be shown while the commit exists.
    removed = cli("diff", run_id, "merged", cwd=tmp_path)
    assert removed.returncode == 0 and "+m" in removed.stdout
    assert "worktree was removed" in removed.stderr


def test_run_and_oneshot_take_worktree_flags_and_resume_continues_in_the_worktree(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "repo")
    cwds = tmp_path / "cwds.txt"
    agents = ScriptedAgents(
        tmp_path,
        [
            {"result": "done"},  # run -a
            {"result": "tried"},  # oneshot: worker, auditor
            verdict("IMPOSSIBLE", "no"),
            {"result": "again"},  # oneshot --resume: worker, auditor
            verdict("DONE"),
        ],
    )
    env = {**agents.env, **IDENTITY, "FAKE_SHELL": f"pwd >> {cwds}"}
    proc = cli(
        "run", "-a", "claude", "-p", "look around", "--worktree", "--no-ui", cwd=repo, env=env
    )
    assert proc.returncode == 0, proc.stderr
    [task] = show(tmp_path / "repo")["tasks"]
    assert task["worktree"]["branch"].startswith("oneshot/") and task["worktree"]["commits"] == 0
    assert cwds.read_text().splitlines() == [task["worktree"]["cwd"]]

    cwds.unlink()
    first = subprocess.run(
        [*oneshot_argv(), "--worktree", "fix it"],
        capture_output=True,
        text=True,
        cwd=repo,
        env={**os.environ, **env},
        timeout=120,
        check=False,
    )
    assert first.returncode == 1, first.stderr  # IMPOSSIBLE
    [worker, auditor] = cwds.read_text().splitlines()
    assert worker == auditor and "/worktrees/" in worker and not worker.startswith(str(repo))
    resumed = subprocess.run(
        [*oneshot_argv(), "--resume"],
        capture_output=True,
        text=True,
        cwd=repo,
        env={**os.environ, **env},
        timeout=120,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming in worktree {worker}" in resumed.stderr
    assert cwds.read_text().splitlines()[2:] == [worker, worker]
