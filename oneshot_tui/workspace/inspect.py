"""What a task changed in its worktree, and whether its branch may be removed.

Uncommitted work counts: modified, deleted and untracked files (not ignored ones) are compared as
they are on disk, through a throwaway index, never the worktree's own, so inspecting a worktree
changes nothing in it, even while an agent is still working there.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from oneshot_tui.core.worktree import DiffStat, WorktreeInfo, WorktreeSummary
from oneshot_tui.workspace.git import GitError, git_text, run_git
from oneshot_tui.workspace.worktree import (
    branch_exists,
    head_commit,
    is_worktree,
    repository_alive,
)


def parse_numstat(data: bytes) -> DiffStat:
    """`git diff --numstat -z` output as a DiffStat.

    Records are `ADDED\\tDELETED\\tPATH\\0`, or for a rename `ADDED\\tDELETED\\t\\0OLD\\0NEW\\0`;
    a binary file has `-` for both counts.
    """
    files = insertions = deletions = 0
    fields = data.split(b"\0")
    i = 0
    while i < len(fields):
        record = fields[i]
        i += 1
        if not record:
            continue
        added, deleted, path = record.split(b"\t", 2)
        if not path:
            i += 2  # a rename: the old and new paths follow
        files += 1
        if added != b"-":
            insertions += int(added)
            deletions += int(deleted)
    return DiffStat(files, insertions, deletions)


def diff_stat(
    path: str, old: str, new: str | None = None, env: Mapping[str, str] | None = None
) -> DiffStat:
    """Stats of `old` against `new`, or against the files in the worktree if `new` is None."""
    args = ["diff", "--numstat", "-z", "--no-ext-diff", "--find-renames", old]
    return parse_numstat(run_git([*args, *([new] if new else [])], path, env=env).stdout)


@contextmanager
def untracked_included(path: str) -> Iterator[dict[str, str]]:
    """An environment for git in the worktree at `path` in which `git diff REV` compares REV with
    every file there, untracked ones included (not ignored ones).

    The index is a throwaway copy of the worktree's own (whose stat cache spares reading
    unchanged files), with untracked files added as intent-to-add: that records their names
    only, so their contents are not written into the repository's object store.
    """
    own = os.path.join(path, git_text(["rev-parse", "--git-path", "index"], path))
    with tempfile.TemporaryDirectory(prefix="oneshot-index-") as tmp:
        index = os.path.join(tmp, "index")
        if os.path.exists(own):
            shutil.copyfile(own, index)
        env = {"GIT_INDEX_FILE": index}
        run_git(["add", "--intent-to-add", "--all"], path, env=env)
        yield env


def summarize(info: WorktreeInfo) -> WorktreeSummary:
    """Commits and diff stats of the worktree now, against its base commit."""
    if not is_worktree(info.path):
        return WorktreeSummary(info, None, error=f"the worktree {info.path} is gone")
    try:
        head = head_commit(info.path)
        count = git_text(["rev-list", "--count", f"{info.base_commit}..{head}"], info.path)
        committed = diff_stat(info.path, info.base_commit, head)
        with untracked_included(info.path) as env:
            uncommitted = diff_stat(info.path, head, env=env)
            total = diff_stat(info.path, info.base_commit, env=env)
    except GitError as exc:
        return WorktreeSummary(info, None, error=str(exc))
    return WorktreeSummary(info, head, int(count), committed, uncommitted, total)


class State:
    """What `oneshot-tui worktrees` shows for a worktree, most pressing first."""

    LIVE = "live"
    """Its run is still going: an agent may be working in it."""
    ORPHANED = "orphaned"
    """Its repository is gone."""
    MISSING = "missing"
    """The worktree directory is gone (its branch may remain)."""
    UNMERGED = "unmerged"
    """Its branch has commits the base branch does not have."""
    DIRTY = "dirty"
    """It has uncommitted changes."""
    MERGED = "merged"
    """Everything it committed is in the base branch."""
    UNCHANGED = "unchanged"
    """No commits and no changes."""


@dataclass(frozen=True, slots=True)
class Review:
    """A worktree as it is now: what it changed, and what removing it would lose."""

    info: WorktreeInfo
    state: str
    summary: WorktreeSummary | None
    """Its changes now (None if the worktree or its repository is gone)."""
    unmerged: int = 0
    """Commits on its branch (or its HEAD) that the base branch does not have."""
    against: str = ""
    """What `unmerged` was counted against: the base branch, else the base commit."""

    @property
    def dirty(self) -> bool:
        return self.summary is not None and not self.summary.uncommitted.empty

    def blockers(self) -> list[str]:
        """Why removing it would lose work (empty: it is safe to remove)."""
        reasons = []
        if self.state == State.LIVE:
            reasons.append("its run is still live")
        if self.unmerged:
            plural = "" if self.unmerged == 1 else "s"
            reasons.append(f"{self.unmerged} commit{plural} not merged into {self.against}")
        if self.dirty and self.summary is not None:
            reasons.append(f"uncommitted changes ({self.summary.uncommitted.text()})")
        if self.state == State.ORPHANED and is_worktree(self.info.path):
            reasons.append(f"its repository {self.info.repo} is gone")
        if self.summary is not None and self.summary.error and self.state != State.MISSING:
            reasons.append(f"it cannot be inspected: {self.summary.error}")
        return reasons


def _unmerged(info: WorktreeInfo, heads: list[str]) -> tuple[int, str]:
    """Commits reachable from `heads` but not from the base branch (or the base commit, if the
    task started on a detached HEAD or the base branch is gone)."""
    if info.base_ref and branch_exists(info.repo, info.base_ref):
        target, name = f"refs/heads/{info.base_ref}", info.base_ref
    else:
        target, name = info.base_commit, f"its base commit {info.base_commit[:10]}"
    if not heads:
        return 0, name
    count = git_text(["rev-list", "--count", *heads, "--not", target], info.repo)
    return int(count), name


def review(info: WorktreeInfo, *, live: bool = False) -> Review:
    """The state of a recorded worktree now (a few git commands; nothing is changed).

    `live`: its run is still going. It is still inspected (that is safe while an agent works in
    it), but its state is LIVE whatever it holds.
    """
    if not repository_alive(info.repo):
        return Review(info, State.LIVE if live else State.ORPHANED, None)
    try:
        heads = []
        if branch_exists(info.repo, info.branch):
            heads.append(f"refs/heads/{info.branch}")
        summary = None
        if is_worktree(info.path):
            summary = summarize(info)
            if summary.final_commit:
                heads.append(summary.final_commit)  # commits made on a detached HEAD count too
        unmerged, against = _unmerged(info, heads)
    except GitError as exc:
        summary = WorktreeSummary(info, None, error=str(exc))
        return Review(info, State.LIVE if live else State.DIRTY, summary)
    if live:
        state = State.LIVE
    elif summary is None:
        state = State.MISSING
    elif unmerged:
        state = State.UNMERGED
    elif not summary.uncommitted.empty or summary.error:
        state = State.DIRTY
    elif summary.commits == 0 and summary.total.empty:
        state = State.UNCHANGED
    else:
        state = State.MERGED
    return Review(info, state, summary, unmerged, against)
