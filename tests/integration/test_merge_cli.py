"""`oneshot-tui merge RUN TASK` with real git: a fast-forward, a merge commit, a squash, a push,
and the refusals that change nothing (a conflict, an unclean checkout, another branch)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.git_helpers import IDENTITY, checkout_state, commit_command, git, make_repo
from tests.helpers import cli_argv


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*cli_argv(), *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def show(repo: Path) -> Any:
    return json.loads(cli("show", "last", "--json", cwd=repo).stdout)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The user's checkout on main, where a worktree task committed `NOTES.md` on its branch."""
    repo = make_repo(tmp_path / "repo", {"NOTES.md": "first\n", ".gitignore": "tasks.toml\n"})
    for key, value in (("user.name", "The User"), ("user.email", "user@example.invalid")):
        git(repo, "config", key, value)
    (repo / "tasks.toml").write_text(
        "[[task]]\n"
        'name = "fix"\n'
        "worktree = true\n"
        f"command = {json.dumps(commit_command('NOTES.md', 'from the task', 'task: notes'))}\n"
        f"env = {{ {', '.join(f'{k} = {json.dumps(v)}' for k, v in IDENTITY.items())} }}\n"
    )
    proc = cli("run", "tasks.toml", "--no-ui", cwd=repo)
    assert proc.returncode == 0, proc.stderr
    return repo


def branch(repo: Path) -> str:
    return str(show(repo)["tasks"][0]["worktree"]["branch"])


def test_a_fast_forward_when_main_has_not_moved(repo: Path) -> None:
    name = branch(repo)
    proc = cli("merge", "last", "fix", cwd=repo)
    assert proc.returncode == 0, proc.stderr
    assert f"merged {name} into main: fast-forward, 1 commit" in proc.stdout
    assert git(repo, "rev-parse", "main") == git(repo, "rev-parse", name)
    assert (repo / "NOTES.md").read_text() == "first\nfrom the task\n"
    [merge] = show(repo)["merges"]
    assert (merge["task"], merge["kind"], merge["into"], merge["commits"]) == (
        "fix",
        "fast-forward",
        "main",
        1,
    )
    assert merge["commit"] == git(repo, "rev-parse", "HEAD")


def test_a_merge_commit_when_main_moved_and_delete_removes_the_worktree(repo: Path) -> None:
    name = branch(repo)
    worktree = Path(show(repo)["tasks"][0]["worktree"]["path"])
    (repo / "OTHER.md").write_text("the user's work\n")
    git(repo, "add", "OTHER.md")
    git(repo, "commit", "-q", "-m", "user: other")
    proc = cli("merge", "last", "fix", "--delete", cwd=repo)
    assert proc.returncode == 0, proc.stderr
    assert "merge commit" in proc.stdout
    parents = git(repo, "rev-list", "--parents", "-n", "1", "HEAD").split()
    assert len(parents) == 3  # the commit and its two parents
    assert (repo / "NOTES.md").read_text() == "first\nfrom the task\n"
    assert (repo / "OTHER.md").exists()
    assert not worktree.exists()
    assert git(repo, "branch", "--list", name) == ""
    assert show(repo)["tasks"][0]["worktree"]["removed"] is not None


def test_squash_makes_one_new_commit(repo: Path) -> None:
    before = git(repo, "rev-parse", "HEAD")
    proc = cli("merge", "last", "fix", "--squash", cwd=repo)
    assert proc.returncode == 0, proc.stderr
    parents = git(repo, "rev-list", "--parents", "-n", "1", "HEAD").split()
    assert parents[1:] == [before]
    assert git(repo, "log", "-1", "--format=%s").startswith("Merge task fix of oneshot-tui run")
    assert show(repo)["merges"][0]["kind"] == "squash"


def test_a_conflict_aborts_and_leaves_everything_as_it_was(repo: Path) -> None:
    (repo / "NOTES.md").write_text("first\nthe user's own line\n")
    git(repo, "commit", "-q", "-am", "user: notes")
    (repo / "untracked.txt").write_text("mine\n")
    before = checkout_state(repo)
    proc = cli("merge", "last", "fix", cwd=repo)
    assert proc.returncode == 1
    assert "conflicts (NOTES.md): nothing was changed" in proc.stderr
    assert checkout_state(repo) == before
    assert not (repo / ".git" / "MERGE_HEAD").exists()
    assert show(repo)["merges"] == []


def test_an_unclean_checkout_or_another_branch_is_refused(repo: Path) -> None:
    (repo / "NOTES.md").write_text("an edit not committed\n")
    before = checkout_state(repo)
    proc = cli("merge", "last", "fix", cwd=repo)
    assert proc.returncode == 1
    assert "has uncommitted changes (NOTES.md): commit or stash them first" in proc.stderr
    assert checkout_state(repo) == before
    git(repo, "checkout", "-q", "--", "NOTES.md")
    git(repo, "checkout", "-q", "-b", "elsewhere")
    proc = cli("merge", "last", "fix", cwd=repo)
    assert proc.returncode == 1
    assert "is on elsewhere, not on main" in proc.stderr and "git switch main" in proc.stderr
    assert git(repo, "rev-parse", "main") == before.head


def test_push_sends_the_branch_to_a_remote(repo: Path, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True, env=dict(os.environ))
    git(repo, "remote", "add", "origin", str(remote))
    name = branch(repo)
    proc = cli("merge", "last", "fix", "--push", "origin", cwd=repo)
    assert proc.returncode == 0, proc.stderr
    assert git(remote, "rev-parse", name) == git(repo, "rev-parse", name)
    assert git(repo, "rev-parse", "main") != git(repo, "rev-parse", name)  # main untouched
    assert show(repo)["merges"][0]["kind"] == "pushed"
