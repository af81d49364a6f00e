"""Branch names for task worktrees: `oneshot/<run-id>/<task>`, made safe for git's ref rules."""

from __future__ import annotations

import re

BRANCH_PREFIX = "oneshot"

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_DOTS = re.compile(r"\.{2,}")


def ref_component(text: str) -> str:
    """One component of a ref name from any text.

    Git refuses, among others: spaces, control characters and `~^:?*[\\`; `..` anywhere; a
    component that starts with `.` or ends with `.lock` or `.`; and `git branch` refuses a
    leading `-`. What is left after replacing and trimming those is safe; empty becomes "task".
    """
    part = _DOTS.sub(".", _UNSAFE.sub("-", text)).strip(".-")
    if part.endswith(".lock"):
        part = part[: -len(".lock")] + "-lock"
    return part[:100] or "task"


def branch_name(run_id: str, task: str) -> str:
    """The branch a task's worktree gets: `oneshot/<run-id>/<task>`."""
    return f"{BRANCH_PREFIX}/{ref_component(run_id)}/{ref_component(task)}"
