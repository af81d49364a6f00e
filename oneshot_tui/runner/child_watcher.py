"""How asyncio learns that a child exited: a pidfd per child on the event loop, not a thread.

Python 3.11's default child watcher starts a thread per child that blocks in `waitpid`: with many
short tasks that costs a thread start and join per task (and every thread is one more
`/proc/self/task/*/children` file to read when looking for escaped descendants). Python 3.12 made
a pidfd watcher the default where the kernel has pidfds (Linux 5.3); `use_pidfd_watcher` installs
the same one (3.12's `PidfdChildWatcher`, which works on whatever loop spawns the child: the TUI's
engine thread has a loop of its own) on 3.11. Elsewhere it does nothing.

It reaps with `wait4`, so the CPU time a child used (with the descendants it waited for) is known
when it exits: `cpu_seconds(pid)` hands it over once (the history's and `stats`' CPU time).
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

_installed = False

_CPU: dict[int, float] = {}
"""Pid -> user + system CPU seconds of a reaped child, until `cpu_seconds` takes it."""
_CPU_KEPT = 4096
"""Children nobody asks about (git, a probe) must not grow the table without bound."""


def cpu_seconds(pid: int) -> float | None:
    """The CPU time of child `pid`, reaped by this watcher (None if it did not reap it)."""
    return _CPU.pop(pid, None)


def _remember_cpu(pid: int, usage: Any) -> None:
    if len(_CPU) >= _CPU_KEPT:
        del _CPU[next(iter(_CPU))]  # the oldest: whoever wanted it would have asked by now
    _CPU[pid] = usage.ru_utime + usage.ru_stime


def use_pidfd_watcher() -> bool:
    """Install the pidfd watcher once (Python 3.11 on Linux with pidfds); True if it is in use."""
    global _installed
    if _installed or sys.version_info >= (3, 12) or not hasattr(os, "pidfd_open"):
        return _installed
    try:
        os.close(os.pidfd_open(os.getpid()))  # the kernel (or a seccomp filter) may refuse
    except OSError:
        return False
    if type(asyncio.get_event_loop_policy()) is not asyncio.DefaultEventLoopPolicy:
        return False  # someone else's policy: leave its watcher alone
    asyncio.set_child_watcher(_pidfd_watcher())
    _installed = True
    return True


def _pidfd_watcher() -> asyncio.AbstractChildWatcher:
    # Defined only on 3.11: from 3.12 on, subclassing AbstractChildWatcher is deprecated.

    class PidfdChildWatcher(asyncio.AbstractChildWatcher):
        """Python 3.12's PidfdChildWatcher: each child's pidfd is a reader on the running loop."""

        def __enter__(self) -> PidfdChildWatcher:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def is_active(self) -> bool:
            return True

        def close(self) -> None:
            return None

        def attach_loop(self, loop: Any) -> None:
            return None

        def add_child_handler(self, pid: int, callback: Any, *args: Any) -> None:  # type: ignore[override]  # the stub types *args as a TypeVarTuple
            loop = asyncio.get_running_loop()
            pidfd = os.pidfd_open(pid)
            loop.add_reader(pidfd, self._do_wait, loop, pid, pidfd, callback, args)

        def _do_wait(
            self,
            loop: asyncio.AbstractEventLoop,
            pid: int,
            pidfd: int,
            callback: Any,
            args: tuple[Any, ...],
        ) -> None:
            loop.remove_reader(pidfd)
            try:
                _, status, usage = os.wait4(pid, 0)
            except ChildProcessError:  # reaped elsewhere (asyncio says 255 then, too)
                returncode = 255
            else:
                returncode = os.waitstatus_to_exitcode(status)
                _remember_cpu(pid, usage)
            os.close(pidfd)
            callback(pid, returncode, *args)

        def remove_child_handler(self, pid: int) -> bool:
            return True

    return PidfdChildWatcher()
