"""Running git: an argv list (never a shell) in an environment that cannot redirect it.

Every `GIT_*` variable we inherited is dropped: a `GIT_DIR`, `GIT_WORK_TREE` or `GIT_INDEX_FILE`
left by a hook or a wrapper would point our commands at another repository, or at the user's own
index. `GIT_OPTIONAL_LOCKS=0` keeps read-only commands (status, diff) from refreshing and so
rewriting an index while an agent or the user works in that checkout.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence

REPOSITORY_VARS = frozenset(
    {
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_COMMON_DIR",
        "GIT_NAMESPACE",
        "GIT_PREFIX",
    }
)
"""Variables that make git work on another repository than the one its cwd is in: a task in a
worktree must not inherit them, or its commits could land in the user's checkout."""

GIT_TIMEOUT = 300.0
"""Seconds before a git command is given up (a checkout of a huge repository is slow)."""


class GitError(Exception):
    """A git command failed; the message is git's own first line of complaint."""

    def __init__(self, args: Sequence[str], returncode: int | None, stderr: str) -> None:
        self.args_ = tuple(args)
        self.returncode = returncode
        self.stderr = stderr
        lines = [line for line in stderr.strip().splitlines() if line.strip()]
        message = lines[-1] if lines else f"git {' '.join(args[:2])} failed"
        for line in lines:  # "fatal: ..." says it best when there is one
            if line.startswith(("fatal:", "error:")):
                message = line
                break
        super().__init__(message.removeprefix("fatal: ").removeprefix("error: "))


def git_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_TERMINAL_PROMPT="0",  # never wait for a password on a terminal we do not have
        GIT_OPTIONAL_LOCKS="0",
        LC_ALL="C",  # messages we may show or match, in one language
    )
    if extra:
        env.update(extra)
    return env


def run_git(
    args: Sequence[str],
    cwd: str,
    *,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    timeout: float = GIT_TIMEOUT,
) -> subprocess.CompletedProcess[bytes]:
    """`git ARGS` in `cwd`; raises GitError on failure (unless `check=False`) or if git is
    missing. `env` adds variables to the clean environment (a temporary index, say)."""
    argv = ["git", "-c", "color.ui=never", "-c", "core.pager=cat", *args]
    try:
        proc = subprocess.run(
            argv,
            cwd=cwd,
            env=git_env(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        if not os.path.isdir(cwd):
            raise GitError(args, None, f"fatal: no such directory: {cwd}") from None
        raise GitError(args, None, "fatal: git is not installed (not found on PATH)") from None
    except subprocess.TimeoutExpired:
        raise GitError(args, None, f"fatal: git {args[0]} took over {timeout:g}s") from None
    if check and proc.returncode != 0:
        raise GitError(args, proc.returncode, proc.stderr.decode("utf-8", "replace"))
    return proc


def git_text(args: Sequence[str], cwd: str, *, env: Mapping[str, str] | None = None) -> str:
    """The output of `git ARGS`, without its final newline."""
    proc = run_git(args, cwd, env=env)
    return proc.stdout.decode("utf-8", "surrogateescape").rstrip("\n")


def git_ok(args: Sequence[str], cwd: str) -> bool:
    """True if `git ARGS` succeeds (a question asked through the exit status)."""
    return run_git(args, cwd, check=False).returncode == 0
