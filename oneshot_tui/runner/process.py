"""One child process in its own session and process group: spawn, read, wait, stop.

The child gets stdin from /dev/null and either two pipes or a PTY for its output, or stdout to a
file (read back as it grows) for a program that exits before a full pipe drains. Stopping is a
ladder on timers, always aimed at the whole group: SIGINT, then SIGTERM halfway through `grace`,
then SIGKILL at `grace`, until no member of the group is left.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import signal
import struct
import subprocess
import termios
from collections.abc import Awaitable, Callable, Mapping, Sequence

import anyio
from anyio.abc import ByteReceiveStream, Process, TaskGroup

from oneshot_tui.core.record import record
from oneshot_tui.runner.child_watcher import use_pidfd_watcher
from oneshot_tui.runner.descendants import MARKER_VAR, escaped_members, reap_adopted
from oneshot_tui.runner.groups import group_alive, signal_group, signal_name

ChunkSink = Callable[[str, bytes], Awaitable[None]]
"""Receives `(stream, data)` for each chunk read: stream is "stdout", "stderr" or "pty"."""

READ_SIZE = 65536
FILE_POLL = (0.005, 0.05)
"""Seconds between looks at a stdout file with nothing new: from the first to the longest."""
REAP_TIMEOUT = 2.0
"""Seconds to wait for the exit status of a leader that is already gone (or killed)."""
GROUP_POLL = 0.02


class SpawnError(Exception):
    """The process could not be started; the message says why, for a person."""

    def __init__(self, message: str, node: str = "") -> None:
        super().__init__(message)
        self.node = node
        """The cluster node where it could not start (a remote backend); "" for this machine."""


class ProgramNotFound(SpawnError):
    """The program is not on PATH (or not at the path given)."""


@record
class ProcessSpec:
    """What to start. A string command runs through `/bin/sh -c`; a sequence is an argv."""

    command: str | Sequence[str]
    cwd: str | None = None
    env: Mapping[str, str] | None = None
    """The child's whole environment; None inherits ours."""
    env_own: Mapping[str, str] | None = None
    """What `env` sets on purpose over ours (the task's `env`, an agent's variables, secrets,
    PWD), whatever our values: what a remote backend sends, exactly, to apply over its node's
    environment. None: all of `env` is the child's own."""
    env_unset: tuple[str, ...] = ()
    """Variables of ours that `env` leaves out on purpose (git's repository variables in a
    worktree): a remote backend unsets them on its node too."""
    pty: bool = False
    pty_size: tuple[int, int] = (50, 200)
    """Rows and columns the child sees on its terminal."""
    marker: str | None = None
    """Set in the child's environment so its descendants can be found even outside its group."""
    stdout_file: bool = False
    """Give the child a file for stdout instead of a pipe, read back as it grows: a program
    that calls exit() while a write to a full pipe is pending loses the rest of its output
    (Node and Bun do), a write to a file always completes. stderr stays a pipe."""

    @property
    def argv(self) -> list[str]:
        if isinstance(self.command, str):
            return ["/bin/sh", "-c", self.command]
        return list(self.command)


@record
class ExitStatus:
    """How a process ended: an exit code, or the signal that killed it."""

    exit_code: int | None
    signal: int | None

    @classmethod
    def from_returncode(cls, rc: int) -> ExitStatus:
        return cls(None, -rc) if rc < 0 else cls(rc, None)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def describe(self) -> str:
        if self.signal is not None:
            return f"killed by {signal_name(self.signal)}"
        return f"exit {self.exit_code}"


