"""The TUI's link to a live run: a control-socket client on a thread of its own.

Why a thread: reading and decoding an output flood on the UI's loop would take turns with keys
and repaints (on one loop a key waited up to 250 ms, bench/tui_flood.py); on a loop of its own the
work is preempted every few milliseconds (the GIL's switch interval), so keys stay quick.

Events come back to the app as `EngineEvents` messages (one batch at a time, see `bridge.py`);
commands go out with `command` (fire and forget: a refusal comes back as `CommandRefused`, the
effects as events). When the connection ends the app gets `ConnectionEnded`. The app never holds
an orchestrator: a local run and an attached one are the same to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.message import Message

from oneshot_tui.control.client import ControlClient, RunGone
from oneshot_tui.core.events import Event
from oneshot_tui.ui.bridge import DEFAULT_FRAME, Bridge
from oneshot_tui.ui.messages import CommandRefused, ConnectionEnded, Detached


class RunConnection:
    def __init__(
        self,
        socket: Path,
        post: Callable[[Message], object],
        *,
        owner: bool,
        frame: float = DEFAULT_FRAME,
    ) -> None:
        self.socket = socket
        self._post = post
        self.owner = owner
        """The TUI that started the run: if it goes away without detaching, the run stops."""
        self._frame = frame
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: ControlClient | None = None
        self.hello: dict[str, Any] = {}
        self._ready = threading.Event()
        self._sending: set[asyncio.Future[None]] = set()
        self._initial: list[Event] = []
        self._go: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, name="oneshot-connection", daemon=True)

    def start(self) -> list[Event]:
        """Connect and subscribe; return the run's state as it is now (the events that made
        it), once it has all arrived, or nothing if that failed (then `ConnectionEnded`
        follows). Live events follow as `EngineEvents`."""
        self._thread.start()
        self._ready.wait()
        initial, self._initial = self._initial, []
        return initial

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float | None = None) -> bool:
        if self._thread.ident is not None:
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def command(self, cmd: str, **fields: Any) -> None:
        """Send a command, soon; ignored once the connection has ended."""
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop has closed: nothing left to command
            loop.call_soon_threadsafe(self._spawn, cmd, fields)

    def go(self) -> None:
        """Start delivering live events (the app has shown the state `start` returned)."""
        loop, go = self._loop, self._go
        if loop is not None and go is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(go.set)

    def hang_up(self, reason: str) -> None:
        """The terminal went away (SIGHUP): stop the run, or, if it detaches on hangup, leave
        it going on (then the app gets `ConnectionEnded` as after `detach`)."""
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._spawn_hang_up, reason)

    def _spawn_hang_up(self, reason: str) -> None:
        self._keep(asyncio.ensure_future(self._hang_up(reason)))

    async def _hang_up(self, reason: str) -> None:
        client = self._client
        if client is None:
            return
        try:
            reply = await client.ask("stop", reason=reason, signal=1, hangup=True)
        except RunGone:
            return
        if reply.get("detached"):
            self._post(Detached())
            self._cancel()

    def detach(self) -> None:
        """Tell the run we leave it going on, then close (the app gets `ConnectionEnded`)."""
        loop = self._loop
        if loop is None:
            self._post(ConnectionEnded(False))
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._spawn_detach)

    def _spawn_detach(self) -> None:
        self._keep(asyncio.ensure_future(self._detach()))

    async def _detach(self) -> None:
        client = self._client
        if client is not None:
            with contextlib.suppress(RunGone):
                if (await client.ask("detach")).get("ok"):
                    self._post(Detached())
        self._cancel()

    def close(self) -> None:
        """Leave: the connection closes (for the owner, without `detach`, the run stops)."""
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._cancel)

    def _spawn(self, cmd: str, fields: dict[str, Any]) -> None:
        self._keep(asyncio.ensure_future(self._send(cmd, fields)))

    def _keep(self, task: asyncio.Future[None]) -> None:
        """Hold a reference until the task is done (asyncio keeps only weak ones)."""
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, cmd: str, fields: dict[str, Any]) -> None:
        client = self._client
        if client is None:
            return
        try:
            reply = await client.ask(cmd, **fields)
        except RunGone:
            return
        if not reply.get("ok"):
            self._post(CommandRefused(cmd, str(reply.get("error") or "refused")))

    def _cancel(self) -> None:
        for task in asyncio.all_tasks():
            task.cancel()

    def _main(self) -> None:
        try:
            asyncio.run(self._run())
        except (asyncio.CancelledError, KeyboardInterrupt):
            pass
        finally:
            self._ready.set()

    async def _run(self) -> None:
        self._loop = asyncio.get_running_loop()
        error = ""
        finished = False
        try:
            client = await ControlClient.connect(self.socket)
            self.hello = client.hello
            async with client:
                self._client = client
                await client.subscribe(mode="lossy", owner=self.owner)
                await client.snapshot_done.wait()
                self._initial = client.take_pending()
                self._go = asyncio.Event()
                self._ready.set()
                await self._go.wait()
                await Bridge(client, self._post, self._frame).run()
                finished = client.finished
        except RunGone as exc:
            error = str(exc)
        except Exception as exc:  # shown by the app, which exits
            error = f"{type(exc).__name__}: {exc}"
        finally:
            self._client = None
            self._ready.set()
            self._post(ConnectionEnded(finished, error))
