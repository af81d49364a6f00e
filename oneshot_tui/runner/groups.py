"""Signals to whole process groups, and whether anything of a group is still alive."""

from __future__ import annotations

import os
import signal

_PROC = "/proc"


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
    return bool(live_members(pgid)) if os.path.isdir(_PROC) else True


def process_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie (Linux /proc)."""
    stat = _read_stat(str(pid))
    return stat is not None and stat[0] not in ("Z", "X")


def live_members(pgid: int) -> list[int]:
    """Pids of the group's members that are not zombies (Linux /proc)."""
    members: list[int] = []
    for entry in os.scandir(_PROC):
        if not entry.name.isdigit():
            continue
        stat = _read_stat(entry.name)
        if stat is not None and stat[1] == pgid and stat[0] not in ("Z", "X"):
            members.append(int(entry.name))
    return members


def _read_stat(pid: str) -> tuple[str, int] | None:
    """(state, pgrp) of a process, or None if it has gone."""
    try:
        with open(f"{_PROC}/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    # The command name may hold spaces and parentheses; the fields after the last ')' do not.
    fields = raw[raw.rfind(b")") + 2 :].split()
    if len(fields) < 3:
        return None
    return fields[0].decode(), int(fields[2])


def signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"
