"""A finished task's branch, merged back into the branch it started from, in the user's checkout:
only when that checkout is clean and on that branch, and a conflict leaves it as it was."""

from __future__ import annotations

from oneshot_tui.core.record import record
from oneshot_tui.core.worktree import WorktreeInfo
from oneshot_tui.workspace.git import GitError, git_text, run_git
from oneshot_tui.workspace.worktree import (
    WorkspaceError,
    branch_exists,
    is_worktree,
    remove_worktree,
    repository_alive,
)


class MergeRefused(WorkspaceError):
    """Nothing was changed: why, and what the user can do about it."""


@record
class Merged:
    """What a merge did."""

    kind: str
    """"fast-forward", "merge commit", "squash", "up to date" or "pushed"."""
    branch: str
    into: str
    """The branch merged into (or the remote pushed to)."""
    commit: str
    """HEAD of `into` afterwards (the branch's commit when pushed)."""
    commits: int
    """Commits of the branch that were not in `into` before."""
    note: str = ""
    """What was left (uncommitted changes in the worktree, a kept branch)."""

    def text(self) -> str:
        s = "" if self.commits == 1 else "s"
        what = f"{self.branch} into {self.into}: {self.kind}, {self.commits} commit{s}"
        if self.kind == "pushed":
            what = f"{self.branch} to {self.into}: {self.commits} commit{s} pushed"
        return f"{what} ({self.commit[:10]})" + (f"; {self.note}" if self.note else "")


def _current_branch(repo: str) -> str | None:
    proc = run_git(["symbolic-ref", "--quiet", "--short", "HEAD"], repo, check=False)
    return proc.stdout.decode("utf-8", "surrogateescape").strip() or None


def _dirty(path: str, untracked: bool) -> list[str]:
    flag = "--untracked-files=normal" if untracked else "--untracked-files=no"
    lines = git_text(["status", "--porcelain", flag], path).splitlines()
    return [line[3:] for line in lines if line.strip()]


def check_checkout(info: WorktreeInfo) -> str:
    """The branch to merge into, or MergeRefused saying what to do first."""
    repo, target = info.repo, info.base_ref
    if not repository_alive(repo):
        raise MergeRefused(f"the repository {repo} is gone")
    if target is None:
        raise MergeRefused(
            f"the task started from a detached HEAD ({info.base_commit[:10]}): there is no"
            f" branch to merge into; merge {info.branch} yourself (git merge {info.branch})"
        )
    if not branch_exists(repo, info.branch):
        raise MergeRefused(f"the branch {info.branch} is gone")
    current = _current_branch(repo)
    if current != target:
        on = f"on {current}" if current else "on a detached HEAD"
        raise MergeRefused(
            f"your checkout {repo} is {on}, not on {target}, the branch the task started from:"
            f" run `git switch {target}` there first"
        )
    changed = _dirty(repo, untracked=False)
    if changed:
        listed = ", ".join(changed[:3]) + (" ..." if len(changed) > 3 else "")
        raise MergeRefused(
            f"your checkout {repo} has uncommitted changes ({listed}): commit or stash them"
            " first (git stash)"
        )
    return target


def merge_back(info: WorktreeInfo, *, squash: bool = False, message: str = "") -> Merged:
    """Merge the task's branch into the branch it started from, in the user's checkout
    (fast-forward where it can, else a merge commit; `squash`: one new commit). A conflict
    aborts it and leaves the checkout as it was: MergeRefused says which files."""
    target = check_checkout(info)
    repo, branch = info.repo, info.branch
    before = git_text(["rev-parse", "HEAD"], repo)
    commits = int(git_text(["rev-list", "--count", f"HEAD..{branch}"], repo))
    note = _left_in_worktree(info)
    if commits == 0:
        return Merged("up to date", branch, target, before, 0, note)
    message = message or f"Merge {branch}"
    if squash:
        proc = run_git(["merge", "--squash", branch], repo, check=False)
        if proc.returncode == 0:
            run_git(["commit", "--quiet", "--no-verify", "-m", message], repo)
            after = git_text(["rev-parse", "HEAD"], repo)
            return Merged("squash", branch, target, after, commits, note)
    else:
        proc = run_git(["merge", "--no-edit", "-m", message, branch], repo, check=False)
        if proc.returncode == 0:
            after = git_text(["rev-parse", "HEAD"], repo)
            parents = git_text(["rev-list", "--parents", "-n", "1", after], repo).split()
            kind = "merge commit" if len(parents) > 2 else "fast-forward"
            return Merged(kind, branch, target, after, commits, note)
    conflicted = git_text(["diff", "--name-only", "--diff-filter=U"], repo).split()
    # Back to exactly where it was: the checkout was clean (checked above), so nothing is lost.
    if squash:
        run_git(["reset", "--merge"], repo, check=False)
    else:
        run_git(["merge", "--abort"], repo, check=False)
    listed = ", ".join(conflicted) or proc.stderr.decode("utf-8", "replace").strip()
    raise MergeRefused(
        f"merging {branch} into {target} conflicts ({listed}): nothing was changed; merge it"
        f" yourself (git merge {branch}) or rebase the branch first"
    )


def push_branch(info: WorktreeInfo, remote: str) -> Merged:
    """Push the task's branch to `remote` (the user's checkout is not touched)."""
    if not branch_exists(info.repo, info.branch):
        raise MergeRefused(f"the branch {info.branch} is gone")
    try:
        run_git(["push", "--quiet", remote, f"{info.branch}:{info.branch}"], info.repo)
    except GitError as exc:
        raise MergeRefused(f"git push {remote} {info.branch} failed: {exc}") from None
    head = git_text(["rev-parse", info.branch], info.repo)
    ahead = f"{info.base_commit}..{info.branch}"
    commits = int(git_text(["rev-list", "--count", ahead], info.repo))
    return Merged("pushed", info.branch, remote, head, commits, _left_in_worktree(info))


def delete_merged(info: WorktreeInfo, *, root: str) -> str:
    """After a merge: the worktree and its branch removed, unless the worktree holds uncommitted
    changes (those would be lost); returns what was kept, if anything."""
    if is_worktree(info.path) and _dirty(info.path, untracked=True):
        return f"worktree {info.path} kept: it has uncommitted changes"
    return remove_worktree(info, force=True, root=root)


def _left_in_worktree(info: WorktreeInfo) -> str:
    if not is_worktree(info.path):
        return ""
    changed = _dirty(info.path, untracked=True)
    if not changed:
        return ""
    s = "" if len(changed) == 1 else "s"
    return f"{len(changed)} uncommitted file{s} in the worktree not merged"
