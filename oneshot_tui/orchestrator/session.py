"""One run from start to end, for every front end: headless, the TUI's engine, `oneshot`, the
public API (and the control socket of a live run).

It is the one place that opens the process backend a run's settings name, records the run in the
history and runs the orchestrator. What goes wrong before anything started (a backend that cannot
be had) is a `UsageError`, and every front end maps errors to exit codes with the one
`exit_code_for` (core/exit_codes.py), so `--backend ray` on an unreachable cluster exits 2 with
the same line wherever it was started.
"""

from __future__ import annotations

import gc
import signal
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskGroup

from oneshot_tui.config.errors import ConfigError
from oneshot_tui.core.bus import EventBus
from oneshot_tui.core.clock import Clock
from oneshot_tui.core.events import RunResult
from oneshot_tui.core.spec import RunSettings, TaskSpec
from oneshot_tui.orchestrator.backends import open_backend
from oneshot_tui.orchestrator.body import BodyFactory
from oneshot_tui.orchestrator.control_server import ControlServer
from oneshot_tui.orchestrator.dispatch import default_body
from oneshot_tui.orchestrator.orchestrator import Orchestrator
from oneshot_tui.runner.backend import LocalBackend
from oneshot_tui.store.run_origin import RunOrigin

if TYPE_CHECKING:
    from oneshot_tui.orchestrator.notifiers import RunNotifier
    from oneshot_tui.otel.setup import Providers

Warn = Callable[[str], None]
OWNER_TIMEOUT = 60.0
"""Seconds a run served for a TUI waits for it to connect before giving up on it."""

_frozen = False


