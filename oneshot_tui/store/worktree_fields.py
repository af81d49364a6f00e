"""Worktree columns of a task: written from `WorktreeReady` / `WorktreeFinished`, read back as a
`WorktreeRecord`. The diff stats are one JSON column; everything else is a column of its own."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from oneshot_tui.core.events import WorktreeFinished, WorktreeReady

if TYPE_CHECKING:  # the readers' types, imported where read: a run only writes these columns
    from oneshot_tui.core.worktree import DiffStat
    from oneshot_tui.store.history_data import WorktreeRecord

COLUMNS = (
    "worktree",
    "worktree_cwd",
    "repo",
    "branch",
    "base_ref",
    "base_commit",
    "worktree_created",
    "final_commit",
    "commits",
    "diff_stat",
    "worktree_removed",
)
"""The task row's columns a `WorktreeRecord` is read from."""


def ready_updates(event: WorktreeReady) -> dict[str, Any]:
    w = event.worktree
    updates: dict[str, Any] = {
        "worktree": w.path,
        "worktree_cwd": w.cwd,
        "repo": w.repo,
        "branch": w.branch,
        "base_ref": w.base_ref,
        "base_commit": w.base_commit,
    }
    if not event.reused:
        updates["worktree_created"] = event.ts
    return updates


def _stat(stat: DiffStat) -> dict[str, int]:
    return {"files": stat.files, "insertions": stat.insertions, "deletions": stat.deletions}


def finished_updates(event: WorktreeFinished) -> dict[str, Any]:
    s = event.summary
    stats = {
        "committed": _stat(s.committed),
        "uncommitted": _stat(s.uncommitted),
        "total": _stat(s.total),
        "error": s.error,
    }
    updates: dict[str, Any] = {"diff_stat": json.dumps(stats, separators=(",", ":"))}
    if s.final_commit is not None:  # an uninspectable worktree keeps what was last known
        updates |= {"final_commit": s.final_commit, "commits": s.commits}
    return updates


def _read_stat(data: Any) -> DiffStat:
    from oneshot_tui.core.worktree import DiffStat

    if not isinstance(data, Mapping):
        return DiffStat()
    values = [data.get(key) for key in ("files", "insertions", "deletions")]
    return DiffStat(*(v if isinstance(v, int) else 0 for v in values))


def worktree_record(values: Mapping[str, Any]) -> WorktreeRecord | None:
    """The worktree of a task from its COLUMNS (None for a task that had no worktree)."""
    if not values["worktree"]:
        return None
    from oneshot_tui.core.worktree import WorktreeInfo, WorktreeSummary
    from oneshot_tui.store.history_data import WorktreeRecord

    info = WorktreeInfo(
        repo=values["repo"] or "",
        path=values["worktree"],
        branch=values["branch"] or "",
        base_commit=values["base_commit"] or "",
        base_ref=values["base_ref"],
        cwd=values["worktree_cwd"] or values["worktree"],
    )
    summary = None
    if values["diff_stat"]:
        try:
            stats = json.loads(values["diff_stat"])
        except ValueError:
            stats = {"error": "unreadable diff stat in history"}
        if not isinstance(stats, dict):
            stats = {}
        summary = WorktreeSummary(
            info,
            values["final_commit"],
            values["commits"] or 0,
            _read_stat(stats.get("committed")),
            _read_stat(stats.get("uncommitted")),
            _read_stat(stats.get("total")),
            str(stats.get("error") or ""),
        )
    return WorktreeRecord(info, values["worktree_created"], values["worktree_removed"], summary)
