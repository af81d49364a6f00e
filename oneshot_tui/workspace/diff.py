"""A task's changes as a diff against its base commit: text (coloured or plain) or parsed hunks.

This is the API a diff view calls (the TUI's `d` key, `oneshot-tui diff`): UI-free, synchronous
(a few git commands; call it from a worker thread), never changing the worktree.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum

from oneshot_tui.core.worktree import WorktreeInfo, WorktreeSummary
from oneshot_tui.workspace.git import run_git
from oneshot_tui.workspace.inspect import summarize, untracked_included
from oneshot_tui.workspace.worktree import WorkspaceError, is_worktree, repository_alive


class Scope(StrEnum):
    """Which changes a diff shows, all against the base commit."""

    ALL = "all"
    """The worktree as it is now: commits and uncommitted changes (untracked files too)."""
    COMMITTED = "committed"
    """Only what the branch's commits change: what merging it would bring."""
    UNCOMMITTED = "uncommitted"
    """Only the changes left uncommitted, against the worktree's HEAD (not the base)."""


@dataclass(frozen=True, slots=True)
class _Source:
    where: str
    """Where git runs: the worktree, or the repository for a removed worktree."""
    revisions: tuple[str, ...]
    """One revision: against the files on disk; two: between them."""
    env: dict[str, str] | None
    scope: Scope


@contextmanager
def _source(info: WorktreeInfo, scope: Scope, final_commit: str | None) -> Iterator[_Source]:
    if is_worktree(info.path):
        if scope is Scope.COMMITTED:
            yield _Source(info.path, (info.base_commit, "HEAD"), None, scope)
            return
        with untracked_included(info.path) as env:
            old = info.base_commit if scope is Scope.ALL else "HEAD"
            yield _Source(info.path, (old,), env, scope)
        return
    if repository_alive(info.repo) and final_commit and scope is not Scope.UNCOMMITTED:
        yield _Source(info.repo, (info.base_commit, final_commit), None, Scope.COMMITTED)
        return
    raise WorkspaceError(f"the worktree {info.path} is gone, and with it the task's changes")


def _git_diff(source: _Source, *, colour: bool, stat: bool = False) -> str:
    args = ["diff", "--no-ext-diff", "--find-renames", f"--color={'always' if colour else 'never'}"]
    if stat:
        args.append("--stat")
    proc = run_git([*args, *source.revisions, "--"], source.where, env=source.env)
    return proc.stdout.decode("utf-8", "surrogateescape")


def diff_text(
    info: WorktreeInfo,
    *,
    colour: bool = False,
    scope: Scope = Scope.ALL,
    stat: bool = False,
    final_commit: str | None = None,
) -> str:
    """The task's diff as `git diff` prints it (ANSI colours if `colour`; `--stat` if `stat`).

    A worktree that was removed can still be shown from its recorded `final_commit`, as long as
    the repository has that commit (its uncommitted changes are gone with it). Raises
    WorkspaceError when there is nothing to show it from, GitError if git fails.
    """
    with _source(info, scope, final_commit) as source:
        return _git_diff(source, colour=colour, stat=stat)


@dataclass(frozen=True, slots=True)
class TaskDiff:
    """Everything a diff view shows for one task, read at one moment."""

    summary: WorktreeSummary
    """Branch, commits and diff stats (its `error` says why if the worktree is gone)."""
    scope: Scope
    """What the diff shows (COMMITTED for a removed worktree shown from its last commit)."""
    text: str
    """As `git diff` prints it: ANSI-coloured if asked for, else plain."""
    files: list[FileDiff]
    """The same diff parsed into files and hunks, for a view that draws it itself."""


def task_diff(
    info: WorktreeInfo,
    *,
    colour: bool = True,
    scope: Scope = Scope.ALL,
    final_commit: str | None = None,
) -> TaskDiff:
    """A task's summary and diff for a diff view (the TUI's `d` key). Synchronous: a few git
    commands, so call it from a worker thread; it changes nothing in the worktree.

    Raises WorkspaceError when the changes are gone, GitError if git fails.
    """
    summary = summarize(info)
    with _source(info, scope, final_commit) as source:
        plain = _git_diff(source, colour=False)
        text = _git_diff(source, colour=True) if colour else plain
    return TaskDiff(summary, source.scope, text, parse_diff(plain))


