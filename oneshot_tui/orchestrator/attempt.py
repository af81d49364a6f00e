"""One attempt of a task: its log file, the processes it runs, and where their output goes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import anyio

from oneshot_tui.core.bus import EventBus
from oneshot_tui.core.clock import Clock
from oneshot_tui.core.events import LiveLines, Output, ProcessStarted
from oneshot_tui.core.procfs import attempt_marker
from oneshot_tui.core.redact import Redactor, StreamRedactor
from oneshot_tui.core.states import TaskState
from oneshot_tui.orchestrator.task import StopRequest, Task
from oneshot_tui.runner.backend import (
    LocalBackend,
    Placement,
    ProcessBackend,
    ProcessHandle,
    ProcessLost,
)
from oneshot_tui.runner.output import LineSplitter, OutputLog, PromptTail, StreamMux
from oneshot_tui.runner.process import ExitStatus, ProcessSpec, SpawnError

if TYPE_CHECKING:
    from oneshot_tui.core.worktree import WorktreeInfo
    from oneshot_tui.orchestrator.agent_pool import AgentPool
    from oneshot_tui.runner.terminal import TerminalEmulator

ChunkObserver = Callable[[str, bytes], None]


class Attempt:
    """Runs processes for one attempt of `task`, writing every byte to the attempt's log first.

    A task body (a command, an agent, a worker/auditor loop) calls `run_process` once or several
    times; a stop request reaches whichever process is running, through the interrupt ladder.
    """

    def __init__(
        self,
        task: Task,
        bus: EventBus,
        clock: Clock,
        log: OutputLog,
        run_id: str = "",
        redactor: Redactor | None = None,
        data_dir: Path | None = None,
        worktree: WorktreeInfo | None = None,
        backend: ProcessBackend | None = None,
        agents: Callable[[], AgentPool] | None = None,
        peers: Mapping[str, Task] | None = None,
    ) -> None:
        self.task = task
        self.peers: Mapping[str, Task] = peers if peers is not None else {}
        """The run's other tasks, read-only (a best-of-N judge looks at its replicas)."""
        self.run_id = run_id
        self.bus = bus
        self.clock = clock
        self.log = log
        self.redactor = redactor or Redactor()
        self.log_error: OSError | None = None
        """Set when a write to the log failed; the attempt is then being stopped."""
        self.data_dir = data_dir
        """The data dir of the run; a loop saves its session under it."""
        self.worktree = worktree
        """The task's git worktree, if it runs in one."""
        self.cwd = worktree.cwd if worktree is not None else task.spec.cwd
        """Where the attempt's processes run: the task's cwd, or its place in the worktree."""
        self.backend: ProcessBackend = backend or LocalBackend()
        self.marker = attempt_marker(run_id, task.id, task.attempt)
        """Put in every process's environment, to find descendants that leave the group."""
        self._agents = agents
        self._on_process_stop: Callable[[], None] | None = None
        """Stops the running process (set while one runs), for `stop_process`."""
        self.process_stop_reason: str | None = None
        """Why the last process was stopped while the attempt goes on (`stop_process`)."""

    @property
    def agents(self) -> AgentPool:
        """What the run's agents share (limits per agent, prices, first runs): made on first use,
        so a run of plain commands never loads the agents."""
        if self._agents is None:
            from oneshot_tui.orchestrator.agent_pool import AgentPool

            pool = AgentPool()
            self._agents = lambda: pool
        return self._agents()

    def time_left(self) -> float | None:
        """Seconds before the attempt's wall-time limit, None without one."""
        timeout = self.task.spec.policy.timeout
        started = self.task.started_at
        if timeout is None or started is None:
            return None
        return max(timeout - (self.clock.monotonic() - started), 0.0)

    def stop_process(self, reason: str) -> bool:
        """Stop the running process with the ladder while the attempt goes on (a stalled step to
        be retried, a CLI that retries too long): its body sees `process_stop_reason`."""
        stop, self._on_process_stop = self._on_process_stop, None
        if stop is None:
            return False
        self.process_stop_reason = reason
        stop()
        return True

    @property
    def stopping(self) -> bool:
        return self.task.stop is not None

    async def pause(self, seconds: float) -> bool:
        """Wait `seconds`, or less if the attempt is stopped first (then False).

        A deliberate wait (a backoff before a retry) is not silence: the task does not turn idle.
        """
        deadline = self.clock.monotonic() + seconds
        while not self.stopping:
            remaining = deadline - self.clock.monotonic()
            if remaining <= 0:
                return True
            self.task.last_output_at = self.clock.monotonic()
            event = self.task.stop_event
            with anyio.move_on_after(min(remaining, 1.0)):
                if event is None:
                    await anyio.sleep(remaining)
                else:
                    await event.wait()
        return False

    def stop(self, reason: str) -> None:
        """Stop this attempt from inside (a budget crossed): it ends interrupted, with `reason`."""
        self.task.request_stop(StopRequest(reason))

    async def run_process(
        self,
        spec: ProcessSpec,
        *,
        label: str = "",
        show_lines: bool = True,
        observe: ChunkObserver | None = None,
    ) -> ExitStatus:
        """Start `spec` and follow it to its end; raises SpawnError if it cannot start.

        `show_lines=False` keeps the raw stream out of the display (an agent shows parsed
        activity instead); `observe` sees every raw chunk after it is logged.
        """
        task = self.task
        if spec.marker is None:
            spec = replace(spec, marker=self.marker)
        child = await self._spawn(spec)
        task.child = child
        self.process_stop_reason = None
        if task.state is TaskState.CREATED:
            where = f" on node {child.node}" if child.node else ""
            task.lifecycle.start(reason=f"pid {child.pid}{where}")
        self.bus.publish(
            ProcessStarted(
                task.id,
                task.attempt,
                child.pid,
                self.clock.time(),
                str(self.log.path),
                label,
                child.node,
            )
        )
        splitters: dict[str, LineSplitter] = {}
        terminal: TerminalEmulator | None = None
        prompt_tail = PromptTail()
        """A PTY's unfinished last line, as a prompt (the emulator draws it; attention reads it)."""
        """A PTY's screen: what the task drew, its finished lines scrolled off the top."""

        redactors: dict[str, StreamRedactor] = {}
        """Per stream: a secret cut by a read is still found (the log never sees it either)."""
        mux = StreamMux(self._write_log)
        """Each stream's lines stay whole in the shared log (a warning never cuts a JSON line)."""

        async def look(chunks: list[tuple[str, bytes]], wait: bool = True) -> None:
            """What is in the log now, and only that, goes on to the display and the observer."""
            nonlocal terminal
            for stream, data in chunks:
                if observe is not None:
                    observe(stream, data)
                if show_lines:
                    if stream == "pty":
                        if terminal is None:
                            terminal = self._terminal(spec)
                        text, count = terminal.feed(data)
                        task.prompt = prompt_tail.feed(data)
                        if count:
                            self.show(stream, text, count)
                        self.show_live(terminal.live())
                    else:
                        splitter = splitters.get(stream)
                        if splitter is None:
                            splitter = splitters[stream] = LineSplitter()
                        text, count = splitter.feed(data)
                        task.prompt = splitter.prompt()
                        if count:
                            self.show(stream, text, count)
                        unfinished = splitter.unfinished()
                        self.show_live((unfinished,) if unfinished else ())
                    if wait and self.bus.needs_room(task.id):
                        await self.bus.wait_for_room(task.id)

        async def sink(stream: str, data: bytes) -> None:
            redactor = redactors.get(stream)
            if redactor is None:
                redactor = redactors[stream] = self.redactor.stream()
            data = redactor.feed(data)
            task.last_output_at = self.clock.monotonic()
            if task.state is TaskState.IDLE:
                task.lifecycle.resumed(reason="output")
            if data:  # else all of it may start a secret: it waits for the next chunk
                await look(mux.write(stream, data))

        grace = task.spec.policy.grace
        status: ExitStatus | None = None
        lost: ProcessLost | None = None
        try:
            async with anyio.create_task_group() as tg:
                if task.stop_event is not None:

                    def carry_out_stop() -> None:
                        tg.start_soon(self._carry_out_stop, child)

                    if task.stop is not None:
                        carry_out_stop()  # asked to stop before the process started
                    else:
                        task.on_stop = carry_out_stop

                def stop_process() -> None:
                    tg.start_soon(self._stop_child, child)

                self._on_process_stop = stop_process
                if spec.pty and show_lines:

                    def resize(rows: int, cols: int) -> None:
                        nonlocal terminal
                        if terminal is None:
                            terminal = self._terminal(spec)
                        text, count = terminal.resize(rows, cols)
                        if count:
                            self.show("pty", text, count)
                        self.show_live(terminal.live())
                        child.resize(rows, cols)

                    task.on_resize = resize
                try:
                    status = await child.follow(sink, grace=grace)
                except ProcessLost as exc:
                    lost = exc  # raised as itself below, not inside the task group's group
                finally:
                    task.on_stop = None
                tg.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                if child.alive():
                    await child.stop(grace)
                await child.aclose()
                for stream, redactor in redactors.items():
                    if redactor.held:
                        await look(mux.write(stream, redactor.flush()), wait=False)
                await look(mux.flush(), wait=False)
                for stream, splitter in splitters.items():
                    text, count = splitter.flush()
                    if count:
                        self.show(stream, text, count)
                if terminal is not None:
                    text, count = terminal.flush()
                    if count:
                        self.show("pty", text, count)
                self.show_live(())
                task.on_resize = None
                task.child = None
                self._on_process_stop = None
        if lost is not None:
            raise lost
        assert status is not None
        if status.cpu_seconds is not None:
            task.cpu_seconds = (task.cpu_seconds or 0.0) + status.cpu_seconds
        return status

    def _write_log(self, data: bytes) -> None:
        if self.log_error is None:
            try:
                self.log.write(data)
            except OSError as exc:
                self._log_failed(exc)

    def _log_failed(self, exc: OSError) -> None:
        """The log cannot be written (a full disk): what the task writes from now on would be
        kept nowhere, so it is stopped, with the reason. Lines still reach the display."""
        self.log_error = exc
        reason = exc.strerror or str(exc)
        self.stop(f"cannot write its log {self.log.path}: {reason}; stopped to lose no more output")

    def divider(self, text: str) -> None:
        """A line of our own between the parts of an attempt (its worktree's set-up, then the
        task), in the log and in the display."""
        line = f"──── {text} ────"
        self._write_log(f"{line}\n".encode())
        self.show("stdout", line, 1)

    def show(self, stream: str, text: str, count: int) -> None:
        """Display lines for this task: into its bounded view and onto the bus."""
        task = self.task
        task.view.add(text, count)
        self.bus.publish(Output(task.id, task.attempt, stream, text, count, self.clock.time()))
        if task.watch_lines is not None and not task.ready:
            task.watch_lines(text)  # after the line itself: it is what made the task ready

    def show_live(self, lines: tuple[str, ...]) -> None:
        """What the task is drawing now (an unfinished line, a PTY's screen), if it changed."""
        task = self.task
        if lines != task.live:
            task.live = lines
            self.bus.publish(LiveLines(task.id, task.attempt, self.clock.time(), lines))

    def pty_size(self) -> tuple[int, int]:
        """Rows and columns for a new PTY: the viewer's pane, as it last said."""
        return self.task.pty_size

    def _terminal(self, spec: ProcessSpec) -> TerminalEmulator:
        from oneshot_tui.runner.terminal import TerminalEmulator  # PTY tasks only: pyte

        rows, cols = spec.pty_size
        return TerminalEmulator(rows, cols)

    async def _spawn(self, spec: ProcessSpec) -> ProcessHandle:
        """Start `spec` on the backend. A remote one may wait for a node with room: a stop
        request meanwhile gives up the wait, and the attempt ends without a process."""
        policy = self.task.spec.policy
        placement = Placement(policy.num_cpus, policy.resources)
        event = self.task.stop_event
        if self.backend.local or event is None:
            return await self.backend.spawn(spec, placement)
        child: ProcessHandle | None = None
        error: Exception | None = None
        async with anyio.create_task_group() as tg:

            async def give_up_on_stop() -> None:
                await event.wait()
                tg.cancel_scope.cancel()

            tg.start_soon(give_up_on_stop)
            try:
                child = await self.backend.spawn(spec, placement)
            except (SpawnError, ProcessLost) as exc:
                error = exc  # raised as itself below, not inside the task group's group
            tg.cancel_scope.cancel()
        if error is not None:
            raise error
        if child is None:
            stop = self.task.stop
            raise SpawnError(f"not started: {stop.reason if stop else 'stopped'}")
        return child

    async def _stop_child(self, child: ProcessHandle) -> None:
        """The ladder for the process alone (`stop_process`): the attempt goes on."""
        with anyio.CancelScope(shield=True):
            await child.stop(self.task.spec.policy.grace)

    async def _carry_out_stop(self, child: ProcessHandle) -> None:
        """The ladder, once a stop has been requested (started by `Task.on_stop`)."""
        task = self.task
        with anyio.CancelScope(shield=True):
            if task.stop is not None and task.stop.kill:
                child.kill()
            await child.stop(task.spec.policy.grace)