def check_spawnable(spec: ProcessSpec) -> None:
    """Raise SpawnError with a clear reason for the common ways a start fails."""
    argv = spec.argv
    if not argv or not argv[0]:
        raise SpawnError("empty command")
    if spec.cwd is not None and not os.path.isdir(spec.cwd):
        raise SpawnError(f"working directory does not exist: {spec.cwd}")
    exe = argv[0]
    if os.sep in exe:
        path = exe if os.path.isabs(exe) or spec.cwd is None else os.path.join(spec.cwd, exe)
        if not os.path.exists(path):
            raise ProgramNotFound(f"command not found: {exe}")
        if os.path.isdir(path) or not os.access(path, os.X_OK):
            raise SpawnError(f"not executable: {exe}")
    else:
        search = (spec.env if spec.env is not None else os.environ).get("PATH", os.defpath)
        if not _on_path(exe, search):
            raise ProgramNotFound(f"command not found: {exe}")


def _on_path(exe: str, search: str) -> bool:
    # shutil.which would do, but importing shutil costs start-up time on every run.
    for folder in search.split(os.pathsep):
        candidate = os.path.join(folder or ".", exe)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return True
    return False


_environ_raw: dict[bytes, bytes] = {}
_environ: dict[str, str] = {}


def environment() -> dict[str, str]:
    """A copy of `os.environ` as a plain dict. Decoding every variable for every child costs a run
    of many short tasks as much as the rest of a spawn's Python, so the decoded copy is kept and
    reused while the process's environment stays the same."""
    global _environ_raw, _environ
    raw = getattr(os.environ, "_data", None)  # CPython's os.environ keeps its bytes here
    if not isinstance(raw, dict):
        return dict(os.environ)
    if raw != _environ_raw:
        _environ_raw = dict(raw)
        _environ = dict(os.environ)
    return dict(_environ)


LEADERS: set[int] = set()
"""Pids of the processes we spawned and have not waited for yet (asyncio reaps those)."""
_spawning = 0
"""Spawns in flight: their pid is not in LEADERS yet, so no reaping may happen meanwhile."""


def reap_orphans() -> int:
    """Reap zombies we adopted as subreaper, never a task leader (see descendants.py)."""
    if _spawning:
        return 0
    return reap_adopted(LEADERS)


