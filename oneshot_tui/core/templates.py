"""`{{ tasks.NAME.FIELD }}` in an agent task's prompt: what a dependency produced, filled in when
the task starts. Pure text work; the orchestrator gathers the values, the loader checks that each
name is a dependency of the task."""

from __future__ import annotations

import re
from collections.abc import Mapping

FIELDS = ("result", "branch", "diff_stat", "diff")
"""What a prompt may use of a dependency: its final answer (an agent's; a command's output), its
worktree's branch, its `git diff --stat` against its base, and that diff itself."""

_REFERENCE = re.compile(r"\{\{\s*tasks\.([^\s.{}]+)\.([^\s.{}]+)\s*\}\}")


def references(text: str) -> list[tuple[str, str]]:
    """Every (task name, field) `text` refers to, in order, each once."""
    found = ((match.group(1), match.group(2)) for match in _REFERENCE.finditer(text))
    return list(dict.fromkeys(found))


def render(text: str, values: Mapping[tuple[str, str], str]) -> str:
    """`text` with each reference replaced by its value (a missing one by an empty string)."""
    return _REFERENCE.sub(lambda m: values.get((m.group(1), m.group(2)), ""), text)
