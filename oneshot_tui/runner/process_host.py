"""One process run on behalf of a caller elsewhere, with its output kept for the caller to fetch.

A remote backend (`runner/ray_backend.py`) puts one host next to each process it runs on a
cluster node. The host starts the process with the same engine as a local run (a session and
process group of its own, escapees found by the task's marker, leftovers stopped when the leader
exits) and keeps its output in arrival order in a bounded buffer: when the caller falls behind,
the process waits on a full buffer as it would on a full pipe. `read` hands over what arrived, or
waits until something does. Nothing here knows about Ray, so it is tested on its own.

Whatever becomes of the host, nothing of its process outlives it: beside each process runs a guard
(`guard.py`) that ends the process's group and escapees when the host dies without releasing it.
And the process's exit status is kept on the node (`status_file`) from the moment the process
exits until the caller has it: a caller that loses the host after the process ended can still
learn how it ended (`take_status`), so a task that exited is never taken for a lost one.

The host runs on an asyncio loop (Ray's async actors); its follower outlives the call that
started it, so it is an asyncio task rather than an anyio task group.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import hashlib
import logging
import os
from collections import deque
from collections.abc import Mapping
from typing import TypedDict

import anyio

from oneshot_tui.runner.descendants import become_subreaper
from oneshot_tui.runner.guard import Guard, end_task
from oneshot_tui.runner.process import (
    ChildProcess,
    ExitStatus,
    ProcessSpec,
    ProgramNotFound,
    SpawnError,
)
from oneshot_tui.runner.supervise import supervise

log = logging.getLogger(__name__)

BUFFER_LIMIT = 4 * 1024 * 1024
"""Bytes of output held for the caller before the process has to wait."""
READ_LIMIT = 96 * 1024
"""Bytes handed over by one `read` (it always hands over at least one chunk, of at most
`process.READ_SIZE`): below what a remote backend sends inline with its reply (Ray: 100 KiB,
`max_direct_call_object_size`). A larger reply goes through Ray's object store, whose pages the
caller maps, and they count in its memory: with reads of 1 MiB, a 50 MB task raised the Ray
driver's peak RSS by 40-70 MB; now by about 8 MB. A read costs a round trip (about 2 ms here), so
a caller keeps two in flight (`turn`): one travels while the other is served."""
LINGER = 0.005
"""Seconds a `read` that has output waits for the process's end before it answers: a short
process's output and status then travel in one call, and a flood in fewer, larger ones."""

Chunk = tuple[str, bytes]
NO_VARS: Mapping[str, str] = {}
Status = tuple[int | None, int | None]
"""(exit code, signal) of an ended process, as ExitStatus has them."""


class WireSpec(TypedDict):
    """A ProcessSpec as plain data, with the environment as what it sets and unsets over the
    host's own."""

    argv: list[str]
    cwd: str | None
    env_set: dict[str, str]
    env_unset: list[str]
    pty: bool
    pty_size: tuple[int, int]
    marker: str | None
    stdout_file: bool
    merge_stderr: bool


class Started(TypedDict, total=False):
    pid: int
    serial: int
    """Which of the host's processes this is (its reads name it)."""
    error: str
    """Why the process could not start, for a person."""
    not_found: bool


def to_wire(spec: ProcessSpec, forward: Mapping[str, str] = NO_VARS) -> WireSpec:
    """The spec for a host on another machine. Its environment is what the task set on purpose
    (`env_own`, or all of `env`), sent exactly, even where the caller has the same value (the
    node's may differ), over the variables of the caller's the run forwards (`forward`); the
    rest of the caller's environment (PATH, HOME and the like) stays here: the process gets the
    host's own."""
    own = spec.env_own if spec.env_own is not None else (spec.env or NO_VARS)
    return WireSpec(
        argv=spec.argv,
        cwd=spec.cwd,
        env_set={**forward, **own},
        env_unset=list(spec.env_unset),
        pty=spec.pty,
        pty_size=spec.pty_size,
        marker=spec.marker,
        stdout_file=spec.stdout_file,
        merge_stderr=spec.merge_stderr,
    )


