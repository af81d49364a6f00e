"""Signals to whole process groups, and whether anything of a group is still alive."""

from __future__ import annotations

import os
import signal

from oneshot_tui.core.procfs import has_proc, pids, read_stat


def signal_group(pgid: int, sig: int) -> bool:
    """Send `sig` to every process in the group; False if the group is already gone."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        # A member changed its uid (setuid binary); the others still got the signal.
        return True
    return True


def group_alive(pgid: int) -> bool:
    """True while some member of the group is alive (zombies waiting to be reaped don't count)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return bool(live_members(pgid)) if has_proc() else True


def live_members(pgid: int) -> list[int]:
    """Pids of the group's members that are not zombies (Linux /proc)."""
    members = []
    for pid in pids():
        stat = read_stat(pid)
        if stat is not None and stat.pgid == pgid and stat.alive:
            members.append(pid)
    return members


def signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"