def _freeze_what_lives_long() -> None:
    """Once per process, before its first run: move every object alive now (the modules, their
    classes and functions) out of the garbage collector's sight. They live as long as the process,
    and a run of many tasks otherwise has every full collection walk them again (a tenth of its
    time for 200 short tasks). Objects made later are collected as always."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.freeze()


class RunSession:
    """A run of `specs`: its orchestrator (for commands and the bus) and the one way to run it.

    Subscribe to `bus` before `run()` to see every event from the first.
    """

    def __init__(
        self,
        specs: Sequence[TaskSpec],
        settings: RunSettings | None = None,
        *,
        data_dir: Path,
        origin: RunOrigin | None = None,
        bus: EventBus | None = None,
        clock: Clock | None = None,
        run_id: str | None = None,
        body_factory: BodyFactory = default_body,
        warn: Warn | None = None,
        terminal: Callable[[str], None] | None = None,
        otel: Providers | None = None,
    ) -> None:
        """`terminal` writes notifications (bell, OSC) to the terminal the run owns: a headless
        run on a tty gives one; the TUI rings its own terminal."""
        self.settings = settings or RunSettings()
        self._terminal = terminal
        self._otel = otel
        """Where traces and metrics go (a test's in-memory exporters); None: the OTLP/HTTP
        exporters of the OTEL_* variables, if the settings turn `otel` on."""
        self.origin = origin
        """How the run was started; given, the run is recorded in the history."""
        self._warn = warn
        self.server: ControlServer | None = None
        """The run's control socket, while `run(serve=True)` runs."""
        self.orchestrator = Orchestrator(
            specs,
            self.settings,
            data_dir=data_dir,
            bus=bus,
            clock=clock,
            run_id=run_id,
            body_factory=body_factory,
            backend=LocalBackend() if self.settings.backend == "local" else None,
        )

    @property
    def bus(self) -> EventBus:
        return self.orchestrator.bus

    @property
    def run_id(self) -> str:
        return self.orchestrator.run_id

    async def run(
        self,
        *,
        stay_open: bool = False,
        handle_signals: bool = False,
        serve: bool = False,
        owner: bool = False,
        ready: Callable[[], None] | None = None,
    ) -> RunResult:
        """Open the backend, record the run (with an origin) and run every task to its end.

        Raises BackendError (a UsageError) before anything starts if the backend cannot be had.
        `stay_open` and `handle_signals` are the orchestrator's (see `Orchestrator.run`).
        `serve` serves the run's control socket (`RUN_DIR/control.sock`) while it runs. With
        `owner`, a TUI will connect as the run's owner: the tasks start once it has subscribed
        (a fast run cannot end before it is watched), or after OWNER_TIMEOUT without one (then
        the run stops, as when its owner goes away). `ready` is called once the socket listens
        and, without an owner, every task is started or queued.
        """
        _freeze_what_lives_long()
        orch = self.orchestrator
        providers = self._otel_providers()  # before anything starts: a missing extra is exit 2
        async with (
            open_backend(self.settings) as backend,
            self._recording(),
            self._telemetry(providers),
        ):
            orch.backend = backend
            async with anyio.create_task_group() as tg:
                notifier = self._notifier()
                if notifier is not None:
                    tg.start_soon(notifier.run)
                server = await self._serve(tg) if serve else None
                if ready is not None:
                    if owner:
                        ready()
                    else:
                        tg.start_soon(_when_started, orch, ready)
                hold = None
                if owner and server is not None:
                    hold = anyio.Event()
                    tg.start_soon(self._wait_for_owner, server, hold)
                try:
                    result = await orch.run(
                        stay_open=stay_open, handle_signals=handle_signals, hold=hold
                    )
                finally:
                    with anyio.CancelScope(shield=True):
                        if server is not None:
                            await server.finish()
                        if notifier is not None:
                            await notifier.settle()  # the run's last alert goes out whole
                    tg.cancel_scope.cancel()
        return result

    def _notifier(self) -> RunNotifier | None:
        """The run's own notifiers, if any is wanted here (see orchestrator/notifiers.py)."""
        settings = self.settings
        own = {"desktop", "command"}.intersection(settings.notify or ())
        if not own and self._terminal is None:
            return None
        from oneshot_tui.orchestrator.notifiers import RunNotifier

        return RunNotifier(
            self.bus,
            self.run_id,
            settings.notify,
            settings.notify_command,
            terminal=self._terminal,
            warn=self._warn,
        )

    async def _wait_for_owner(self, server: ControlServer, hold: anyio.Event) -> None:
        with anyio.move_on_after(OWNER_TIMEOUT):
            await server.owner_joined.wait()
        if not server.owner_joined.is_set():
            self.orchestrator.shutdown("the TUI that started the run never connected")
        hold.set()

    async def _serve(self, tg: TaskGroup) -> ControlServer:
        from oneshot_tui.control.protocol import socket_path

        orch = self.orchestrator
        server = ControlServer(
            orch,
            socket_path(orch.log_dir),
            add_tasks=self.add_tasks,
            on_owner_lost=self._owner_lost,
        )
        await tg.start(server.serve)
        self.server = server
        return server

    def _owner_lost(self) -> None:
        """The TUI that started the run went away without detaching (its terminal closed, or
        it was killed): the run stops as it would on SIGHUP, unless `on_hangup = "detach"`."""
        if self.settings.on_hangup != "detach":
            self.orchestrator.shutdown("the TUI that started the run went away", signal.SIGHUP)

    def add_tasks(self, command: Mapping[str, Any]) -> list[str]:
        """Tasks joining the live run (the `add` command): a task file's text, or task tables,
        checked as a task file is (a ConfigError names what is wrong; nothing is added then)."""
        from oneshot_tui.config import load_run_config

        orch = self.orchestrator
        cwd = Path(str(command["cwd"])) if command.get("cwd") else None
        taken = list(orch.tasks)
        if "toml" in command:
            config = load_run_config(
                Path(str(command.get("source") or "tasks.toml")),
                task_text=str(command["toml"]),
                cwd=cwd,
                existing_names=taken,
            )
        else:
            tasks = command.get("tasks")
            if not isinstance(tasks, list) or not tasks:
                raise ConfigError("give the tasks to add")
            config = load_run_config(
                None,
                document={"run": dict(command.get("run") or {}), "task": tasks},
                source=str(command.get("source") or "<add>"),
                cwd=cwd,
                existing_names=taken,
            )
        if not config.specs:
            raise ConfigError("no tasks to add")
        for spec in config.specs:
            orch.add(spec)
        return [spec.name for spec in config.specs]

    def _otel_providers(self) -> Providers | None:
        if self._otel is not None or not self.settings.otel:
            return self._otel
        from oneshot_tui.otel.setup import providers_from_env  # OpenTelemetry only when on

        return providers_from_env()

    @asynccontextmanager
    async def _telemetry(self, providers: Providers | None) -> AsyncIterator[None]:
        if providers is None:
            yield
            return
        from oneshot_tui.otel.exporter import export_run

        orch = self.orchestrator
        tasks = orch.tasks

        def spec_of(task_id: str) -> TaskSpec | None:
            task = tasks.get(task_id)
            return task.spec if task is not None else None

        async with export_run(
            orch.bus,
            spec_of,
            providers,
            capture_output=self.settings.otel_capture_output,
            now=orch.clock.time,
        ):
            yield

    @asynccontextmanager
    async def _recording(self) -> AsyncIterator[None]:
        if self.origin is None:
            yield
            return
        from oneshot_tui.store.live_recorder import record_history, warn_on_stderr

        async with record_history(
            self.orchestrator, self.origin, warn=self._warn or warn_on_stderr
        ):
            yield


async def _when_started(orch: Orchestrator, ready: Callable[[], None]) -> None:
    await orch.started.wait()
    ready()