def from_wire(wire: WireSpec, base: Mapping[str, str]) -> ProcessSpec:
    """The spec as the host runs it: its own environment (`base`) with the wire's changes, and
    PWD the process's real working directory (the host's own is wherever its worker started)."""
    unset = set(wire["env_unset"])
    env = {k: v for k, v in base.items() if k not in unset}
    env.update(wire["env_set"])
    if wire["cwd"] is not None and "PWD" not in wire["env_set"]:
        env["PWD"] = wire["cwd"]
    return ProcessSpec(
        command=tuple(wire["argv"]),
        cwd=wire["cwd"],
        env=env,
        pty=wire["pty"],
        pty_size=tuple(wire["pty_size"]),  # type: ignore[arg-type]  # a list after the wire
        marker=wire["marker"],
        stdout_file=bool(wire.get("stdout_file", False)),
        merge_stderr=bool(wire.get("merge_stderr", False)),
    )


def sweep(marker: str, attempts: int = 50) -> int:
    """SIGKILL every process on this machine that carries `marker`; how many were found.

    For a process whose host died (its worker was killed): its group and escapees have no
    supervisor left, and only the marker in their environment still ties them to the task.
    """
    return end_task(None, marker, None, attempts)  # the guard's way, by the marker alone


def status_file(directory: str, marker: str) -> str:
    """Where a host keeps the exit status of the process carrying `marker` (a task attempt's)."""
    digest = hashlib.sha256(marker.encode()).hexdigest()[:32]
    return os.path.join(directory, "oneshot-tui-exits", digest)


def save_status(path: str, status: Status) -> None:
    code, sig = status
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    temporary = f"{path}.{os.getpid()}"
    with open(temporary, "w") as f:
        f.write(f"{'-' if code is None else code} {'-' if sig is None else sig}\n")
    os.replace(temporary, path)  # whole or not at all


def take_status(path: str) -> Status | None:
    """The status kept at `path`, removed; None if there is none (the process had not exited)."""
    try:
        with open(path) as f:
            text = f.read()
        os.unlink(path)
    except OSError:
        return None
    try:
        code, sig = (None if part == "-" else int(part) for part in text.split())
    except ValueError:
        return None
    return code, sig


