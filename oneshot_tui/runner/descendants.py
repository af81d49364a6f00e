"""Processes that left their task's process group, and the zombies they leave with us.

A descendant can escape a process group (double fork + `setsid()`), and then `killpg` no longer
reaches it. Where the process has a cgroup of its own (cgroups.py) that catches it; besides (and
where there is none), three things catch it on Linux:
- every task's environment carries a marker (`ONESHOT_TUI_TASK=<run>/<task>/<attempt>`), which
  its descendants inherit unless they scrub their environment;
- whoever holds the task's output (its pipe, PTY or stdout file) belongs to the task, whatever
  its environment: `holders` finds every process with a descriptor on it;
- the orchestrator is a child subreaper (`prctl(PR_SET_CHILD_SUBREAPER)`), so an orphaned escapee
  is re-parented to us instead of to init: we can find it among our children, and reap it.

Limits (documented in the README): a process that clears its environment, closes the task's
output and lives outside the cgroup (or where there is none) is not found; without /proc (not
Linux) only the group is stopped.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Collection

from oneshot_tui.core.procfs import MARKER_VAR, PROC, fd_targets, has_environ_entry, pids, read_stat

_PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    """Make orphaned descendants re-parent to this process (Linux); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes  # here, not at the top: every headless start would pay for it

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def children_of(pid: int | str) -> set[int]:
    """Direct children of a process ("self": this one), adopted ones included, from the
    `children` file of each of its threads (cheap: no full /proc scan)."""
    children: set[int] = set()
    try:
        tasks = os.listdir(f"{PROC}/{pid}/task")
    except OSError:
        return children
    for tid in tasks:
        try:
            with open(f"{PROC}/{pid}/task/{tid}/children") as f:
                children.update(int(p) for p in f.read().split())
        except OSError:
            continue
    return children


def our_children() -> set[int]:
    """Direct children of this process, adopted ones included."""
    return children_of("self")


def _descendants(roots: Collection[int]) -> list[int]:
    """`roots` and everything below them, walked down from the roots: a look at the few
    processes there, not a scan of every process on the machine (a root is often a task leader
    that is still starting, with nothing below it)."""
    found: set[int] = set()
    todo = list(roots)
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children_of(pid))
    return sorted(found)


def _has_marker(pid: int, marker: bytes) -> bool:
    return has_environ_entry(pid, marker)


def escaped_members(marker: str, leaders: Collection[int]) -> list[int]:
    """Live processes carrying `marker` that hang below us outside the tasks' groups.

    Only our adopted children (children that are not task leaders) and their descendants are
    looked at: a process still inside a task's group is reached by `killpg` already.
    """
    roots = our_children() - set(leaders)
    if not roots:
        return []
    needle = f"{MARKER_VAR}={marker}".encode()
    out = []
    for pid in _descendants(roots):
        stat = read_stat(pid)
        if stat is not None and stat.alive and _has_marker(pid, needle):
            out.append(pid)
    return out


def marked_processes(marker: str) -> list[int]:
    """Every live process on this machine carrying `marker`, wherever it hangs (a full /proc
    scan: for a process whose supervisor died, so that nothing of it is left in our tree)."""
    needle = f"{MARKER_VAR}={marker}".encode()
    out = []
    for pid in pids():
        stat = read_stat(pid)
        if stat is not None and stat.alive and _has_marker(pid, needle):
            out.append(pid)
    return out


def holders(targets: Collection[str]) -> list[int]:
    """Every live process but us with a descriptor on one of `targets` (what `fd_targets`
    reads: `pipe:[INODE]` for a pipe, the path of a PTY or file): a full /proc scan, for the
    moment a task's leader has gone and something still holds its output."""
    wanted = set(targets)
    me = os.getpid()
    out = []
    for pid in pids():
        if pid != me and not wanted.isdisjoint(fd_targets(pid)):
            stat = read_stat(pid)
            if stat is not None and stat.alive:
                out.append(pid)
    return out


def reap_adopted(leaders: Collection[int]) -> int:
    """Reap zombie children we adopted as subreaper.

    Never a task leader (asyncio waits for those itself, and stealing a status would corrupt an
    exit code), and never a child in our own process group: those are plain subprocesses of
    ours (git, a test's helper) that somebody else waits for. Adopted orphans of a task are in
    that task's group, or in a session of their own.
    """
    reaped = 0
    own_group = os.getpgrp()
    for pid in our_children() - set(leaders):
        stat = read_stat(pid)
        if stat is not None and stat.state == "Z" and stat.pgid != own_group:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
                reaped += 1
    return reaped
