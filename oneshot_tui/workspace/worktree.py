"""Making, reusing and removing a task's worktree, never touching the user's checkout.

`git worktree add` writes only inside the repository's `.git` (the new branch and the worktree's
admin directory) and into the new directory: the user's index, files and uncommitted changes stay
exactly as they were. The new branch starts at the user's HEAD commit, so uncommitted changes
are not in the worktree either.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

from oneshot_tui.core.worktree import WorktreeInfo
from oneshot_tui.workspace.git import GitError, git_ok, git_text, run_git


class WorkspaceError(Exception):
    """Why a task cannot have (or lose) its worktree, said for a person."""


@dataclass(frozen=True, slots=True)
class Repository:
    top: str
    """The top directory of the checkout."""
    prefix: str
    """Where the asked-about directory is inside it: "" at the top, else "sub/dir/"."""


def find_repository(cwd: str) -> Repository:
    """The git checkout `cwd` is in, or a WorkspaceError that says it is not in one."""
    if not os.path.isdir(cwd):
        raise WorkspaceError(f"worktree: the task's cwd {cwd} does not exist")
    proc = run_git(["rev-parse", "--show-toplevel", "--show-prefix"], cwd, check=False)
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace")
        if "not a git repository" in err:
            raise WorkspaceError(f"worktree = true, but {cwd} is not in a git repository")
        raise WorkspaceError(f"worktree: {cwd}: {GitError(['rev-parse'], proc.returncode, err)}")
    lines = proc.stdout.decode("utf-8", "surrogateescape").split("\n")
    return Repository(lines[0], lines[1] if len(lines) > 1 else "")


def is_worktree(path: str) -> bool:
    """True if `path` is (still) a checkout: a directory with its `.git` file."""
    return os.path.isdir(path) and os.path.exists(os.path.join(path, ".git"))


def branch_exists(repo: str, branch: str) -> bool:
    return git_ok(["show-ref", "--verify", "--quiet", f"refs/heads/{branch}"], repo)


def free_branch(repo: str, wanted: str) -> str:
    """`wanted`, or `wanted-2`, `-3`... if a branch of that name exists already."""
    if not git_ok(["check-ref-format", "--branch", wanted], repo):
        raise WorkspaceError(f"worktree: {wanted!r} is not a valid branch name")
    name, n = wanted, 2
    while branch_exists(repo, name):
        name, n = f"{wanted}-{n}", n + 1
    return name


def _task_cwd(path: str, prefix: str) -> str:
    """The worktree's counterpart of the task's cwd, made if the commit lacks it (an untracked
    or empty directory in the user's checkout)."""
    cwd = os.path.normpath(os.path.join(path, prefix)) if prefix else path
    os.makedirs(cwd, exist_ok=True)
    return cwd


def create_worktree(cwd: str, path: str, branch: str, base: str | None = None) -> WorktreeInfo:
    """A new worktree at `path` on a new branch (`branch`, or a free variant of it) from `base`
    (a branch, tag or commit; None: the HEAD commit) of the repository `cwd` is in. `path` must
    not exist; its parent must."""
    path = os.path.abspath(path)  # git would resolve a relative one against the repository
    repo = find_repository(cwd)
    top = repo.top
    start = "HEAD" if base is None else base
    head = run_git(["rev-parse", "--verify", "--quiet", f"{start}^{{commit}}"], top, check=False)
    if head.returncode != 0 and base is not None:
        raise WorkspaceError(f'worktree_base "{base}" is not a branch, tag or commit of {top}')
    if head.returncode != 0:
        raise WorkspaceError(f"worktree: the repository {top} has no commits yet")
    base_commit = head.stdout.decode().strip()
    if base is None:
        symbolic = run_git(["symbolic-ref", "--quiet", "--short", "HEAD"], top, check=False)
        base_ref = symbolic.stdout.decode("utf-8", "surrogateescape").strip() or None
    else:  # a branch is what the task started from (and merges back into); a tag or commit not
        base_ref = base if branch_exists(top, base) else None
    name = free_branch(top, branch)
    try:
        run_git(["worktree", "add", "--quiet", "-b", name, path, base_commit], top)
    except GitError as exc:
        raise WorkspaceError(f"worktree: git worktree add failed: {exc}") from None
    return WorktreeInfo(
        repo=top,
        path=path,
        branch=name,
        base_commit=base_commit,
        base_ref=base_ref,
        cwd=_task_cwd(path, repo.prefix),
    )


def copy_into(info: WorktreeInfo, names: tuple[str, ...]) -> None:
    """Copy `names` (relative to the user's checkout) into the new worktree at the same places:
    the files git does not carry. A missing one is a WorkspaceError naming it."""
    for name in names:
        source = os.path.join(info.repo, name)
        target = os.path.join(info.path, name)
        if not os.path.lexists(source):
            raise WorkspaceError(f"worktree_copy: {name} is not in {info.repo}")
        try:
            os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
            if os.path.isdir(source) and not os.path.islink(source):
                shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True)
            else:
                shutil.copy2(source, target, follow_symlinks=False)
        except OSError as exc:
            raise WorkspaceError(f"worktree_copy: cannot copy {name}: {exc}") from None


