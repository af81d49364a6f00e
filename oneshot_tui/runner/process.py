"""One child process in its own session and process group: spawn, read, wait, stop.

The child gets stdin from /dev/null and either pipes (one for stdout and stderr by default, in
the order it wrote them, or two) or a PTY for its output, or stdout to a file (read back as it
grows) for a program that exits before a full pipe drains. A PTY is its stdin too: what is typed
into it (`write_input`) reaches the task, and its size can change while it runs (`resize`, with
SIGWINCH to its group). We read our ends with `os.read` and nothing else: no buffer of ours holds
what left the kernel's pipe before the sink has it (it writes the log first), so a kill -9 of ours
loses only what is still in the pipe. Stopping is a ladder on timers, aimed at everything of the
task: its cgroup where it has one (cgroups.py), its group, and the escapees (descendants.py):
SIGINT, then SIGTERM halfway through `grace`, then SIGKILL at `grace`, until nothing is left.
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
from anyio.abc import Process, TaskGroup

from oneshot_tui.core.procfs import MARKER_VAR, read_stat
from oneshot_tui.core.record import record
from oneshot_tui.runner.cgroups import TaskCgroup
from oneshot_tui.runner.child_watcher import cpu_seconds as child_cpu_seconds
from oneshot_tui.runner.child_watcher import use_pidfd_watcher
from oneshot_tui.runner.descendants import escaped_members, holders, reap_adopted
from oneshot_tui.runner.groups import group_alive, signal_group, signal_name

ChunkSink = Callable[[str, bytes], Awaitable[None]]
"""Receives `(stream, data)` for each chunk read: stream is "stdout", "stderr" or "pty"."""

READ_SIZE = 65536
FILE_POLL = (0.005, 0.05)
"""Seconds between looks at a stdout file with nothing new: from the first to the longest."""
KILL_WAIT = 1.0
"""Seconds to wait for SIGKILL to take effect (so a stop ends within grace + 1 s; what is
left then is in uninterruptible sleep, and no signal can hurry it)."""
REAP_TIMEOUT = 2.0
"""Seconds to wait for the exit status of a leader that is already gone (or killed)."""
GROUP_POLL = 0.02
HOLDER_POLL = 0.2
"""Seconds between scans of /proc for the holders of a task's output (a scan reads every
process's descriptors: a few ms on a busy machine)."""


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
    merge_stderr: bool = False
    """stderr into the stdout pipe: one stream, in the order the child wrote it."""
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
    cpu_seconds: float | None = None
    """User + system CPU time of the process and what it waited for (None: not known)."""

    @classmethod
    def from_returncode(cls, rc: int, cpu_seconds: float | None = None) -> ExitStatus:
        return cls(None, -rc, cpu_seconds) if rc < 0 else cls(rc, None, cpu_seconds)

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
        reads: dict[str, int],
        marker: str | None,
        stdout_fd: int | None = None,
        *,
        targets: frozenset[str] = frozenset(),
        cgroup: TaskCgroup | None = None,
    ) -> None:
        self._process = process
        self._reads = reads
        """Our read end of each output stream by name ("stdout", "stderr" or "pty")."""
        self._stdout_fd = stdout_fd
        """Our own descriptor of the child's stdout file (stdout_file), read with pread."""
        self._targets = targets
        """What a holder's descriptor points at when it holds this task's output."""
        self.cgroup = cgroup
        self.marker = marker
        self._holders: list[int] = []
        self._holders_at: float | None = None
        self.pid = process.pid
        self.pgid = process.pid  # start_new_session makes it the leader of a new group
        self.pumped = anyio.Event()
        """Set when every output stream has reached its end."""
        self.chunks_read = 0
        self.in_sink = 0
        """How many streams' chunks are being handed over (the sink may be waiting for room);
        a count, since each stream has a pump of its own."""
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
        argv = spec.argv
        cgroup = TaskCgroup.create()
        if cgroup is not None:
            # The shell that enters the cgroup would report a missing program as exit 127:
            # look first, so it is the same SpawnError as without a cgroup.
            try:
                check_spawnable(spec)
            except SpawnError:
                cgroup.remove()
                raise
            argv = cgroup.enter_argv(argv)
        reads: dict[str, int] = {}
        theirs: list[int] = []
        """The child's ends of its output, closed here once it has them."""
        targets: set[str] = set()
        capture: int | None = None
        try:
            if spec.pty:
                master, slave = os.openpty()
                reads["pty"] = master
                theirs.append(slave)
                rows, cols = spec.pty_size
                fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
                targets.add(os.ttyname(slave))
                out: int = slave
                err: int = slave
                stdin: int = slave
            else:
                stdin = subprocess.DEVNULL
                if spec.stdout_file:
                    capture, capture_path = _capture_file()
                    targets.add(f"{capture_path} (deleted)")
                    out = capture
                else:
                    out = _pipe(reads, theirs, targets, "stdout")
                if spec.merge_stderr and not spec.stdout_file:
                    err = out  # one pipe for both: the order the child wrote them
                else:
                    err = _pipe(reads, theirs, targets, "stderr")
            for fd in reads.values():
                os.set_blocking(fd, False)
            process = await anyio.open_process(
                argv,
                stdin=stdin,
                stdout=out,
                stderr=err,
                cwd=spec.cwd,
                env=env,
                start_new_session=True,
            )
        except OSError as exc:
            for fd in reads.values():
                _close_quietly(fd)
            _close_quietly(capture)
            if cgroup is not None:
                cgroup.remove()
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
            # Our copies of the child's ends must go, or ours never see their end (EOF, or EIO
            # for a PTY's master) when the child exits.
            for fd in theirs:
                _close_quietly(fd)
        LEADERS.add(process.pid)
        return cls(process, reads, spec.marker, capture, targets=frozenset(targets), cgroup=cgroup)

    @property
    def returncode(self) -> int | None:
        return self._process.returncode

    @property
    def _master_fd(self) -> int | None:
        """A PTY's master: where the task's output is read and its input typed."""
        return self._reads.get("pty")

    @property
    def has_terminal(self) -> bool:
        return self._master_fd is not None

    def resize(self, rows: int, cols: int) -> bool:
        """Give the PTY a new size and tell the task (SIGWINCH to its group: it has no
        controlling terminal for the kernel to do it); False without a PTY."""
        fd = self._master_fd
        if fd is None:
            return False
        try:
            fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        except OSError:
            return False
        signal_group(self.pgid, signal.SIGWINCH)
        return True

    async def write_input(self, data: bytes) -> bool:
        """Type `data` into the PTY, waiting while its buffer is full; False without one."""
        view = memoryview(data)
        while view:
            fd = self._master_fd
            if fd is None:
                return False
            try:
                view = view[os.write(fd, view) :]
            except BlockingIOError:
                await anyio.wait_writable(fd)
            except OSError:
                return False
        return True

    async def pump(self, sink: ChunkSink) -> None:
        """Read every stream to its end, passing each chunk to `sink` in arrival order."""
        async with anyio.create_task_group() as tg:
            self.start_pumping(tg, sink)

    def start_pumping(self, tg: TaskGroup, sink: ChunkSink) -> None:
        """Start reading every stream to its end in `tg` (a task per stream, no task group of
        their own: a run of many short tasks pays for each); `pumped` is set when all ended."""
        streams = list(self._reads.items())
        if self._stdout_fd is not None:
            streams.append(("stdout", self._stdout_fd))
        self._pumping = len(streams)
        if not streams:
            self.pumped.set()
        for name, fd in streams:
            tg.start_soon(self._pump_stream, name, fd, sink)

    async def _pump_stream(self, name: str, fd: int, sink: ChunkSink) -> None:
        try:
            if fd == self._stdout_fd:
                await self._pump_file(fd, sink)
            else:
                await self._pump_fd(fd, name, sink)
        finally:
            self._pumping -= 1
            if not self._pumping:
                self.pumped.set()

    async def _deliver(self, sink: ChunkSink, name: str, data: bytes) -> None:
        self.chunks_read += 1
        self.in_sink += 1
        try:
            await sink(name, data)
        finally:
            self.in_sink -= 1

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

    async def _pump_fd(self, fd: int, name: str, sink: ChunkSink) -> None:
        """Read a pipe or PTY master to its end, handing on what each wake-up finds."""
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
            ended = False
            if len(data) < READ_SIZE:
                data, ended = _drain(fd, data)
            await self._deliver(sink, name, data)
            if ended:
                return

    async def wait(self) -> ExitStatus:
        try:
            rc = await self._process.wait()
            return ExitStatus.from_returncode(rc, child_cpu_seconds(self.pid))
        finally:
            if self._process.returncode is not None:
                LEADERS.discard(self.pid)

    def escaped(self) -> list[int]:
        """Members of the task outside its group: everything in its cgroup, descendants that
        carry its marker, and (once its leader has exited, while its output is still open)
        whoever holds its output."""
        found = set(self.cgroup.procs()) if self.cgroup is not None else set()
        # Not the group's own members: the group's signal reaches them, and a second SIGINT
        # while a child exits on the first (its handlers reset) would kill it by the signal.
        found = {
            pid
            for pid in found
            if (stat := read_stat(pid)) is not None and stat.alive and stat.pgid != self.pgid
        }
        if self.marker:
            found.update(escaped_members(self.marker, LEADERS))
        found.update(self.output_holders())
        found.discard(os.getpid())
        return sorted(found)

    def output_holders(self) -> list[int]:
        """Processes with a descriptor on this task's output, once its leader has exited;
        rescanned at most every HOLDER_POLL seconds."""
        if self._process.returncode is None or self.pumped.is_set() or not self._targets:
            return []
        now = anyio.current_time()
        if self._holders_at is None or now - self._holders_at >= HOLDER_POLL:
            self._holders = holders(self._targets)
            self._holders_at = now
        return self._holders

    def alive(self) -> bool:
        """True while anything this process started is alive: its cgroup, its group or an
        escapee. Once nothing is left, nothing can come back (only a live member can fork), so
        the answer is kept: looking for escapees reads /proc."""
        if self._gone:
            return False
        alive = (
            (self.cgroup is not None and self.cgroup.populated())
            or group_alive(self.pgid)
            or bool(self.escaped())
        )
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
        """SIGKILL to the whole cgroup, group and escapees, now."""
        if self.cgroup is not None:
            self.cgroup.kill()
        self.signal_all(signal.SIGKILL)

    async def wait_gone(self, resignal: int | None = None) -> None:
        """Wait until nothing of the task is left. A descendant that escapes while we wait (it is
        re-parented to us when its parent dies) gets `resignal` at once, not a rung later."""
        signalled: set[int] = set()
        while True:
            escaped = self.escaped()
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
        with anyio.move_on_after(KILL_WAIT):
            await self.wait_gone(resignal=signal.SIGKILL)

    async def stop_leftovers(self, grace: float) -> None:
        """Stop what remains of the group after its leader exited. Background jobs of a
        non-interactive shell ignore SIGINT, so this starts at SIGTERM."""
        await self.stop(grace / 2, signals=(signal.SIGTERM,))

    async def aclose(self) -> None:
        """Release the pipes or PTY, and reap the process. It must have exited (see `run`)."""
        for fd in self._reads.values():
            anyio.notify_closing(fd)
            _close_quietly(fd)
        self._reads = {}
        _close_quietly(self._stdout_fd)
        self._stdout_fd = None
        if self.cgroup is not None and self.cgroup.remove():
            self.cgroup = None
        if self._process.returncode is None:
            # A cancelled attempt gets here without having waited for its leader (the ladder
            # only waits for the group to be gone). Reap it now: otherwise asyncio's transport
            # outlives the loop and warns "subprocess is still running" when collected.
            with anyio.move_on_after(REAP_TIMEOUT):
                await self._process.wait()


