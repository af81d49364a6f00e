"""The one path from the engine to the UI: a bus subscription, drained in batches.

Reading the bus as fast as it fills would post a message per chunk (thousands a second in a
flood); instead the bridge takes everything queued, merges each task's consecutive output into
one event and posts one message. It sends the next only after the app has applied this one, so
at most one batch waits in the app's queue and a key press waits for one batch at most. When
the bus is calm it also sleeps a frame between batches; in a flood it goes again at once, so the
UI keeps up with the engine instead of letting the bus drop lines for it.

The bridge runs on the engine's loop (see `engine.py`); the app acknowledges a batch from its
own thread, through `call_soon_threadsafe`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import anyio

from oneshot_tui.core.bus import Subscription
from oneshot_tui.core.coalesce import coalesce
from oneshot_tui.core.events import Event, Output, TaskExited
from oneshot_tui.ui.messages import EngineEvents, TaskTail, UiEvent

DEFAULT_FRAME = 1 / 30
"""Seconds between two calm deliveries: 30 a second is smooth for text and leaves the loop free."""
FLOOD_LINES = 5_000
"""Lines waiting on the bus above which the bridge does not wait for the next frame."""

TailReader = Callable[[str, int], list[str] | None]
"""(task id, attempt) -> the task's last lines, if that attempt is still its latest and ended."""


class Bridge:
    """Drains `subscription` and hands each batch to `deliver` (the app's `post_message`)."""

    def __init__(
        self,
        subscription: Subscription,
        deliver: Callable[[EngineEvents], object],
        frame: float = DEFAULT_FRAME,
        tails: TailReader | None = None,
    ) -> None:
        self.subscription = subscription
        self._deliver = deliver
        self.frame = frame
        self._tails = tails
        self._gaps: set[tuple[str, int]] = set()
        """(task, attempt) that lost output on the way: their ending is re-read when they end."""

    async def run(self) -> None:
        """Deliver until the bus closes (or the task is cancelled)."""
        sub = self.subscription
        loop = asyncio.get_running_loop()
        while True:
            try:
                events = await sub.receive_batch(max_items=1_000_000)
            except anyio.EndOfStream:
                return
            handled = anyio.Event()

            def ack(handled: anyio.Event = handled) -> None:
                # RuntimeError: the engine's loop has closed, nobody waits any more.
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(handled.set)

            self._deliver(EngineEvents(self._with_tails(coalesce(events)), ack))
            await handled.wait()
            if sub.pending_lines < FLOOD_LINES:
                await anyio.sleep(self.frame)

    def _with_tails(self, events: list[Event]) -> list[UiEvent]:
        if self._tails is None:
            return list(events)
        out: list[UiEvent] = []
        for event in events:
            out.append(event)
            if type(event) is Output and event.missed:
                self._gaps.add((event.task_id, event.attempt))
            elif isinstance(event, TaskExited) and (event.task_id, event.attempt) in self._gaps:
                self._gaps.discard((event.task_id, event.attempt))
                lines = self._tails(event.task_id, event.attempt)
                if lines is not None:
                    out.append(TaskTail(event.task_id, event.attempt, lines))
        return out
