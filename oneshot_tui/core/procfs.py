"""Reading Linux's /proc: one parser of `/proc/PID/stat` for the whole program (stdlib only).

Elsewhere (no /proc) every reader here answers "no such process".
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from oneshot_tui.core.record import record

PROC = "/proc"
MARKER_VAR = "ONESHOT_TUI_TASK"
"""Set in the environment of every process a task starts (`<run>/<task>/<attempt>`), so its
descendants are found outside its process group, even by a later process (`cleanup`)."""


def attempt_marker(run_id: str, task: str, attempt: int) -> str:
    """The value of MARKER_VAR for a task's attempt: a run id never repeats, so it names the
    attempt alone, on this machine and on every cluster node."""
    return f"{run_id}/{task}/{attempt}"


@record
class ProcStat:
    """The fields of /proc/PID/stat we use."""

    pid: int
    state: str
    ppid: int
    pgid: int
    sid: int
    start_ticks: int

    @property
    def alive(self) -> bool:
        """Not a zombie waiting to be reaped (nor dead)."""
        return self.state not in ("Z", "X")


def read_stat(pid: int) -> ProcStat | None:
    """The process's stat, or None if there is no such process (or no /proc)."""
    try:
        with open(f"{PROC}/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    # The command name may hold spaces and parentheses; the fields after the last ')' do not.
    fields = raw[raw.rfind(b")") + 2 :].split()
    if len(fields) < 20:
        return None
    try:
        return ProcStat(
            pid=pid,
            state=fields[0].decode(),
            ppid=int(fields[1]),
            pgid=int(fields[2]),
            sid=int(fields[3]),
            start_ticks=int(fields[19]),
        )
    except ValueError:
        return None


def pids() -> Iterator[int]:
    """Every process id in /proc, at the moment of listing."""
    try:
        names = os.listdir(PROC)
    except OSError:
        return
    for name in names:
        if name.isdigit():
            yield int(name)


def has_proc() -> bool:
    return os.path.isdir(PROC)


def has_environ_entry(pid: int, entry: bytes) -> bool:
    """True if `entry` (`NAME=value`) is in the process's environment as it started."""
    try:
        with open(f"{PROC}/{pid}/environ", "rb") as f:
            return entry in f.read().split(b"\0")
    except OSError:
        return False


def fd_targets(pid: int) -> list[str]:
    """What each open file descriptor of a process points at (`pipe:[INODE]`, a path, ...):
    empty if the process is gone or not ours to look at."""
    folder = f"{PROC}/{pid}/fd"
    try:
        fds = os.listdir(folder)
    except OSError:
        return []
    targets = []
    for fd in fds:
        try:
            targets.append(os.readlink(f"{folder}/{fd}"))
        except OSError:
            continue
    return targets
