"""The one path from a run to the UI: its events, drained in batches.

Reading events as fast as they come would post a message per chunk (thousands a second in a
flood); instead the bridge takes everything queued, merges each task's consecutive output into
one event and posts one message. It sends the next only after the app has applied this one, so
at most one batch waits in the app's queue and a key press waits for one batch at most. When
the run is calm it also sleeps a frame between batches; in a flood it goes again at once, so the
UI keeps up instead of letting the server drop lines for it (and say how many it dropped).

The bridge runs on the connection's loop (see `connection.py`); the app acknowledges a batch from
its own thread, through `call_soon_threadsafe`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Protocol

import anyio

from oneshot_tui.core.coalesce import coalesce
from oneshot_tui.core.events import Event
from oneshot_tui.ui.messages import EngineEvents

DEFAULT_FRAME = 1 / 30
"""Seconds between two calm deliveries: 30 a second is smooth for text and leaves the loop free."""
FLOOD_LINES = 5_000
"""Lines waiting above which the bridge does not wait for the next frame."""


class EventSource(Protocol):
    """Where the events come from: a control-socket client."""

    @property
    def pending_lines(self) -> int: ...

    async def receive_batch(self) -> list[Event]: ...


class Bridge:
    """Drains `source` and hands each batch to `deliver` (the app's `post_message`)."""

    def __init__(
        self,
        source: EventSource,
        deliver: Callable[[EngineEvents], object],
        frame: float = DEFAULT_FRAME,
    ) -> None:
        self.source = source
        self._deliver = deliver
        self.frame = frame

    async def run(self) -> None:
        """Deliver until the source ends (or the task is cancelled)."""
        source = self.source
        loop = asyncio.get_running_loop()
        while True:
            try:
                events = await source.receive_batch()
            except anyio.EndOfStream:
                return
            handled = anyio.Event()

            def ack(handled: anyio.Event = handled) -> None:
                # RuntimeError: the connection's loop has closed, nobody waits any more.
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(handled.set)

            self._deliver(EngineEvents(list(coalesce(events)), ack))
            await handled.wait()
            if source.pending_lines < FLOOD_LINES:
                await anyio.sleep(self.frame)