def reopen_worktree(info: WorktreeInfo) -> WorktreeInfo:
    """The same worktree for a later attempt of its task. If it was removed meanwhile, it is
    made again on the same branch (so the task's commits are there), or from the base commit if
    the branch is gone too."""
    if is_worktree(info.path):
        os.makedirs(info.cwd, exist_ok=True)
        return info
    if not os.path.isdir(info.repo):
        raise WorkspaceError(f"worktree: its repository {info.repo} is gone")
    try:
        run_git(["worktree", "prune"], info.repo)
        if branch_exists(info.repo, info.branch):
            run_git(["worktree", "add", "--quiet", info.path, info.branch], info.repo)
        else:
            run_git(
                ["worktree", "add", "--quiet", "-b", info.branch, info.path, info.base_commit],
                info.repo,
            )
    except GitError as exc:
        raise WorkspaceError(f"worktree: cannot make {info.path} again: {exc}") from None
    os.makedirs(info.cwd, exist_ok=True)
    return info


def repository_alive(repo: str) -> bool:
    return os.path.isdir(repo) and git_ok(["rev-parse", "--git-dir"], repo)


def remove_worktree(info: WorktreeInfo, *, force: bool, root: str) -> str:
    """Remove the worktree and delete its branch; returns a note if the branch had to stay.

    Whether the branch may go (merged, no uncommitted changes) is the caller's decision; without
    `force`, `git worktree remove` still refuses a worktree with changes. A worktree whose
    repository is gone can only be deleted as a directory: with `force`, and only under `root`
    (the data dir's worktrees), never anywhere else.
    """
    if repository_alive(info.repo):
        try:
            if is_worktree(info.path):
                force_flag = ["--force"] if force else []
                run_git(["worktree", "remove", *force_flag, info.path], info.repo)
            else:
                run_git(["worktree", "prune"], info.repo)
        except GitError as exc:
            raise WorkspaceError(f"git worktree remove failed: {exc}") from None
        if branch_exists(info.repo, info.branch):
            try:
                run_git(["branch", "-D", info.branch], info.repo)
            except GitError as exc:
                return f"branch {info.branch} kept: {exc}"
        return ""
    if os.path.isdir(info.path):
        inside = os.path.commonpath([os.path.realpath(root), os.path.realpath(info.path)])
        if inside != os.path.realpath(root):
            raise WorkspaceError(f"{info.path} is not under {root}: left alone")
        if not force:
            raise WorkspaceError(f"its repository {info.repo} is gone; --force deletes it")
        shutil.rmtree(info.path)
    return ""


def head_commit(path: str) -> str:
    return git_text(["rev-parse", "--verify", "HEAD^{commit}"], path)
