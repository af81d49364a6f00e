"""Git worktrees for tasks: one branch and checkout per task, and what each task changed.

The orchestrator makes a task's worktree before its first process and inspects it after each
attempt; the CLI and the TUI review, diff and remove them. Everything here is synchronous
(subprocess git, argv lists, a clean environment) and imports only `core`: call it from a worker
thread in async code.

    info = create_worktree(cwd, path, branch_name(run_id, task))   # WorktreeInfo
    summary = summarize(info)                                      # WorktreeSummary
    view = task_diff(info)          # TaskDiff: summary, ANSI text and parsed files, for a view
    text = diff_text(info, colour=True)                            # or just the text
"""

from oneshot_tui.workspace.diff import (
    DiffLine,
    FileDiff,
    Hunk,
    LineKind,
    Scope,
    TaskDiff,
    diff_text,
    parse_diff,
    task_diff,
)
from oneshot_tui.workspace.git import GitError
from oneshot_tui.workspace.inspect import Review, State, review, summarize
from oneshot_tui.workspace.names import branch_name
from oneshot_tui.workspace.worktree import (
    WorkspaceError,
    create_worktree,
    find_repository,
    remove_worktree,
    reopen_worktree,
)

__all__ = [
    "DiffLine",
    "FileDiff",
    "GitError",
    "Hunk",
    "LineKind",
    "Review",
    "Scope",
    "State",
    "TaskDiff",
    "WorkspaceError",
    "branch_name",
    "create_worktree",
    "diff_text",
    "find_repository",
    "parse_diff",
    "remove_worktree",
    "reopen_worktree",
    "review",
    "summarize",
    "task_diff",
]
