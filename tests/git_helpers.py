"""Real git repositories for worktree tests, with an identity given through the environment (never
the user's global config: HOME is a temporary directory in every test)."""

from __future__ import annotations

import hashlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

IDENTITY = {
    "GIT_AUTHOR_NAME": "Test Agent",
    "GIT_AUTHOR_EMAIL": "agent@example.invalid",
    "GIT_COMMITTER_NAME": "Test Agent",
    "GIT_COMMITTER_EMAIL": "agent@example.invalid",
}
"""What a task (or the test, playing the user) needs to commit."""


def git(repo: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")} | IDENTITY
    proc = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"
    return proc.stdout.strip()


def make_repo(path: Path, files: dict[str, str] | None = None) -> Path:
    """A repository on `main` with one commit of `files` (default: README.md and src/app.py)."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    for name, text in (files or {"README.md": "# demo\n", "src/app.py": "print('hi')\n"}).items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial")
    return path


def commit_command(name: str, text: str, message: str) -> str:
    """A shell command that writes `text` to `name` and commits it (what a fake agent does)."""
    return f"printf '{text}\\n' >> {name} && git add {name} && git commit -q -m '{message}'"


@dataclass(frozen=True)
class Checkout:
    """Everything about a user's checkout that a run must leave alone."""

    head: str
    branch: str
    status: str
    staged: str
    files: dict[str, str]


def checkout_state(repo: Path) -> Checkout:
    files = {}
    for path in sorted(repo.rglob("*")):
        if ".git" in path.relative_to(repo).parts or not path.is_file():
            continue
        files[str(path.relative_to(repo))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return Checkout(
        head=git(repo, "rev-parse", "HEAD"),
        branch=git(repo, "symbolic-ref", "--short", "HEAD"),
        status=git(repo, "status", "--porcelain=v1", "--untracked-files=all"),
        staged=git(repo, "diff", "--cached"),
        files=files,
    )


def branch_files(repo: Path, branch: str) -> set[str]:
    return set(git(repo, "ls-tree", "-r", "--name-only", branch).splitlines())


def commit_messages(repo: Path, revisions: str) -> list[str]:
    return git(repo, "log", "--format=%s", revisions).splitlines()
