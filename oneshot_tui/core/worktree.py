"""A task's git worktree and what the task changed in it, as plain frozen data.

The `workspace` package makes and inspects worktrees; these types carry the results on the bus, in
the summary and in history, for the headless printer, the TUI and `oneshot-tui diff` alike.
"""

from __future__ import annotations

from dataclasses import field

from oneshot_tui.core.record import record


@record
class DiffStat:
    """Files changed and lines added and removed (a binary file counts as a file, no lines)."""

    files: int = 0
    insertions: int = 0
    deletions: int = 0

    def __add__(self, other: DiffStat) -> DiffStat:
        return DiffStat(
            self.files + other.files,
            self.insertions + other.insertions,
            self.deletions + other.deletions,
        )

    @property
    def empty(self) -> bool:
        return self.files == 0

    def text(self) -> str:
        """ "3 files +10 -2", "1 file +0 -0", or "no changes"."""
        if self.empty:
            return "no changes"
        noun = "file" if self.files == 1 else "files"
        return f"{self.files} {noun} +{self.insertions} -{self.deletions}"


@record
class WorktreeInfo:
    """Where a task runs: a worktree of `repo` on a branch of its own, started at `base_commit`."""

    repo: str
    """The top directory of the user's checkout the worktree was made from."""
    path: str
    """The worktree's top directory (under the data dir)."""
    branch: str
    """e.g. "oneshot/20261129-061502-3fa9/fix-tests"."""
    base_commit: str
    """The commit HEAD of `repo` was at when the worktree was made."""
    base_ref: str | None
    """The branch checked out in `repo` then (e.g. "main"); None on a detached HEAD."""
    cwd: str
    """Where the task's processes run: `path`, or the same subdirectory the task's cwd was in."""


@record
class WorktreeSummary:
    """What a task changed in its worktree, against `base_commit`.

    `committed` is what the branch's commits change; `uncommitted` what the files left in the
    worktree change on top of them (modified, deleted and untracked files, not ignored ones);
    `total` both together, i.e. the worktree as it is now against the base.
    """

    worktree: WorktreeInfo
    final_commit: str | None
    """HEAD of the worktree when it was inspected (None if it could not be read)."""
    commits: int = 0
    """Commits on the branch since `base_commit`."""
    committed: DiffStat = field(default_factory=DiffStat)
    uncommitted: DiffStat = field(default_factory=DiffStat)
    total: DiffStat = field(default_factory=DiffStat)
    error: str = ""
    """Why the worktree could not be inspected (the counts are then zero)."""

    @property
    def branch(self) -> str:
        return self.worktree.branch

    def changes_text(self) -> str:
        """ "2 commits, 3 files +10 -2 (1 file +1 -0 uncommitted)", for a summary or a title."""
        if self.error:
            return f"not inspected: {self.error}"
        commits = f"{self.commits} commit{'' if self.commits == 1 else 's'}"
        text = f"{commits}, {self.total.text()}"
        if not self.uncommitted.empty:
            text += f" ({self.uncommitted.text()} uncommitted)"
        return text