class ChildProcess:
    """A started process and its group. Create with `await ChildProcess.spawn(spec)`."""

    def __init__(
        self,
        process: Process,
        master_fd: int | None,
        marker: str | None,
        stdout_fd: int | None = None,
    ) -> None:
        self._process = process
        self._master_fd = master_fd
        self._stdout_fd = stdout_fd
        """Our own descriptor of the child's stdout file (stdout_file), read with pread."""
        self.marker = marker
        self.pid = process.pid
        self.pgid = process.pid  # start_new_session makes it the leader of a new group
        self.pumped = anyio.Event()
        """Set when every output stream has reached its end."""
        self.chunks_read = 0
        self.in_sink = False
        """True while a chunk is being handed over (the sink may be waiting for room)."""
        self._gone = False
        self._pumping = 0
        """Streams still being read (see `start_pumping`)."""

    @classmethod
    async def spawn(cls, spec: ProcessSpec) -> ChildProcess:
        global _spawning
        _spawning += 1
        try:
            return await cls._spawn(spec)
        finally:
            _spawning -= 1

    @classmethod
    async def _spawn(cls, spec: ProcessSpec) -> ChildProcess:
        if not spec.argv or not spec.argv[0]:
            raise SpawnError("empty command")
        use_pidfd_watcher()  # once: no thread per child to learn that it exited (Python 3.11)
        env = dict(spec.env) if spec.env is not None else None
        if spec.marker is not None:
            env = environment() if env is None else env
            env[MARKER_VAR] = spec.marker
        master: int | None = None
        slave: int | None = None
        capture: int | None = None
        try:
            if spec.pty:
                master, slave = os.openpty()
                rows, cols = spec.pty_size
                fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
                os.set_blocking(master, False)
                out: int = slave
                err: int = slave
            elif spec.stdout_file:
                capture = _capture_file()
                out, err = capture, subprocess.PIPE
            else:
                out = err = subprocess.PIPE
            process = await anyio.open_process(
                spec.argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                cwd=spec.cwd,
                env=env,
                start_new_session=True,
            )
        except OSError as exc:
            _close_quietly(master)
            _close_quietly(capture)
            # Why, for a person: looked into only once the start failed (a search of PATH for
            # every start would cost a run of many short tasks more than the spawn's Python).
            try:
                check_spawnable(spec)
            except SpawnError as reason:
                raise reason from exc
            if isinstance(exc, FileNotFoundError):
                raise SpawnError(f"command not found: {spec.argv[0]}") from exc
            if isinstance(exc, PermissionError):
                raise SpawnError(f"permission denied: {spec.argv[0]}") from exc
            raise SpawnError(f"cannot start {spec.argv[0]}: {exc.strerror or exc}") from exc
        finally:
            # Our copy of the slave must go, or the master never sees EIO when the child exits.
            _close_quietly(slave)
        LEADERS.add(process.pid)
        return cls(process, master, spec.marker, capture)

    @property
    def returncode(self) -> int | None:
        return self._process.returncode

    async def pump(self, sink: ChunkSink) -> None:
        """Read every stream to its end, passing each chunk to `sink` in arrival order."""
        async with anyio.create_task_group() as tg:
            self.start_pumping(tg, sink)

    def start_pumping(self, tg: TaskGroup, sink: ChunkSink) -> None:
        """Start reading every stream to its end in `tg` (a task per stream, no task group of
        their own: a run of many short tasks pays for each); `pumped` is set when all ended."""
        if self._master_fd is not None:
            streams: list[tuple[ByteReceiveStream | None, str]] = [(None, "pty")]
        else:
            pipes = ((self._process.stdout, "stdout"), (self._process.stderr, "stderr"))
            streams = [(stream, name) for stream, name in pipes if stream is not None]
        self._pumping = len(streams)
        if not streams:
            self.pumped.set()
        for stream, name in streams:
            tg.start_soon(self._pump_stream, stream, name, sink)

    async def _pump_stream(
        self, stream: ByteReceiveStream | None, name: str, sink: ChunkSink
    ) -> None:
        try:
            if stream is None:
                assert self._master_fd is not None
                await self._pump_pty(self._master_fd, sink)
            elif self._stdout_fd is not None:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(self._pump_file, self._stdout_fd, sink)
                    if self._process.stderr is not None:
                        tg.start_soon(self._pump_pipe, self._process.stderr, "stderr", sink)
            else:
                await self._pump_pipe(stream, name, sink)
        finally:
            self._pumping -= 1
            if not self._pumping:
                self.pumped.set()

    async def _deliver(self, sink: ChunkSink, name: str, data: bytes) -> None:
        self.chunks_read += 1
        self.in_sink = True
        try:
            await sink(name, data)
        finally:
            self.in_sink = False

    async def _pump_pipe(self, stream: ByteReceiveStream, name: str, sink: ChunkSink) -> None:
        while True:
            try:
                data = await stream.receive(READ_SIZE)
            except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
                return
            await self._deliver(sink, name, data)

    async def _pump_file(self, fd: int, sink: ChunkSink) -> None:
        """Read the stdout file as it grows, to its end once nothing of the child is left."""
        offset = 0
        pause = FILE_POLL[0]
        while True:
            data = os.pread(fd, READ_SIZE, offset)
            if data:
                offset += len(data)
                pause = FILE_POLL[0]
                await self._deliver(sink, "stdout", data)
                continue
            if self._process.returncode is not None and not self.alive():
                # Nothing can write any more: what is in the file is everything.
                while data := os.pread(fd, READ_SIZE, offset):
                    offset += len(data)
                    await self._deliver(sink, "stdout", data)
                return
            await anyio.sleep(pause)
            pause = min(pause * 2, FILE_POLL[1])

    async def _pump_pty(self, fd: int, sink: ChunkSink) -> None:
        while True:
            try:
                await anyio.wait_readable(fd)
            except (anyio.ClosedResourceError, OSError):
                return
            try:
                data = os.read(fd, READ_SIZE)
            except BlockingIOError:
                continue
            except OSError as exc:
                if exc.errno == errno.EIO:  # every slave fd is closed: the PTY's end of file
                    return
                raise
            if not data:
                return
            await self._deliver(sink, "pty", data)

    async def wait(self) -> ExitStatus:
        try:
            return ExitStatus.from_returncode(await self._process.wait())
        finally:
            if self._process.returncode is not None:
                LEADERS.discard(self.pid)

    def escaped(self) -> list[int]:
        """Descendants that left the group (setsid) but carry this task's marker."""
        return escaped_members(self.marker, LEADERS) if self.marker else []

    def alive(self) -> bool:
        """True while anything this process started is alive: its group or an escapee. Once
        nothing is left, nothing can come back (only a live member can fork), so the answer is
        kept: looking for escapees reads /proc."""
        if self._gone:
            return False
        alive = group_alive(self.pgid) or bool(self.escaped())
        self._gone = not alive
        return alive

    def signal_all(self, sig: int) -> bool:
        """`sig` to the whole group and to every escapee; False if nothing was left."""
        hit = signal_group(self.pgid, sig)
        for pid in self.escaped():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
                hit = True
        return hit

    def kill(self) -> None:
        """SIGKILL to the whole group (and escapees), now."""
        self.signal_all(signal.SIGKILL)

    async def wait_gone(self, resignal: int | None = None) -> None:
        """Wait until nothing of the task is left. A descendant that escapes while we wait (it is
        re-parented to us when its parent dies) gets `resignal` at once, not a rung later."""
        signalled: set[int] = set()
        while True:
            escaped = self.escaped() if self.marker else []
            if not escaped and not group_alive(self.pgid):
                break
            if resignal is not None:
                for pid in set(escaped) - signalled:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(pid, resignal)
                    signalled.add(pid)
            await anyio.sleep(GROUP_POLL)
        reap_orphans()

    async def stop(
        self, grace: float, signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)
    ) -> None:
        """The interrupt ladder, until the whole group is gone: each of `signals` in turn, with an
        equal share of `grace` to take effect, then SIGKILL. Shield it from cancellation."""
        step = max(grace, 0.0) / max(len(signals), 1)
        for sig in signals:
            if not self.signal_all(sig):
                reap_orphans()
                return
            with anyio.move_on_after(step):
                await self.wait_gone(resignal=sig)
                return
        self.kill()
        with anyio.move_on_after(5):
            await self.wait_gone(resignal=signal.SIGKILL)

    async def stop_leftovers(self, grace: float) -> None:
        """Stop what remains of the group after its leader exited. Background jobs of a
        non-interactive shell ignore SIGINT, so this starts at SIGTERM."""
        await self.stop(grace / 2, signals=(signal.SIGTERM,))

    async def aclose(self) -> None:
        """Release the pipes or PTY, and reap the process. It must have exited (see `run`)."""
        if self._master_fd is not None:
            anyio.notify_closing(self._master_fd)
            _close_quietly(self._master_fd)
            self._master_fd = None
        _close_quietly(self._stdout_fd)
        self._stdout_fd = None
        for stream in (self._process.stdout, self._process.stderr):
            if stream is not None:
                await stream.aclose()
        if self._process.returncode is None:
            # A cancelled attempt gets here without having waited for its leader (the ladder
            # only waits for the group to be gone). Reap it now: otherwise asyncio's transport
            # outlives the loop and warns "subprocess is still running" when collected.
            with anyio.move_on_after(REAP_TIMEOUT):
                await self._process.wait()


def _capture_file() -> int:
    """An unnamed file for a child's stdout (opened for appending, so its writes always land at
    the end while we read behind them with pread); it is gone once both sides close it."""
    import tempfile

    fd, path = tempfile.mkstemp(prefix="oneshot-stdout-")
    try:
        os.unlink(path)
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, flags | os.O_APPEND)
    except OSError:
        os.close(fd)
        raise
    return fd


def _close_quietly(fd: int | None) -> None:
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)
