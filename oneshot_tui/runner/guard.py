"""A task's guard on its node: whatever the task started dies with its host, however the host goes.

A host (`process_host.py`) runs in a Ray worker, and a Ray worker can die without a chance to
clean up: SIGKILLed, its raylet gone, its driver killed. So each host starts a guard once,
`python -m oneshot_tui.runner.guard FD`, in a session of its own and not as its child (a Ray
worker SIGKILLs its children as it exits: the guard is left to init), holding the read end of a
pipe whose only write end the host keeps. The host tells it of each process it starts (`watch`:
its group, marker and cgroup) and of each whose end it has seen, leftovers included
(`unwatch`); the guard reads on:

- `RELEASE` arrives: the guard just exits;
- end of file without it: the host is gone (the kernel closes a dead process's descriptors,
  however it died). For each process still watched, the guard SIGKILLs its cgroup (if it has
  one), its process group and every process on the machine carrying its marker (escapees that
  left the group), until none is left, and exits.

So nothing a task started outlives its host by more than the guard's start and a scan of /proc.
The guard takes no signal from a terminal (SIGINT, SIGHUP are ignored) and needs nothing but the
standard library and `core.procfs`.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time

from oneshot_tui.core.procfs import MARKER_VAR, has_environ_entry, pids, read_stat

RELEASE = b"release"
"""What the host writes when the guard is no longer needed (a line of its own)."""
SWEEPS = 50
"""Scans for marked processes at most (a fork in flight may land a member after a scan)."""
GUARD_START_TIMEOUT = 30.0


def end_task(
    pgid: int | None, marker: str | None, cgroup: str | None, attempts: int = SWEEPS
) -> int:
    """SIGKILL everything of a task on this machine: its cgroup, its group, its marked processes
    (each that is given). How many processes were signalled (by pid; a cgroup's are counted as
    found)."""
    found: set[int] = set()
    for _ in range(attempts):
        pids_now = _members(pgid, marker, cgroup)
        if not pids_now:
            break
        if cgroup is not None:
            with contextlib.suppress(OSError), open(os.path.join(cgroup, "cgroup.kill"), "w") as f:
                f.write("1")
        if pgid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
        for pid in pids_now:
            found.add(pid)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.02)
    if cgroup is not None:
        with contextlib.suppress(OSError):
            os.rmdir(cgroup)
    return len(found)


def _members(pgid: int | None, marker: str | None, cgroup: str | None) -> set[int]:
    """Live processes of the task: in its cgroup, in its group, or carrying its marker."""
    out: set[int] = set()
    if cgroup is not None:
        with contextlib.suppress(OSError), open(os.path.join(cgroup, "cgroup.procs")) as f:
            out.update(int(p) for p in f.read().split())
    needle = f"{MARKER_VAR}={marker}".encode() if marker else None
    me = os.getpid()
    for pid in pids():
        if pid == me:
            continue
        stat = read_stat(pid)
        if stat is None or not stat.alive:
            continue
        in_group = pgid is not None and stat.pgid == pgid
        if in_group or (needle is not None and has_environ_entry(pid, needle)):
            out.add(pid)
    return {pid for pid in out if pid != me and (s := read_stat(pid)) is not None and s.alive}


class Guard:
    """The host's side of its guard: started once per host, told of each process as it starts
    (`watch`) and once the host has seen everything of it end (`unwatch`)."""

    def __init__(self, pid: int, write_end: int) -> None:
        self.pid = pid
        self._write_end: int | None = write_end

    @classmethod
    def start(cls) -> Guard:
        import subprocess  # here: the guard itself does not need it

        read_end, write_end = os.pipe()  # neither end is inherited by anything but the guard
        was_subreaper = set_subreaper(False)
        try:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-S",  # no site: a faster start (the package is on PYTHONPATH)
                    "-m",
                    "oneshot_tui.runner.guard",
                    str(read_end),
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                pass_fds=(read_end,),
                start_new_session=True,
                env=_guard_environment(),
            )
            said, _ = process.communicate(timeout=GUARD_START_TIMEOUT)
            pid = int(said.split()[0])
        except BaseException as exc:
            os.close(write_end)
            if isinstance(exc, (ValueError, IndexError, subprocess.TimeoutExpired)):
                raise OSError(f"the guard did not start: {exc!r}") from exc
            raise
        finally:
            os.close(read_end)
            if was_subreaper:
                set_subreaper(True)
        return cls(pid, write_end)

    @property
    def usable(self) -> bool:
        return self._write_end is not None

    def watch(self, pgid: int, marker: str | None, cgroup: str | None) -> None:
        """From now on, the host's death ends this process's group, cgroup and marked ones."""
        self._send(["+", pgid, marker, cgroup])

    def unwatch(self, pgid: int) -> None:
        self._send(["-", pgid, None, None])

    def _send(self, message: list[object]) -> None:
        if self._write_end is None:
            raise OSError("the guard is released")
        line = json.dumps(message).encode() + b"\n"  # well under PIPE_BUF: written whole
        try:
            os.write(self._write_end, line)
        except OSError:
            self.release()  # the guard died: the caller starts another
            raise

    def release(self) -> None:
        """The guard exits without touching anything."""
        fd, self._write_end = self._write_end, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            os.write(fd, RELEASE + b"\n")
        os.close(fd)


def set_subreaper(on: bool) -> bool:
    """Turn this process's child-subreaper bit on or off (Linux); whether it was on before."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        before = ctypes.c_int(0)
        libc.prctl(_PR_GET_CHILD_SUBREAPER, ctypes.byref(before), 0, 0, 0)
        libc.prctl(_PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0)
    except (OSError, AttributeError):
        return False
    return bool(before.value)


_PR_SET_CHILD_SUBREAPER = 36
_PR_GET_CHILD_SUBREAPER = 37


def _guard_environment() -> dict[str, str]:
    """The host's environment, less a task's marker (the guard must not be taken for one of the
    task's processes), and with oneshot-tui importable wherever the host imported it from."""
    env = {k: v for k, v in os.environ.items() if k != MARKER_VAR}
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    return env


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    # Not the host's child: a Ray worker SIGKILLs its own children as it exits
    # (`kill_child_processes_on_worker_exit`), and that would be the guard. This process forks
    # the guard, says its pid and exits; the host, no subreaper meanwhile, leaves it to init.
    guard = os.fork()
    if guard:
        os.write(1, f"{guard}\n".encode())
        os._exit(0)
    os.close(1)
    watched: dict[int, tuple[str | None, str | None]] = {}
    with os.fdopen(int(argv[0]), "rb", buffering=0) as pipe:
        for line in iter(pipe.readline, b""):
            if line.strip() == RELEASE:
                return 0
            try:
                op, pgid, marker, cgroup = json.loads(line)
            except ValueError:
                continue
            if op == "+":
                watched[int(pgid)] = (marker, cgroup)
            else:
                watched.pop(int(pgid), None)
    for pgid, (marker, cgroup) in watched.items():  # the host is gone
        end_task(pgid, marker, cgroup)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
