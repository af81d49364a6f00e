"""`M`: an ended worktree task's branch merged back, as `oneshot-tui merge` does (the same git
work in `workspace.merge`, the same history record), said in one line for a notification. Runs
git: call it from a worker thread."""

from __future__ import annotations

import time
from pathlib import Path

from oneshot_tui.core.worktree import WorktreeInfo


def merge_task(data_dir: Path, run_id: str, task_id: str, info: WorktreeInfo) -> tuple[bool, str]:
    """(merged, what to tell the user)."""
    from oneshot_tui.store.history import History
    from oneshot_tui.store.history_data import MergeRecord
    from oneshot_tui.workspace import GitError, WorkspaceError
    from oneshot_tui.workspace.merge import merge_back

    message = f"Merge task {task_id} of oneshot-tui run {run_id}"
    try:
        merged = merge_back(info, message=message)
    except (WorkspaceError, GitError, OSError) as exc:
        return False, f"not merged: {exc}"
    record = MergeRecord(
        task_id,
        time.time(),
        merged.kind,
        merged.branch,
        merged.into,
        merged.commit,
        merged.commits,
        merged.note,
    )
    import sqlite3

    from oneshot_tui.store.db import HistoryError

    done = f"merged {merged.text()}"
    try:
        with History.open(data_dir) as history:
            history.record_merge(run_id, task_id, record)
    except (HistoryError, sqlite3.Error, OSError) as exc:  # merged is merged: say it, and this
        return True, f"{done} (not recorded in history: {exc})"
    return True, done
