"""A cgroup v2 per process we start, where the kernel lets us make one: the one container that
a descendant cannot leave by itself (no `setsid`, double fork or scrubbed environment gets it
out; only a write to another cgroup's `cgroup.procs`, which needs the rights to that cgroup).

The cgroup is made below our own (`/proc/self/cgroup`, under the cgroup2 mount), named after our
pid and a counter. The child enters it itself before it runs anything (`enter_argv`: a shell
writes its own pid to `cgroup.procs`, then execs the command, so even its first fork lands
inside). Then `procs` lists every member wherever it moved in the process tree, `populated`
says whether anything is left, and `kill` (`cgroup.kill`, Linux 5.14) SIGKILLs them all at once.

Where there is no writable cgroup2 (not Linux, cgroup v1 only, no rights) or
`ONESHOT_TUI_CGROUPS=0` says not to, `TaskCgroup.create` returns None and the process group,
the marker and the pipe holders (descendants.py) are all there is.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal

ENV_SWITCH = "ONESHOT_TUI_CGROUPS"
"""Set to 0 to never use cgroups (the fallback, and how tests force it)."""

_MOUNTINFO = "/proc/self/mountinfo"
_OWN_CGROUP = "/proc/self/cgroup"
_base: str | bool | None = False
"""The directory task cgroups are made in: False until looked up, None where there is none."""
_counter = itertools.count(1)

ENTER_SCRIPT = 'echo 0 >"$0" 2>/dev/null; exec "$@"'
"""Run by /bin/sh with $0 the new cgroup's `cgroup.procs`: writing 0 moves the writer itself.
If the write fails the command still runs, outside the cgroup (the other mechanisms hold)."""


def cgroup2_mount(mountinfo: str) -> str | None:
    """The mount point of the cgroup2 file system in a /proc/self/mountinfo text."""
    for line in mountinfo.splitlines():
        left, sep, right = line.partition(" - ")
        if sep and right.split(" ", 1)[0] == "cgroup2":
            fields = left.split(" ")
            if len(fields) > 4:
                return fields[4].replace("\\040", " ")
    return None


def own_cgroup(text: str) -> str | None:
    """Our path in the cgroup2 hierarchy from a /proc/self/cgroup text (the `0::` line)."""
    for line in text.splitlines():
        if line.startswith("0::"):
            return line[3:].strip() or "/"
    return None


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def _find_base() -> str | None:
    if os.environ.get(ENV_SWITCH, "1").strip() in ("0", "no", "off", "false"):
        return None
    mountinfo = _read(_MOUNTINFO)
    own = _read(_OWN_CGROUP)
    if mountinfo is None or own is None:
        return None
    mount, path = cgroup2_mount(mountinfo), own_cgroup(own)
    if mount is None or path is None:
        return None
    base = os.path.join(mount, path.lstrip("/"))
    return base if os.access(base, os.W_OK) else None


def cgroup_base() -> str | None:
    """Where task cgroups go, or None where cgroups are not used (looked up once)."""
    global _base
    if _base is False:
        _base = _find_base()
        if _base is not None:
            remove_stale(_base)
    return _base if isinstance(_base, str) else None


def _orphaned(base: str) -> list[str]:
    """Our cgroups (`oneshot-tui-PID-N`) whose owner, PID, is no longer alive."""
    try:
        names = os.listdir(base)
    except OSError:
        return []
    found: list[str] = []
    for name in names:
        parts = name.split("-")
        if len(parts) != 4 or parts[:2] != ["oneshot", "tui"] or not parts[2].isdigit():
            continue
        if os.path.exists(f"/proc/{parts[2]}"):
            continue  # its owner (or a process with its pid) lives: not ours to judge
        found.append(os.path.join(base, name))
    return sorted(found)


def remove_stale(base: str) -> int:
    """Remove the empty cgroups left by processes of ours that died without removing them
    (kill -9): rmdir only ever removes an empty cgroup, so nothing running is touched. One
    with members is left for `cleanup` (`leftovers`). Returns how many went."""
    removed = 0
    for path in _orphaned(base):
        with contextlib.suppress(OSError):
            os.rmdir(path)
            removed += 1
    return removed


def leftovers() -> list[TaskCgroup]:
    """The cgroups of ours whose owner died and that still have members: what a killed
    oneshot-tui's tasks left running, however they left their process group (setsid, a scrubbed
    environment). Only below our own cgroup: where a run started from this session put them."""
    base = cgroup_base()
    if base is None:
        return []
    return [group for group in map(TaskCgroup, _orphaned(base)) if group.procs()]


class TaskCgroup:
    """One cgroup for one started process and all its descendants."""

    def __init__(self, path: str) -> None:
        self.path = path

    @classmethod
    def create(cls) -> TaskCgroup | None:
        """A new empty cgroup, or None where none can be made (see the module docstring)."""
        global _base
        base = cgroup_base()
        if base is None:
            return None
        path = os.path.join(base, f"oneshot-tui-{os.getpid()}-{next(_counter)}")
        try:
            os.mkdir(path)
        except FileExistsError:
            return cls.create()  # left by a process of ours that died with this pid
        except OSError:
            _base = None  # writable to access(2) but not to mkdir (a read-only mount): stop trying
            return None
        return cls(path)

    @property
    def procs_file(self) -> str:
        return os.path.join(self.path, "cgroup.procs")

    def enter_argv(self, argv: list[str]) -> list[str]:
        """`argv` run so that the process enters this cgroup before anything else happens."""
        return ["/bin/sh", "-c", ENTER_SCRIPT, self.procs_file, *argv]

    def procs(self) -> list[int]:
        """Every process in the cgroup now (zombies leave it when they die)."""
        text = _read(self.procs_file)
        return [int(p) for p in text.split()] if text else []

    def populated(self) -> bool:
        text = _read(os.path.join(self.path, "cgroup.events"))
        if text is None:
            return False
        return any(line == "populated 1" for line in text.splitlines())

    def signal(self, sig: int) -> bool:
        """`sig` to every member; False if there was none."""
        hit = False
        for pid in self.procs():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
                hit = True
        return hit

    def kill(self) -> None:
        """SIGKILL to every member at once, forks in flight included (`cgroup.kill`); one by
        one on a kernel without it."""
        try:
            with open(os.path.join(self.path, "cgroup.kill"), "w") as f:
                f.write("1")
        except OSError:
            self.signal(signal.SIGKILL)

    def remove(self) -> bool:
        """Remove the cgroup once it is empty; False if it still has members (left behind)."""
        try:
            os.rmdir(self.path)
        except FileNotFoundError:
            return True
        except OSError:
            return False
        return True