def _pipe(reads: dict[str, int], theirs: list[int], targets: set[str], name: str) -> int:
    """A pipe for the child's `name` stream: our end in `reads`, theirs returned (and kept in
    `theirs`, to close once the child has it), its identity in `targets`."""
    read, write = os.pipe()
    reads[name] = read
    theirs.append(write)
    targets.add(f"pipe:[{os.fstat(read).st_ino}]")
    return write


def _capture_file() -> tuple[int, str]:
    """An unnamed file for a child's stdout (opened for appending, so its writes always land at
    the end while we read behind them with pread); it is gone once both sides close it. Also
    the path it had (what /proc shows of a descriptor on it, with " (deleted)")."""
    import tempfile

    fd, path = tempfile.mkstemp(prefix="oneshot-stdout-")
    try:
        os.unlink(path)
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, flags | os.O_APPEND)
    except OSError:
        os.close(fd)
        raise
    return fd, path


def _close_quietly(fd: int | None) -> None:
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)


def _drain(fd: int, data: bytes) -> tuple[bytes, bool]:
    """`data` and whatever else is there to read now, up to READ_SIZE, without waiting; and
    whether the end was reached. A task writing line by line (a terminal's stdout is line
    buffered) hands over a line per read: this makes one chunk of them, so the log, the
    display and the bus do their work once per wake-up rather than once per line."""
    parts = [data]
    size = len(data)
    while size < READ_SIZE:
        try:
            more = os.read(fd, READ_SIZE - size)
        except BlockingIOError:
            break
        except OSError as exc:
            if exc.errno == errno.EIO:
                return b"".join(parts), True
            raise
        if not more:
            return b"".join(parts), True
        parts.append(more)
        size += len(more)
    return (data if len(parts) == 1 else b"".join(parts)), False
