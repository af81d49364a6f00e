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

from oneshot_tui.orchestrator import RunResult
from oneshot_tui.orchestrator.session import RunSession
from oneshot_tui.ui.bridge import Bridge

ExitCallback = Callable[[RunResult | None, BaseException | None], None]


class EngineThread:
    """Runs `session.run(stay_open=True)` and `bridge.run()` on a private asyncio loop."""

    def __init__(self, session: RunSession, bridge: Bridge, on_exit: ExitCallback) -> None:
        self._session = session
        self._bridge = bridge
        self._on_exit = on_exit
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
            result = await self._session.run(stay_open=True)
            tg.cancel_scope.cancel()
        return result
