"""Processes that escaped their group: found by a marker in their environment, then stopped.

Some agent CLIs start helpers in a session of their own (cline's hub daemon), out of reach of a
signal to the task's process group. Each run puts a unique marker in its child's environment;
descendants inherit it, detached or not, so /proc tells which processes are ours.
"""

from __future__ import annotations

import contextlib
import os
import signal

import anyio

from oneshot_tui.runner.groups import process_alive

_PROC = "/proc"
POLL = 0.02


def marked(name: str, value: str) -> list[int]:
    """Pids of live processes whose environment has `name=value` (Linux /proc; [] elsewhere)."""
    needle = f"{name}={value}".encode()
    me = os.getpid()
    found: list[int] = []
    try:
        entries = os.listdir(_PROC)
    except OSError:
        return found
    for entry in entries:
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open(f"{_PROC}/{entry}/environ", "rb") as f:
                environ = f.read()
        except OSError:
            continue
        if needle in environ.split(b"\0"):
            found.append(int(entry))
    return found


async def stop_marked(name: str, value: str, grace: float) -> list[int]:
    """SIGTERM every marked process, SIGKILL what is left after `grace`; returns their pids."""
    pids = marked(name, value)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
    with anyio.move_on_after(grace):
        while any(process_alive(pid) for pid in pids):
            await anyio.sleep(POLL)
    for pid in pids:
        if process_alive(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
    return pids
