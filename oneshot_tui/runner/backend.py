"""Where a task's processes run: the seam between the engine and a machine.

The engine (`orchestrator/attempt.py`) starts each process through a `ProcessBackend` and follows
it through the `ProcessHandle` it gets back. `LocalBackend` runs it on this machine
(`runner/process.py`); the ray backend (`runner/ray_backend.py`, imported only when chosen) runs
it on a node of a Ray cluster. Either way the output arrives as chunks in order, a stop is the
same ladder aimed at the whole process group, and the exit status comes back the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import field
from typing import Protocol

from oneshot_tui.core.exit_codes import UsageError
from oneshot_tui.core.record import record
from oneshot_tui.runner.process import ChildProcess, ChunkSink, ExitStatus, ProcessSpec
from oneshot_tui.runner.supervise import supervise


class BackendError(UsageError):
    """The backend cannot be used (not installed, cluster unreachable); nothing was started."""


class ProcessLost(Exception):
    """The machine or worker running the process went away, so how it ended is unknown."""


@record
class Placement:
    """What a process reserves on a cluster node; a backend on one machine ignores it."""

    num_cpus: float = 1.0
    resources: Mapping[str, float] = field(default_factory=dict)


class ProcessHandle(Protocol):
    """A started process, wherever it runs."""

    @property
    def pid(self) -> int: ...

    @property
    def node(self) -> str:
        """The cluster node it runs on, e.g. "10.0.0.7"; "" on this machine."""
        ...

    async def follow(self, sink: ChunkSink, *, grace: float) -> ExitStatus:
        """Pass every chunk to `sink` in order until the process exits and its output ends; what
        it left running is stopped. Raises ProcessLost if its machine or worker went away."""
        ...

    def alive(self) -> bool:
        """True while something it started may still run."""
        ...

    async def stop(self, grace: float) -> None:
        """The interrupt ladder over its whole group (SIGINT, SIGTERM, SIGKILL at `grace`)."""
        ...

    def kill(self) -> None:
        """SIGKILL to its whole group, now (without waiting for it to arrive)."""
        ...

    async def aclose(self) -> None:
        """Release what the handle holds; the process must have ended."""
        ...

    def resize(self, rows: int, cols: int) -> bool:
        """A new size for its terminal (a PTY task); False if it has none here."""
        ...

    async def write_input(self, data: bytes) -> bool:
        """Type `data` into its terminal (a PTY task); False if it has none here."""
        ...


class ProcessBackend(Protocol):
    @property
    def local(self) -> bool:
        """True if processes run on this machine (so a PATH check here means something)."""
        ...

    async def spawn(self, spec: ProcessSpec, placement: Placement) -> ProcessHandle:
        """Start `spec`; raises SpawnError if it cannot start, ProcessLost if its node died."""
        ...

    async def serve(self, expected: Sequence[tuple[Placement, int]]) -> None:
        """The backend's own work while a run runs (cancelled when it ends): a remote one gets
        ready ahead of need, `expected[i][1]` processes of placement `expected[i][0]` at once."""
        ...

    async def aclose(self) -> None:
        """Let go of the backend at the end of a run."""
        ...


class LocalProcess:
    """A process on this machine: a `ChildProcess` and the supervision of its group."""

    def __init__(self, child: ChildProcess) -> None:
        self.child = child

    @property
    def pid(self) -> int:
        return self.child.pid

    @property
    def pgid(self) -> int:
        return self.child.pgid

    @property
    def node(self) -> str:
        return ""

    async def follow(self, sink: ChunkSink, *, grace: float) -> ExitStatus:
        return await supervise(self.child, sink, grace=grace)

    def alive(self) -> bool:
        return self.child.alive()

    async def stop(self, grace: float) -> None:
        await self.child.stop(grace)

    def kill(self) -> None:
        self.child.kill()

    async def aclose(self) -> None:
        await self.child.aclose()

    def resize(self, rows: int, cols: int) -> bool:
        return self.child.resize(rows, cols)

    async def write_input(self, data: bytes) -> bool:
        return await self.child.write_input(data)


class LocalBackend:
    """Runs every process on this machine, in a session and process group of its own."""

    @property
    def local(self) -> bool:
        return True

    async def spawn(self, spec: ProcessSpec, placement: Placement) -> ProcessHandle:
        return LocalProcess(await ChildProcess.spawn(spec))

    async def serve(self, expected: Sequence[tuple[Placement, int]]) -> None:
        return None  # nothing to prepare: a process here starts in milliseconds

    async def aclose(self) -> None:
        return None