class ProcessHost:
    """Runs one process here; the caller drives it with `start`, `follow`, `read`, `stop`."""

    def __init__(self, buffer_limit: int = BUFFER_LIMIT, *, guarded: bool = True) -> None:
        # Orphans of the task (double-forked daemons) re-parent to the host, where its marker
        # finds them, as they do to the orchestrator in a local run.
        become_subreaper()
        self._limit = buffer_limit
        self._guarded = guarded
        self._guard: Guard | None = None
        """Started once, serving every process of the host in turn (see guard.py)."""
        self._kept: str | None = None
        """The status file of a process closed by its last `read`, until the next call."""
        self._serial = 0
        """The number of the host's current (or last) process: 1 for its first."""
        self._turn = anyio.Event()
        self._reset()

    def _reset(self) -> None:
        self._child: ChildProcess | None = None
        self._chunks: deque[Chunk] = deque()
        self._buffered = 0
        self._arrived = anyio.Event()
        self._room = anyio.Event()
        self._status: Status | None = None
        self._error: str | None = None
        self._follower: asyncio.Task[None] | None = None
        self._closed = False
        self._watched: int | None = None
        """The group the guard watches for us."""
        self._status_file: str | None = None
        self._turn_at = 0
        """The turn of the read served next (reads in flight are served in their order)."""
        self._next_turn(0)

    def _next_turn(self, turn: int) -> None:
        self._turn_at = turn
        waiting, self._turn = self._turn, anyio.Event()
        waiting.set()  # the reads waiting for their turn look again

    def base_environment(self) -> Mapping[str, str]:
        """The environment a process starts from here, before the task's changes."""
        return os.environ

    def status_directory(self) -> str | None:
        """Where exit statuses are kept on this machine until the caller has them (see
        `status_file`); None keeps them nowhere but in the host."""
        return None

    @property
    def guard_pid(self) -> int | None:
        return self._guard.pid if self._guard is not None else None

    async def ready(self) -> dict[str, str]:
        """Answers once the host is up (placed on a node and booted): where it is, if a remote
        backend knows (see ray_hosts.py)."""
        return {}

    async def start(self, wire: WireSpec) -> Started:
        """Start the process; an error a person can act on comes back as data, not raised."""
        if self._child is not None:
            raise RuntimeError("this host already runs a process: close it first")
        self._forget_kept()
        spec = from_wire(wire, self.base_environment())
        try:
            self._child = await ChildProcess.spawn(spec)
        except SpawnError as exc:
            return Started(error=str(exc), not_found=isinstance(exc, ProgramNotFound))
        self._serial += 1
        self._watch(self._child)
        directory = self.status_directory()
        if directory is not None and spec.marker is not None:
            self._status_file = status_file(directory, spec.marker)
            with contextlib.suppress(OSError):
                os.unlink(self._status_file)  # a stale one (a pid's reuse) is not this status
        # If the host's process ends in an orderly way (its owner went away), take the task
        # down with it: nothing a task started may outlive whoever supervises it.
        atexit.register(self._last_rites)
        return Started(pid=self._child.pid, serial=self._serial)

    def _watch(self, child: ChildProcess) -> None:
        if not self._guarded:
            return
        cgroup = child.cgroup.path if child.cgroup is not None else None
        for _ in range(2):  # a guard that died is replaced once
            try:
                if self._guard is None or not self._guard.usable:
                    self._guard = Guard.start()
                self._guard.watch(child.pgid, child.marker, cgroup)
                self._watched = child.pgid
                return
            except OSError as exc:
                error = exc
        # The process runs unguarded: the caller's sweep is what is left.
        log.warning("cannot guard process %d: %s", child.pid, error)

    async def follow(self, grace: float) -> None:
        """Begin following the process to its end (the output goes to the buffer)."""
        if self._child is not None and self._follower is None:
            loop = asyncio.get_running_loop()
            self._follower = loop.create_task(self._follow(self._child, grace))

    async def _follow(self, child: ChildProcess, grace: float) -> None:
        try:
            status = await supervise(child, self._keep, grace=grace, on_exit=self._keep_status)
            self._status = (status.exit_code, status.signal)
        except Exception as exc:  # reported to the caller: the host itself must stay up
            self._error = f"{type(exc).__name__}: {exc}"
        finally:
            self._arrived.set()

    def _keep_status(self, status: ExitStatus) -> None:
        if self._status_file is not None:
            try:
                save_status(self._status_file, (status.exit_code, status.signal))
            except OSError as exc:
                log.warning("cannot keep the exit status in %s: %s", self._status_file, exc)

    async def _keep(self, stream: str, data: bytes) -> None:
        self._chunks.append((stream, data))
        self._buffered += len(data)
        self._arrived.set()
        while self._buffered > self._limit and not self._closed:
            # One event for every stream's pump: a second one waiting must not replace the
            # event the first waits on (it would never be set).
            if self._room.is_set():
                self._room = anyio.Event()
            await self._room.wait()

    @property
    def _ended(self) -> bool:
        return self._status is not None or self._error is not None

    async def read(
        self,
        max_bytes: int = READ_LIMIT,
        *,
        follow: float | None = None,
        close: bool = False,
        serial: int | None = None,
        turn: int | None = None,
    ) -> tuple[list[Chunk], Status | None]:
        """Output that arrived since the last read, in order (consecutive chunks of one stream
        joined), waiting for some if there is none; the status once everything is read.

        One call does what a caller far away would otherwise ask in three: with `follow` (a
        grace), it begins following first; with `close`, the read that hands over the status
        also closes the process (as `close` does, but the status stays kept on the node until
        the next process or `close`: the answer may yet be lost on its way).

        A caller may keep reads in flight: each names its process (`serial`, from `start`) and
        its `turn` (0, 1, 2, ... for that process), and is served after the one before it. A
        read for a process that is closed (the status went with an earlier one) or not the
        host's current one answers at once with nothing: it never takes another's output."""
        if turn is not None:
            try:
                while turn > self._turn_at:
                    if self._child is None or serial != self._serial:
                        return [], None
                    await self._turn.wait()
                if self._child is None or serial != self._serial:
                    return [], None
                return await self._read(max_bytes, follow, close)
            finally:
                if self._child is not None and serial == self._serial:
                    self._next_turn(turn + 1)
        return await self._read(max_bytes, follow, close)

    async def _read(
        self, max_bytes: int, follow: float | None, close: bool
    ) -> tuple[list[Chunk], Status | None]:
        if follow is not None:
            await self.follow(follow)
        child = self._child
        while not self._chunks and not self._ended:
            self._arrived = anyio.Event()
            await self._arrived.wait()
            if self._closed or self._child is not child:  # closed meanwhile (`close` wakes it)
                return [], None
        with anyio.move_on_after(LINGER):
            while not self._ended and self._buffered < max_bytes:
                self._arrived = anyio.Event()
                await self._arrived.wait()
                if self._closed or self._child is not child:
                    return [], None
        out: list[Chunk] = []
        taken = 0
        while self._chunks and (not out or taken + len(self._chunks[0][1]) <= max_bytes):
            stream, data = self._chunks.popleft()
            taken += len(data)
            if out and out[-1][0] == stream:
                out[-1] = (stream, out[-1][1] + data)
            else:
                out.append((stream, data))
        self._buffered -= taken
        self._room.set()
        if self._error is not None and not out:  # the output before the failure went first
            raise RuntimeError(f"following the process failed: {self._error}")
        status = self._status if not self._chunks else None
        if status is not None and close:
            await self._close(keep_status=True)
        return out, status

    async def alive(self) -> bool:
        return self._child is not None and self._child.alive()

    async def stop(self, grace: float) -> None:
        """The interrupt ladder over the process's group and escapees, here."""
        if self._child is not None:
            await self._child.stop(grace)

    async def kill(self) -> None:
        if self._child is not None:
            self._child.kill()

    async def close(self) -> None:
        """Make sure nothing of the process is left and release its pipes; the host is then
        ready for another process."""
        await self._close(keep_status=False)

    async def _close(self, *, keep_status: bool) -> None:
        self._forget_kept()
        self._closed = True
        self._room.set()
        self._arrived.set()  # a read waiting for output answers now, with nothing
        child = self._child
        if child is not None:
            if child.alive():
                await child.stop(0)
            if self._follower is not None:
                self._follower.cancel()
                await asyncio.wait([self._follower])  # (awaiting it would raise its cancellation)
            await child.aclose()
            atexit.unregister(self._last_rites)
        if self._guard is not None and self._watched is not None:
            with contextlib.suppress(OSError):
                self._guard.unwatch(self._watched)
        kept = self._status_file if keep_status else None
        if self._status_file is not None and not keep_status:
            with contextlib.suppress(OSError):
                os.unlink(self._status_file)
        self._reset()
        self._kept = kept

    def _forget_kept(self) -> None:
        """The caller has the last process's status (it called again): the node needs it no
        more."""
        if self._kept is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._kept)
            self._kept = None

    def _last_rites(self) -> None:
        # At the interpreter's exit, with no event loop left: nothing that needs one (the
        # child's own `kill` looks for output holders with anyio's clock).
        child = self._child
        if child is not None:  # the guard's way: cgroup, group and marked processes
            end_task(child.pgid, child.marker, child.cgroup.path if child.cgroup else None)
