"""The orchestrator: owns the tasks, the concurrency limit, the heartbeat and every stop.

Commands (`interrupt`, `kill`, `restart`, `add`, `shutdown`, ...) are plain method calls that
return at once; what they cause comes back only as events on the bus.
"""

from __future__ import annotations

import logging
import os
import traceback
from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import anyio

from oneshot_tui.core.bus import EventBus
from oneshot_tui.core.clock import Clock, SystemClock
from oneshot_tui.core.events import (
    MessageSent,
    RetryScheduled,
    RunFinished,
    RunResult,
    RunStarted,
    StateChanged,
    TaskAdded,
    TaskExited,
    TaskReady,
    TaskWaiting,
)
from oneshot_tui.core.exit_codes import STOP_SIGNALS, ExitCode, for_signal
from oneshot_tui.core.names import UniqueNames
from oneshot_tui.core.redact import Redactor
from oneshot_tui.core.spec import IdleAction, RunSettings, TaskSpec
from oneshot_tui.core.states import TaskState
from oneshot_tui.orchestrator.attempt import Attempt
from oneshot_tui.orchestrator.attention import AttentionBoard, Need
from oneshot_tui.orchestrator.body import BodyFactory, Outcome
from oneshot_tui.orchestrator.dependencies import (
    blocked,
    diff_stats,
    line_watcher,
    template_values,
)
from oneshot_tui.orchestrator.dispatch import default_body
from oneshot_tui.orchestrator.messages import Message, store
from oneshot_tui.orchestrator.task import StopRequest, Task
from oneshot_tui.orchestrator.workspaces import Workspaces
from oneshot_tui.runner.backend import LocalBackend, Placement, ProcessBackend, ProcessLost
from oneshot_tui.runner.descendants import become_subreaper
from oneshot_tui.runner.groups import signal_name
from oneshot_tui.runner.output import OutputLog
from oneshot_tui.runner.process import SpawnError, reap_orphans
from oneshot_tui.store.paths import (
    create_run_dir,
    ensure_private_dir,
    log_file_name,
    run_dir,
    safe_file_stem,
)

if TYPE_CHECKING:
    from oneshot_tui.orchestrator.agent_pool import AgentPool

log = logging.getLogger(__name__)


def _log_deleted(path: Path) -> str:
    return f"its log {path} was deleted during the run"


def _seconds(value: float) -> str:
    return f"{value:.1f}s" if value < 10 else f"{value:.0f}s"


def restart_delay(restart: int, longest: float) -> float:
    """Seconds before the restart policy's `restart`-th restart: 1, 2, 4, ... up to `longest`."""
    return min(2.0 ** (restart - 1), longest)


