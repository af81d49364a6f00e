"""The engine on a thread of its own: its own event loop, running the orchestrator and the bridge.

Why a thread: on one loop the UI and the engine take turns, and in an output flood the readers of
20 tasks filled every turn; a key waited up to 250 ms (bench/tui_flood.py). On its own loop the
engine is preempted by the interpreter every few milliseconds (the GIL switch interval), so keys
and repaints stay quick whatever the tasks print.

The UI reaches the engine only through `call` (the function runs soon on the engine's loop, and
its effects come back as events); the engine reaches the UI only through messages posted by the
bridge (`App.post_message` is thread-safe).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import Any

import anyio

from oneshot_tui.orchestrator import Orchestrator, RunResult
from oneshot_tui.store.history_data import RunOrigin
from oneshot_tui.store.live_recorder import record_history, warn_on_stderr
from oneshot_tui.ui.bridge import Bridge

ExitCallback = Callable[[RunResult | None, BaseException | None], None]


class EngineThread:
    """Runs `orch.run(stay_open=True)` and `bridge.run()` on a private asyncio loop."""

    def __init__(
        self,
        orch: Orchestrator,
        bridge: Bridge,
        on_exit: ExitCallback,
        *,
        origin: RunOrigin | None = None,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self._orch = orch
        self._bridge = bridge
        self._on_exit = on_exit
        self._origin = origin
        """How the run was started; given, the run is recorded in the history."""
        self._warn = warn
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="oneshot-engine", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end; True if it has."""
        if self._thread.ident is not None:
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def call(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run `fn(*args)` on the engine's loop, soon; ignored once the engine has stopped."""
        loop = self._loop
        if loop is None:
            return
        # RuntimeError: the loop is closed, the run is over and there is nothing left to command.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(fn, *args)

    def _main(self) -> None:
        try:
            result = asyncio.run(self._run())
        except BaseException as exc:  # reported to the UI, which shows it and exits
            self._ready.set()
            self._on_exit(None, exc)
        else:
            self._on_exit(result, None)

    async def _run(self) -> RunResult:
        self._loop = asyncio.get_running_loop()
        self._ready.set()
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._bridge.run)
            if self._origin is None:
                result = await self._orch.run(stay_open=True)
            else:
                warn = self._warn or warn_on_stderr
                async with record_history(self._orch, self._origin, warn=warn):
                    result = await self._orch.run(stay_open=True)
            tg.cancel_scope.cancel()
        return result
