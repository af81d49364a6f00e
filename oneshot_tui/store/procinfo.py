"""Who a pid is: start time and boot, so a recycled pid is never mistaken for ours (Linux /proc).

A pid alone names a process only while it lives; after it dies the number is handed out again.
`(pid, start_ticks, boot_id)` names one process for good: the start time (clock ticks since boot,
field 22 of /proc/PID/stat) tells two processes of one boot apart, the boot id tells boots apart.
"""

from __future__ import annotations

import os

from oneshot_tui.core.procfs import PROC, ProcStat, pids, read_stat
from oneshot_tui.core.record import record

_BOOT_ID_FILE = "/proc/sys/kernel/random/boot_id"


@record
class ProcessIdentity:
    """A process told apart from a later one with the same pid (start time, boot)."""

    pid: int
    start_ticks: int
    boot_id: str


_boot_id: str | None = None


def boot_id() -> str:
    """This boot's id ("" where the kernel does not say)."""
    global _boot_id
    if _boot_id is None:
        try:
            with open(_BOOT_ID_FILE) as f:
                _boot_id = f.read().strip()
        except OSError:
            _boot_id = ""
    return _boot_id


def host_name() -> str:
    return os.uname().nodename


def identify(pid: int) -> ProcessIdentity | None:
    stat = read_stat(pid)
    if stat is None:
        return None
    return ProcessIdentity(pid, stat.start_ticks, boot_id())


def identify_child(pid: int) -> ProcessIdentity | None:
    """The identity of `pid` only if it is our own child (alive or not yet reaped).

    A child may exit and be reaped before we look; its pid could then, in theory, belong to
    someone else. Requiring us as the parent makes sure we never record a stranger as ours, so
    `cleanup` can never stop one.
    """
    stat = read_stat(pid)
    if stat is None or stat.ppid != os.getpid():
        return None
    return ProcessIdentity(pid, stat.start_ticks, boot_id())


def is_running(identity: ProcessIdentity) -> bool:
    """True if that very process (not just its pid) is alive now, on this boot."""
    if identity.boot_id != boot_id():
        return False
    stat = read_stat(identity.pid)
    return stat is not None and stat.alive and stat.start_ticks == identity.start_ticks


def command_line(pid: int) -> str:
    """The process's argv joined by spaces ("" if it is gone or a kernel thread)."""
    try:
        with open(f"{PROC}/{pid}/cmdline", "rb") as f:
            raw = f.read()
    except OSError:
        return ""
    return raw.rstrip(b"\0").replace(b"\0", b" ").decode("utf-8", "replace")


def live_processes() -> list[ProcStat]:
    """Every live (not zombie) process we can see, read once from /proc."""
    stats = (read_stat(pid) for pid in pids())
    return [stat for stat in stats if stat is not None and stat.alive]


def own_group_members(
    leader: ProcessIdentity, processes: list[ProcStat] | None = None
) -> list[ProcStat]:
    """The live members of the process group `leader` created, if that group still exists.

    The group's id is the leader's pid. While the leader lives, its start time proves the group
    is the one we recorded. Once the leader has gone, the kernel does not hand its pid out again
    while the group still has members, so members in a session of that id that started no
    earlier than the leader are taken to be its descendants. `processes` is a snapshot from
    `live_processes()`, taken once when checking many groups.
    """
    if leader.boot_id != boot_id():
        return []
    stat = read_stat(leader.pid)
    if stat is not None and stat.alive and stat.start_ticks != leader.start_ticks:
        return []  # the pid belongs to another process now, hence so does the group id
    if processes is None:
        processes = live_processes()
    return [
        p
        for p in processes
        if p.pgid == leader.pid and p.sid == leader.pid and p.start_ticks >= leader.start_ticks
    ]
