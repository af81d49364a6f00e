"""The one path from the engine to the UI: a bus subscription, drained once per frame.

Reading the bus as fast as it fills would post a message per chunk (thousands a second in a
flood); instead the bridge takes everything queued, merges each task's consecutive output into
one event, posts one message, and sleeps for a frame. Keys and repaints get the loop in between.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import anyio

from oneshot_tui.core.bus import Subscription
from oneshot_tui.core.events import Event, Output
from oneshot_tui.ui.messages import EngineEvents

DEFAULT_FRAME = 1 / 30
"""Seconds between two deliveries: 30 a second is smooth for text and leaves the loop free."""


def coalesce(events: list[Event]) -> list[Event]:
    """Merge runs of `Output` of one task and attempt, keeping each task's order of events.

    Output of task A may be merged across events of task B (their relative order does not
    matter), but never across an event of task A itself, nor across a gap (`missed`).
    """
    out: list[Event] = []
    open_output: dict[str, int] = {}
    """task id -> index in `out` of the Output still accepting lines."""
    pieces: dict[int, list[str]] = {}
    for event in events:
        task_id: str | None = getattr(event, "task_id", None)
        if type(event) is Output:
            at = open_output.get(event.task_id)
            if at is not None and not event.missed and event.lines:
                first = out[at]
                assert type(first) is Output
                if first.attempt == event.attempt and first.stream == event.stream:
                    pieces.setdefault(at, [first.text]).append(event.text)
                    out[at] = replace(first, lines=first.lines + event.lines, ts=event.ts)
                    continue
            open_output[event.task_id] = len(out)
            out.append(event)
        else:
            if task_id is not None:
                open_output.pop(task_id, None)
            out.append(event)
    for at, texts in pieces.items():
        merged = out[at]
        assert type(merged) is Output
        out[at] = replace(merged, text="\n".join(texts))
    return out


class Bridge:
    """Drains `subscription` and hands each frame's events to `deliver` (the app's post)."""

    def __init__(
        self,
        subscription: Subscription,
        deliver: Callable[[EngineEvents], object],
        frame: float = DEFAULT_FRAME,
    ) -> None:
        self.subscription = subscription
        self._deliver = deliver
        self.frame = frame

    async def run(self) -> None:
        """Deliver until the bus closes (or the task is cancelled)."""
        sub = self.subscription
        while True:
            try:
                events = await sub.receive_batch(max_items=1_000_000)
            except anyio.EndOfStream:
                return
            self._deliver(EngineEvents(coalesce(events)))
            await anyio.sleep(self.frame)
