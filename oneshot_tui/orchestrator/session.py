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
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from oneshot_tui.core.bus import EventBus
from oneshot_tui.core.clock import Clock
from oneshot_tui.core.spec import RunSettings, TaskSpec
from oneshot_tui.orchestrator.backends import open_backend
from oneshot_tui.orchestrator.body import BodyFactory
from oneshot_tui.orchestrator.dispatch import default_body
from oneshot_tui.orchestrator.orchestrator import Orchestrator, RunResult
from oneshot_tui.runner.backend import LocalBackend
from oneshot_tui.store.run_origin import RunOrigin

Warn = Callable[[str], None]

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
    ) -> None:
        self.settings = settings or RunSettings()
        self.origin = origin
        """How the run was started; given, the run is recorded in the history."""
        self._warn = warn
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

    async def run(self, *, stay_open: bool = False, handle_signals: bool = False) -> RunResult:
        """Open the backend, record the run (with an origin) and run every task to its end.

        Raises BackendError (a UsageError) before anything starts if the backend cannot be had.
        `stay_open` and `handle_signals` are the orchestrator's (see `Orchestrator.run`).
        """
        _freeze_what_lives_long()
        orch = self.orchestrator
        async with open_backend(self.settings) as backend, self._recording():
            orch.backend = backend
            return await orch.run(stay_open=stay_open, handle_signals=handle_signals)

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