class Orchestrator:
    """Runs task specs under a concurrency limit and reports everything on the bus."""

    def __init__(
        self,
        specs: Iterable[TaskSpec],
        settings: RunSettings | None = None,
        *,
        data_dir: Path,
        bus: EventBus | None = None,
        clock: Clock | None = None,
        run_id: str | None = None,
        body_factory: BodyFactory = default_body,
        backend: ProcessBackend | None = None,
    ) -> None:
        self.settings = settings or RunSettings()
        self.bus = bus or EventBus()
        self.clock = clock or SystemClock()
        self.data_dir = data_dir
        self.log_dir: Path
        if run_id is None:  # a fresh directory, or another id: two runs never share one
            self.run_id, self.log_dir = create_run_dir(data_dir, self.clock.time())
        else:  # chosen by the caller (tests, screenshots): its directory may exist already
            self.run_id = run_id
            self.log_dir = ensure_private_dir(run_dir(data_dir, run_id))
        self._body_factory = body_factory
        self.workspaces = Workspaces(data_dir, self.run_id, self.bus, self.clock)
        """Makes worktree tasks' git worktrees before they start, and inspects them after."""
        if backend is None and self.settings.backend == "local":
            backend = LocalBackend()
        self._backend = backend
        """Where the processes run; any other than local is opened by the run's session
        (orchestrator/session.py) and set before `run`."""
        self.redactor = Redactor.from_env(os.environ)
        # What a remote backend forwards is secret, whatever its name.
        self.redactor.add(os.environ.get(name, "") for name in self.settings.forward_env)
        """Secret values never written anywhere by us (logs, events, history)."""
        self.tasks: dict[str, Task] = {}
        self._agent_pool: AgentPool | None = None
        self.pty_size: tuple[int, int] | None = None
        """The viewer's pane, as it last said (`resize_terminals`): every PTY's size."""
        self._stems = UniqueNames()
        """Log file stems: a task's name made safe for a file name, unique in the run."""
        for spec in specs:
            self._register(spec)
        for task in self.tasks.values():
            self._check_dependencies(task.spec)
        self._limiter = anyio.CapacityLimiter(max(self.settings.max_concurrent, 1))
        self._tg: anyio.abc.TaskGroup | None = None
        self._queue_scopes: dict[str, anyio.CancelScope] = {}
        self._settled: anyio.Event | None = None
        self.started = anyio.Event()
        """Set once `run` has published RunStarted and queued (or started) every task."""
        self._hold: anyio.Event | None = None
        self._progress: anyio.Event | None = None
        """Set (and replaced) when a task starts, turns ready or ends: waiting tasks look again."""
        self._messages = 0
        """Messages sent to the run's agents so far (each has its number)."""
        self._scheduled = 0
        """Tasks a coroutine owns (queued or running): the run has settled when none is left."""
        self._stopping = False
        self._stop_reason = ""
        self._signal: int | None = None
        self.attention = AttentionBoard(self.bus.publish, self.clock)
        """Which tasks need their user now, and why (orchestrator/attention.py)."""

    @property
    def backend(self) -> ProcessBackend:
        if self._backend is None:
            raise ValueError(f"a {self.settings.backend} run's backend is opened by its RunSession")
        return self._backend

    @backend.setter
    def backend(self, backend: ProcessBackend) -> None:
        self._backend = backend

    # -- queries ---------------------------------------------------------------------------------

    @property
    def stopping(self) -> bool:
        return self._stopping

    def counts(self) -> Counter[TaskState]:
        return Counter(task.state for task in self.tasks.values())

    @property
    def in_use(self) -> int:
        """Slots of the concurrency limit taken right now."""
        return int(self._limiter.borrowed_tokens)

    # -- commands --------------------------------------------------------------------------------

    def interrupt(self, task_id: str, reason: str = "interrupted by user") -> bool:
        """Stop a task with the ladder (SIGINT, SIGTERM, SIGKILL); a queued task is dropped."""
        task = self.tasks.get(task_id)
        if task is None:
            return False
        self.seen(task_id)  # acted on: it no longer waits for its user
        if task.state is TaskState.CREATED and task.id in self._queue_scopes:
            task.stop = StopRequest(reason)
            self._queue_scopes[task.id].cancel()
            return True
        live = task.state.active or task.starting
        return live and self._request_stop(task, StopRequest(reason))

    def kill(self, task_id: str, reason: str = "killed by user") -> bool:
        """SIGKILL to the task's whole process group, now."""
        self.seen(task_id)
        task = self.tasks.get(task_id)
        if task is None or not (task.state.active or task.starting):
            return self.interrupt(task_id, reason) if task is not None else False
        return self._request_stop(task, StopRequest(reason, kill=True))

    def restart(self, task_id: str, reason: str = "restarted by user") -> bool:
        """A new attempt, queued again under the limit; a live task is stopped first."""
        self.seen(task_id)
        task = self.tasks.get(task_id)
        if task is None or self._stopping:
            return False
        if task.state.active:
            return self._request_stop(task, StopRequest(reason, restart=True))
        task.fresh_start = True  # a loop starts anew (a new oneshot id); `continue_task` goes on
        task.continuing = False
        task.restarts = 0  # the user's restart: its restart policy counts afresh
        if task.state.ended and not task.scheduled and self._tg is not None:
            task.stop = None
            task.lifecycle.restart(reason=reason)
            self._schedule(task)
            return True
        return False

    def continue_task(self, task_id: str, reason: str = "continued by user") -> bool:
        """Continue a stopped or failed task where it stopped, as a new attempt: a loop goes on in
        the same oneshot id from its last completed step, in its agents' sessions (a plain task
        just starts again). The one way to continue a task; a message to the agent will use it."""
        self.seen(task_id)
        task = self.tasks.get(task_id)
        if task is None or self._stopping or not task.state.ended or task.scheduled:
            return False
        if self._tg is None:
            return False
        task.fresh_start = False
        task.continuing = True  # a loop goes on from its saved state, even a completed one
        task.stop = None
        task.lifecycle.restart(reason=reason)
        self._schedule(task)
        return True

    def send_message(self, task_id: str, text: str, *, now: bool = False) -> str | None:
        """A message from the user to an agent task (or a loop's worker): kept on disk, then
        delivered as the agent's next turn, in its own session where the CLI can resume one. A
        task whose turn has ended starts it at once; a running one when its turn ends (with
        `now`, its turn is interrupted for it). Returns None when taken, else why not."""
        task = self.tasks.get(task_id)
        if task is None:
            return f"no task {task_id!r} in this run"
        if task.spec.agent is None:
            # A command: the text is typed into its terminal, then Enter.
            return self.type_input(task_id, text.encode("utf-8") + b"\r")
        if self._stopping or self._tg is None:
            return "the run is stopping: it takes no messages"
        if not text.strip():
            return "the message is empty"
        self.seen(task_id)
        self._messages += 1
        message = Message(self._messages, text)
        store(self.log_dir, task.id, message, self.clock.time())  # before anything else
        task.inbox.put(message)
        self.bus.publish(
            MessageSent(
                task.id, task.attempt, self.clock.time(), message.message_id, text, "queued"
            )
        )
        if task.state.ended and not task.scheduled:
            task.fresh_start = False
            task.continuing = True
            task.stop = None
            task.lifecycle.restart(reason="a message from the user")
            self._schedule(task)
        elif now and (task.state.active or task.starting):
            self._request_stop(task, StopRequest("interrupted for a message", restart=True))
        return None

    def seen(self, task_id: str) -> bool:
        """The user looked at the task (or acted on it): its attention mark, if any, clears."""
        task = self.tasks.get(task_id)
        return task is not None and self.attention.clear(task_id, task.attempt)

    def type_input(self, task_id: str, data: bytes) -> str | None:
        """Type `data` into a running PTY task's terminal (keys, or a line with its Enter).
        Returns None when taken, else why not."""
        task = self.tasks.get(task_id)
        if task is None:
            return f"no task {task_id!r} in this run"
        if not task.spec.policy.pty or task.spec.agent is not None:
            return f"{task_id} has no terminal to type into: give it pty = true"
        child = task.child
        if child is None or self._tg is None:
            return f"{task_id} is not running"
        self._tg.start_soon(child.write_input, data)
        return None

    def resize_terminals(self, rows: int, cols: int) -> None:
        """The viewer's pane is `rows` by `cols`: every PTY task's terminal gets that size (the
        running ones at once, with SIGWINCH; the others when they start)."""
        if rows < 1 or cols < 1:
            return
        self.pty_size = (rows, cols)
        for task in self.tasks.values():
            task.pty_size = (rows, cols)
            if task.on_resize is not None:
                task.on_resize(rows, cols)

    def agent_pool(self) -> AgentPool:
        """What the run's agents share; made on first use (a run of commands needs none)."""
        if self._agent_pool is None:
            from oneshot_tui.orchestrator.agent_pool import AgentPool

            self._agent_pool = AgentPool(self.settings.agent_limits, self.settings.prices)
        return self._agent_pool

    def interrupt_all(self, reason: str = "interrupted by user") -> int:
        return sum(self.interrupt(task_id, reason) for task_id in list(self.tasks))

    def interrupt_idle(self, reason: str = "interrupted while idle") -> int:
        idle = [t.id for t in self.tasks.values() if t.state is TaskState.IDLE]
        return sum(self.interrupt(task_id, reason) for task_id in idle)

    def kill_all(self, reason: str = "killed") -> None:
        for task in self.tasks.values():
            if task.state.active or task.starting:
                self._request_stop(task, StopRequest(reason, kill=True))

    def add(self, spec: TaskSpec) -> Task:
        """Add a task to the run (before or while it runs); it may depend on the run's tasks."""
        self._check_dependencies(spec)
        task = self._register(spec)
        self._publish_added(task)
        if self._tg is not None and not self._stopping:
            self._schedule(task)
        return task

    def shutdown(self, reason: str = "run stopped", signum: int | None = None) -> None:
        """Stop everything gracefully: queued tasks never start, live ones get the ladder."""
        if signum is not None and self._signal is None:
            self._signal = signum
        if self._stopping:
            return
        self._stopping = True
        self._stop_reason = reason
        if self._hold is not None:
            self._hold.set()  # nothing will start: stop waiting for a start
        for task in self.tasks.values():
            if task.state is TaskState.CREATED and task.id in self._queue_scopes:
                self._queue_scopes[task.id].cancel()
            elif task.state.active or task.starting:
                self._request_stop(task, StopRequest(reason))
        self._check_settled()

    def tick(self) -> None:
        """One heartbeat: idle detection, the idle policy and wall-time limits."""
        reap_orphans()
        now = self.clock.monotonic()
        for task in self.tasks.values():
            state = task.state
            if not state.active or task.stop is not None or task.started_at is None:
                continue
            after, since = task.spec.ready_after, task.running_since
            if after is not None and since is not None and not task.ready and now - since >= after:
                self._mark_ready(task, f"running for {_seconds(after)}")
            policy = task.spec.policy
            if task.log is not None and task.log.vanished():
                # What it writes from now on would be kept nowhere: stopped, as when its log
                # cannot be written (attempt.py).
                task.log_gone = True
                reason = f"{_log_deleted(task.log.path)}; stopped to lose no more output"
                self._request_stop(task, StopRequest(reason))
            elif policy.timeout is not None and now - task.started_at >= policy.timeout:
                self._request_stop(task, StopRequest(f"timeout after {_seconds(policy.timeout)}"))
            elif state is TaskState.RUNNING:
                self.attention.clear(task.id, task.attempt, only=Need.INPUT)  # it went on
                if self.bus.needs_room(task.id):
                    task.last_output_at = now  # held back by a slow reader of ours: not silent
                silent = now - task.last_output_at
                if policy.idle_threshold and silent >= policy.idle_threshold:
                    task.idle_since = now
                    task.lifecycle.went_idle(reason=f"no output for {_seconds(silent)}")
                    if policy.pty and task.prompt:  # silent on an unfinished line: it asks
                        self.attention.need(
                            task.id, task.attempt, Need.INPUT, f"waiting for input: {task.prompt}"
                        )
            elif policy.idle_action is not IdleAction.NONE and task.idle_since is not None:
                idle_for = now - task.idle_since
                if idle_for >= policy.idle_timeout:
                    restart = policy.idle_action is IdleAction.RESTART
                    stalled = f"stalled: idle for {_seconds(idle_for)}"
                    if restart and task.on_stall is not None and task.on_stall(stalled):
                        task.idle_since = None  # its body retries the step; idle anew from here
                        task.last_output_at = now
                        continue
                    self._request_stop(
                        task, StopRequest(f"idle for {_seconds(idle_for)}", restart=restart)
                    )

    # -- running ---------------------------------------------------------------------------------

    async def run(
        self,
        *,
        stay_open: bool = False,
        handle_signals: bool = False,
        hold: anyio.Event | None = None,
    ) -> RunResult:
        """Run every task to its end and return the results.

        `stay_open` keeps the run alive after every task has ended (the TUI can still restart
        tasks) until `shutdown()` or cancellation. `handle_signals` turns SIGINT, SIGTERM and
        SIGHUP into a graceful shutdown (a second signal kills at once); main thread only.
        With `hold`, the run is announced (RunStarted, every TaskAdded) but no task starts
        before `hold` is set or the run is shut down (a served run waiting for its TUI).
        """
        self.backend.local  # noqa: B018  # raises now, before anything starts, if none was opened
        self._settled = anyio.Event()
        become_subreaper()  # escaped descendants re-parent to us, where we can stop them
        self.bus.publish(
            RunStarted(
                self.run_id,
                self.clock.time(),
                str(self.log_dir),
                tuple(self.tasks),
                self.settings.max_concurrent,
            )
        )
        for task in self.tasks.values():
            self._publish_added(task)
        self._hold = hold
        try:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                if self.settings.heartbeat_interval > 0:
                    tg.start_soon(self._heartbeat)
                if handle_signals:
                    tg.start_soon(self._watch_signals)
                tg.start_soon(self.backend.serve, self._expected_placements())
                if hold is not None:
                    await hold.wait()
                for task in list(self.tasks.values()):
                    self._schedule(task)
                self.started.set()
                self._check_settled()
                while True:
                    await self._settled.wait()
                    if not stay_open or self._stopping:
                        break
                    self._publish_finished()
                    self._settled = anyio.Event()
                tg.cancel_scope.cancel()
        finally:
            self._tg = None
            result = self._publish_finished()
        return result

    def _expected_placements(self) -> list[tuple[Placement, int]]:
        """How many processes of each placement the run's tasks may have at once (no more
        than `max_concurrent`), for a backend that prepares hosts ahead of need."""
        counts: dict[tuple[float, tuple[tuple[str, float], ...]], int] = {}
        for task in self.tasks.values():
            policy = task.spec.policy
            key = (policy.num_cpus, tuple(sorted(policy.resources.items())))
            counts[key] = counts.get(key, 0) + 1
        limit = max(self.settings.max_concurrent, 1)
        return [
            (Placement(cpus, dict(resources)), min(count, limit))
            for (cpus, resources), count in counts.items()
        ]

    def _register(self, spec: TaskSpec) -> Task:
        if spec.name in self.tasks:
            raise ValueError(f"duplicate task name: {spec.name!r}")
        stem = self._stems.take(safe_file_stem(spec.name))
        self.redactor.add_env(spec.env)
        task = Task.create(spec, stem, self.clock, self._publish_state)
        if spec.ready_line is not None:
            task.watch_lines = line_watcher(
                spec.ready_line,
                lambda line: self._mark_ready(task, f"line matched: {line.strip()[:200]!r}"),
            )
        if self.pty_size is not None:
            task.pty_size = self.pty_size
        self.tasks[spec.name] = task
        return task

    def _check_dependencies(self, spec: TaskSpec) -> None:
        """The loader names the line of a bad `depends_on`; a spec given as data is refused here
        (a cycle needs a dependency on a later task: `add` can only name earlier ones)."""
        for dependency in spec.depends_on:
            if dependency not in self.tasks or dependency == spec.name:
                raise ValueError(f"task {spec.name!r} depends on {dependency!r}: no such task")

    def _publish_state(self, event: StateChanged) -> None:
        """Every transition of every task: published, and what dependants wait for updated."""
        task = self.tasks.get(event.task_id)
        if task is not None:
            if event.target is TaskState.CREATED:  # a new attempt: not started, not ready
                task.started = task.ready = False
                task.running_since = None
            elif event.source is TaskState.CREATED and event.target is TaskState.RUNNING:
                task.started = True
                task.running_since = self.clock.monotonic()
        self.bus.publish(event)
        self._poke()

    def _mark_ready(self, task: Task, reason: str) -> None:
        if task.ready:
            return
        task.ready = True
        self.bus.publish(TaskReady(task.id, task.attempt, self.clock.time(), reason))
        self._poke()

    def _poke(self) -> None:
        """Wake the tasks waiting for their dependencies: something they wait for may hold."""
        if self._progress is not None:
            self._progress.set()
            self._progress = None

    def _publish_added(self, task: Task) -> None:
        spec = task.spec
        self.bus.publish(
            TaskAdded(
                task.id,
                self.clock.time(),
                self.redactor.text(spec.display_command),
                spec.kind,
                spec.cwd,
                spec.policy.scrollback,
                spec.group or "",
                spec.policy.pty and spec.agent is None,
            )
        )

    def _schedule(self, task: Task) -> None:
        assert self._tg is not None
        task.scheduled = True
        self._tg.start_soon(self._run_task, task, name=f"task {task.id}")
        self._scheduled += 1  # after: a task group that refuses it started nothing

    async def _run_task(self, task: Task) -> None:
        try:
            while await self._wait_for_dependencies(task) and await self._wait_for_slot(task):
                try:
                    await self._fill_prompt(task)
                    await self._run_attempt(task)
                finally:
                    self._limiter.release()
                reason, delay = self._restart_reason(task)
                if reason is None or self._stopping:
                    break
                task.stop = None
                task.lifecycle.restart(reason=reason)
                if delay and not await self._back_off(task, delay, reason):
                    break
        finally:
            if task.state is TaskState.CREATED:
                self._never_started(task)
            task.scheduled = False
            self._scheduled -= 1
            self._poke()  # its end is final now: its dependants know where they stand
            self._check_settled()

    async def _wait_for_dependencies(self, task: Task) -> bool:
        """Wait, taking no slot, until the task's dependencies hold; False if it must not start
        (a dependency failed first: it ends failed, saying which; or it was stopped)."""
        if not task.spec.depends_on:
            return True
        if self._stopping or task.stop is not None:
            return False
        shown = ""
        with anyio.CancelScope() as scope:
            self._queue_scopes[task.id] = scope  # interrupt and shutdown end the wait
            try:
                while True:
                    where = blocked(task, self.tasks)
                    if where.failed is not None:
                        task.reason = f"dependency {where.failed} failed"
                        task.lifecycle.fail(reason=task.reason)
                        self._publish_exit(task)
                        return False
                    if not where.waiting:
                        return True
                    if where.text != shown:
                        shown = where.text
                        self._publish_waiting(task, shown)
                    if self._progress is None:
                        self._progress = anyio.Event()
                    await self._progress.wait()
            finally:
                del self._queue_scopes[task.id]
                if shown:
                    self._publish_waiting(task, "")
        return not scope.cancelled_caught

    async def _fill_prompt(self, task: Task) -> None:
        """An agent task's `{{ tasks.NAME.FIELD }}`: what its dependencies produced, filled in
        as it starts (each attempt from the template: a dependency may have run again)."""
        agent = task.spec.agent
        if agent is None or "{{" not in (task.prompt_template or agent.prompt):
            return
        from dataclasses import replace

        from oneshot_tui.core.templates import render

        task.prompt_template = task.prompt_template or agent.prompt
        task.spec = replace(task.spec, agent=replace(agent, prompt=task.prompt_template))
        values = template_values(task, self.tasks)
        values.update(await anyio.to_thread.run_sync(diff_stats, task, self.tasks))
        prompt = render(task.prompt_template, values)
        task.spec = replace(task.spec, agent=replace(agent, prompt=prompt))

    def _publish_waiting(self, task: Task, on: str) -> None:
        self.bus.publish(TaskWaiting(task.id, task.attempt, self.clock.time(), on))

    async def _back_off(self, task: Task, delay: float, reason: str) -> bool:
        """Wait `delay` seconds (on the run's clock) before a restart, taking no slot; False if
        the task was stopped or the run ends meanwhile."""
        now = self.clock.monotonic()
        resume_at = now + delay
        policy = task.spec.policy
        self.bus.publish(
            RetryScheduled(
                task.id,
                task.attempt,
                self.clock.time(),
                delay,
                self.clock.time() + delay,
                reason,
                task.restarts,
                policy.max_restarts,
                restart=True,
            )
        )
        with anyio.CancelScope() as scope:
            self._queue_scopes[task.id] = scope
            try:
                while (left := resume_at - self.clock.monotonic()) > 0:
                    if self._stopping or task.stop is not None:
                        return False
                    # Short steps: the clock may be a test's, moved by hand.
                    await anyio.sleep(min(left, 0.1))
            finally:
                del self._queue_scopes[task.id]
        return not scope.cancelled_caught and not self._stopping and task.stop is None

    async def _wait_for_slot(self, task: Task) -> bool:
        if self._stopping or task.stop is not None:
            return False
        try:
            self._limiter.acquire_nowait()  # a free slot (and nobody before us): no wait at all
        except anyio.WouldBlock:
            with anyio.CancelScope() as scope:
                self._queue_scopes[task.id] = scope
                try:
                    await self._limiter.acquire()
                finally:
                    del self._queue_scopes[task.id]
            if scope.cancelled_caught:
                return False
        if self._stopping:
            self._limiter.release()
            return False
        return True

    def _restart_reason(self, task: Task) -> tuple[str | None, float]:
        """Why the task's next attempt starts, and after how many seconds; (None, 0) if none."""
        if task.inbox:  # a message came during the turn: the next turn is the agent's answer
            task.fresh_start, task.continuing = False, True
            return "a message from the user", 0.0
        stop = task.stop
        if stop is not None:  # stopped: only a stop that asked for it restarts (never a policy)
            return (stop.reason if stop.restart else None), 0.0
        if self._restarts_lost(task):
            task.lost_restarts += 1
            allowed = task.spec.policy.restart_on_node_lost
            return f"node lost: restart {task.lost_restarts} of {allowed}", 0.0
        policy = task.spec.policy
        if not self._policy_restarts(task):
            return None, 0.0
        task.restarts += 1
        ended = task.reason or str(task.state)
        reason = f"restart {task.restarts} of {policy.max_restarts} after {ended}"
        return reason, restart_delay(task.restarts, policy.restart_backoff)

    def _restarts_lost(self, task: Task) -> bool:
        """The task lost its node, and its policy says to start it again."""
        return task.lost and task.lost_restarts < task.spec.policy.restart_on_node_lost

    def _never_started(self, task: Task) -> None:
        reason = task.stop.reason if task.stop else (self._stop_reason or "run cancelled")
        task.reason = f"not started: {reason}"
        task.lifecycle.fail(reason=task.reason)
        self._publish_exit(task)

    async def _run_attempt(self, task: Task) -> None:
        now = self.clock.monotonic()
        task.started_at = task.last_output_at = now
        task.ended_at = task.idle_since = None
        task.exit_status = None
        task.reason = ""
        task.lost = False
        task.prompt = ""
        task.stop_event = anyio.Event()
        self.attention.clear(task.id, task.attempt)  # it goes on: whatever it needed is past
        path = self.log_dir / log_file_name(task.file_stem, task.attempt)
        task.log_paths.append(path)
        outcome: Outcome | None = None
        try:
            try:
                output_log = OutputLog(path)
            except OSError as exc:
                outcome = Outcome(False, f"cannot write log {path}: {exc.strerror or exc}")
                return
            task.log = output_log
            with output_log:
                try:
                    worktree = await self.workspaces.enter(task)
                    if task.stop is not None or self._stopping:
                        return  # stopped while its worktree was being made: never started
                    attempt = Attempt(
                        task,
                        self.bus,
                        self.clock,
                        output_log,
                        run_id=self.run_id,
                        redactor=self.redactor,
                        data_dir=self.data_dir,
                        worktree=worktree,
                        backend=self.backend,
                        agents=self.agent_pool,
                        peers=self.tasks,
                    )
                    outcome = await self.workspaces.set_up(attempt)
                    if outcome is not None or task.stop is not None:
                        return  # its worktree could not be set up (or it was stopped meanwhile)
                    outcome = await self._body_factory(task.spec).run(attempt)
                except SpawnError as exc:
                    outcome = Outcome(False, str(exc))
                except ProcessLost as exc:
                    outcome = Outcome(False, f"node lost ({exc})", lost=True)
                except Exception as exc:  # a bug in a body must not take the whole run down
                    output_log.write(traceback.format_exc().encode())
                    log.exception("task %s crashed", task.id)
                    outcome = Outcome(False, f"internal error: {type(exc).__name__}: {exc}")
        finally:
            if task.log is not None and task.log.vanished():
                task.log_gone = True
                if outcome is not None and outcome.ok:
                    outcome = replace(outcome, reason=f"{outcome.reason}; {_log_deleted(path)}")
            task.log = None
            try:
                await self.workspaces.leave(task)
            finally:
                self._end_attempt(task, outcome)

    def _end_attempt(self, task: Task, outcome: Outcome | None) -> None:
        task.ended_at = self.clock.monotonic()
        task.child = None
        task.stop_event = None
        task.on_stall = None
        task.attention = outcome.attention if outcome is not None else ""
        if outcome is not None and outcome.status is not None:
            task.exit_status = outcome.status
        task.lost = outcome is not None and outcome.lost
        state = task.state
        if task.stop is not None or outcome is None:
            reason = task.stop.reason if task.stop else (self._stop_reason or "run cancelled")
            if state.active:
                task.lifecycle.interrupt(reason=reason)
            elif state is TaskState.CREATED:  # stopped before its first process started
                reason = f"not started: {reason}"
                task.lifecycle.fail(reason=reason)
        elif state is TaskState.CREATED or not outcome.ok:
            reason = outcome.reason
            task.lifecycle.fail(reason=reason)
        else:
            reason = outcome.reason
            task.lifecycle.finish(reason=reason)
        task.reason = reason
        self._publish_exit(task)
        if (
            task.state is TaskState.FAILED
            and self.settings.fail_fast
            and not self._restarts_lost(task)
            and not self._policy_restarts(task)
        ):
            self.shutdown(f"fail-fast: {task.id} failed")

    def _policy_restarts(self, task: Task) -> bool:
        """The task's restart policy will start it again (so its failure is not final yet)."""
        policy = task.spec.policy
        wanted = policy.restart == "always" or (
            policy.restart == "on-failure" and task.state is TaskState.FAILED
        )
        return wanted and task.stop is None and task.restarts < policy.max_restarts

    def _publish_exit(self, task: Task) -> None:
        status = task.exit_status
        self.bus.publish(
            TaskExited(
                task_id=task.id,
                attempt=task.attempt,
                ts=self.clock.time(),
                state=task.state,
                exit_code=status.exit_code if status else None,
                signal=status.signal if status else None,
                duration=task.duration(self.clock.monotonic()) or 0.0,
                reason=task.reason,
                totals=task.totals,
                attention=task.attention,
                cpu_seconds=task.cpu_seconds,
            )
        )
        self._mark_if_needed(task)

    def _mark_if_needed(self, task: Task) -> None:
        """An attempt ended: does the task need its user now? Not for what the user or the run
        stopped, nor for a failure the task recovers from by itself (a node-lost restart)."""
        if task.state is TaskState.FAILED:
            if task.stop is None and not self._stopping and not self._restarts_lost(task):
                self.attention.need(task.id, task.attempt, Need.FAILED, f"failed: {task.reason}")
        elif task.attention:
            self.attention.need(task.id, task.attempt, Need.DENIED, task.attention)
        else:
            self.attention.clear(task.id, task.attempt, only=Need.INPUT)

    def _request_stop(self, task: Task, request: StopRequest) -> bool:
        return task.request_stop(request)

    def _check_settled(self) -> None:
        if self._settled is not None and not self._scheduled:
            self._settled.set()

    def _notice_deleted_logs(self) -> None:
        """Logs of ended attempts deleted since (the data dir removed before the run ended): the
        results must not name them, and the run must not say all went well."""
        for task in self.tasks.values():
            path = task.log_path
            if task.log is None and not task.log_gone and path and not os.path.exists(path):
                task.log_gone = True
                task.reason = f"{task.reason}; {_log_deleted(path)}".lstrip("; ")

    def _exit_code(self) -> int:
        if self._signal is not None:
            return for_signal(self._signal)
        ok = all(t.state is TaskState.COMPLETED and not t.log_gone for t in self.tasks.values())
        return ExitCode.OK if ok else ExitCode.FAILED

    def _publish_finished(self) -> RunResult:
        self._notice_deleted_logs()
        now = self.clock.monotonic()
        results = tuple(task.result(now) for task in self.tasks.values())
        code = self._exit_code()
        self.bus.publish(RunFinished(self.run_id, self.clock.time(), code, results, self._signal))
        return RunResult(self.run_id, code, results, self._signal, self.log_dir)

    async def _heartbeat(self) -> None:
        interval = self.settings.heartbeat_interval
        while True:
            before, before_real = self.clock.monotonic(), anyio.current_time()
            await anyio.sleep(interval)
            # Late on both the run's clock and the loop's (the real one): an injected clock
            # that a test moves on while we sleep is never taken for a stop.
            late = (
                min(self.clock.monotonic() - before, anyio.current_time() - before_real) - interval
            )
            if late > interval:
                self.exclude_unobserved(late)
            self.tick()

    def exclude_unobserved(self, seconds: float) -> None:
        """Leave out of every task's idle clock time in which we could not look: the heartbeat
        came `seconds` late because this process was stopped (SIGTSTP, SIGSTOP) or stalled, so
        we read no output either, and the silence measured over that time is ours, not the
        task's."""
        for task in self.tasks.values():
            task.last_output_at += seconds
            if task.idle_since is not None:
                task.idle_since += seconds

    async def _watch_signals(self) -> None:
        with anyio.open_signal_receiver(*STOP_SIGNALS) as signals:
            async for signum in signals:
                if self._signal is None:
                    self.shutdown(f"received {signal_name(signum)}", signum=signum)
                else:
                    self.kill_all(f"received {signal_name(signum)} again")