class LineKind(StrEnum):
    CONTEXT = " "
    ADDED = "+"
    REMOVED = "-"
    NOTE = "\\"
    """"\\ No newline at end of file"."""


@dataclass(frozen=True, slots=True)
class DiffLine:
    kind: LineKind
    text: str
    """The line without its leading marker."""


@dataclass(slots=True)
class Hunk:
    header: str
    """The whole `@@ -a,b +c,d @@ context` line."""
    old_start: int
    old_lines: int
    new_start: int
    new_lines: int
    lines: list[DiffLine] = field(default_factory=list)


@dataclass(slots=True)
class FileDiff:
    old_path: str | None
    """None for a new file."""
    new_path: str | None
    """None for a deleted file."""
    status: str = "modified"
    """modified, added, deleted, renamed, copied or mode (a permission change only)."""
    binary: bool = False
    headers: list[str] = field(default_factory=list)
    """The lines between `diff --git` and the first hunk (index, mode, rename lines)."""
    hunks: list[Hunk] = field(default_factory=list)

    @property
    def path(self) -> str:
        return self.new_path or self.old_path or "?"

    @property
    def added(self) -> int:
        return sum(1 for h in self.hunks for line in h.lines if line.kind is LineKind.ADDED)

    @property
    def removed(self) -> int:
        return sum(1 for h in self.hunks for line in h.lines if line.kind is LineKind.REMOVED)


_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_GIT_HEADER = re.compile(r"^diff --git a/(.*) b/(.*)$")


def _path(value: str) -> str | None:
    """A path from a `---`/`+++` line: None for /dev/null, else without its a/ or b/."""
    value = value.split("\t", 1)[0]
    if value == "/dev/null":
        return None
    return value[2:] if value[:2] in ("a/", "b/") else value


def parse_diff(text: str) -> list[FileDiff]:
    """A plain (uncoloured) `git diff` as files and hunks, for a view that draws them itself."""
    files: list[FileDiff] = []
    current: FileDiff | None = None
    hunk: Hunk | None = None
    for line in text.split("\n"):
        if line.startswith("diff --git "):
            match = _GIT_HEADER.match(line)
            old, new = (match.group(1), match.group(2)) if match else (None, None)
            current = FileDiff(old, new)
            files.append(current)
            hunk = None
        elif current is None:
            continue
        elif hunk is not None and line[:1] in (" ", "+", "-", "\\"):
            hunk.lines.append(DiffLine(LineKind(line[0]), line[1:]))
        elif match := _HUNK.match(line):
            a, b, c, d = match.groups()
            hunk = Hunk(line, int(a), int(b or 1), int(c), int(d or 1))
            current.hunks.append(hunk)
        elif hunk is None:
            _file_header(current, line)
    return files


def _file_header(file: FileDiff, line: str) -> None:
    file.headers.append(line)
    if line.startswith("new file mode"):
        file.status, file.old_path = "added", None
    elif line.startswith("deleted file mode"):
        file.status, file.new_path = "deleted", None
    elif line.startswith("rename from "):
        file.status, file.old_path = "renamed", line[len("rename from ") :]
    elif line.startswith("rename to "):
        file.new_path = line[len("rename to ") :]
    elif line.startswith("copy from "):
        file.status, file.old_path = "copied", line[len("copy from ") :]
    elif line.startswith("copy to "):
        file.new_path = line[len("copy to ") :]
    elif line.startswith("old mode") and file.status == "modified":
        file.status = "mode"
    elif line.startswith("Binary files "):
        file.binary = True
        if file.status == "mode":
            file.status = "modified"
    elif line.startswith("--- "):
        file.old_path = _path(line[4:])
    elif line.startswith("+++ "):
        file.new_path = _path(line[4:])
        if file.status == "mode":
            file.status = "modified"
