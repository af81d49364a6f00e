"""The event bus: one publisher side, any number of subscribers, each with its own bounded queue.

Delivery rules:
- Every event except `Output` reaches every subscriber, in publish order.
- A subscriber that falls behind on output (20,000 lines or 16 Mi characters queued) loses its
  oldest `Output` events, never a state, exit or run event; the next event it receives for that
  task is preceded by (or carries) `Output.missed`, the number of lines it lost. The full
  output is always in the task's log file.
- A *lossless* subscriber (the headless printer) never loses output. Instead a runner whose task
  has too much output waiting in it (1 MiB of text by default) pauses before reading more
  (`wait_for_room`), the way a pipe pushes back on its writer. Other tasks are not held up.
- `LiveLines` (what a task is drawing now) replace each other: a subscriber holds at most one per
  task, the latest, where the first not yet received was queued.
- `publish` never blocks: the runners call it from their read loops.
"""

from __future__ import annotations

from collections import deque
from dataclasses import replace

import anyio

from oneshot_tui.core.events import Event, LiveLines, Output, RunFinished

DEFAULT_MAX_PENDING_LINES = 20_000
DEFAULT_MAX_PENDING_CHARS = 16 << 20
"""A lossy subscriber's output queue is bounded in characters too: 20,000 lines of 64 KiB (a
progress loop that never ends its line) would be over a gigabyte."""
DEFAULT_LOSSLESS_TASK_CHARS = 1 << 20


class Subscription:
    """One subscriber's queue. Receive with `receive_batch()` or `async for event in sub`."""

    def __init__(
        self,
        bus: EventBus,
        name: str,
        lossless: bool,
        max_pending_lines: int,
        output: bool = True,
        acked: bool = False,
    ) -> None:
        self.name = name
        self.lossless = lossless
        self.acked = acked
        """Lossless, and a task's output holds its room until `ack`ed, not until received: the
        headless printer acknowledges lines once stdout took them, so lines that wait in its
        writer still hold their task back while its transitions go on."""
        self.output = output
        """False: this subscriber never sees `Output` (nor what it missed of it)."""
        self._bus = bus
        self._max = max_pending_lines
        self.max_pending_chars = bus._max_pending_chars
        """Characters of output this (lossy) subscriber may hold; settable."""
        self._pending_chars = 0
        self._queue: deque[Event] = deque()
        self._pending_lines = 0
        self._task_chars: dict[str, int] = {}
        self._missed: dict[str, tuple[int, int]] = {}
        self._waiter: anyio.Event | None = None
        self._closed = False
        self._iter_buffer: deque[Event] = deque()
        self._live: dict[str, LiveLines] = {}
        """The latest live lines per task not yet received (the queue holds the first)."""

    @property
    def pending_lines(self) -> int:
        return self._pending_lines

    def task_backlog(self, task_id: str) -> int:
        """Characters of this task's output waiting in a lossless queue."""
        return self._task_chars.get(task_id, 0)

    # -- the publisher's side -------------------------------------------------------------------

    def _offer(self, event: Event) -> None:
        if self._closed:
            return
        if type(event) is Output:
            if not self.output:
                return
            if self.lossless:
                chars = self._task_chars
                chars[event.task_id] = chars.get(event.task_id, 0) + len(event.text)
            elif self._over(event.lines, len(event.text)):
                self._shed()
                if self._over(event.lines, len(event.text)):
                    self._note_missed(event.task_id, event.attempt, event.lines)
                    return
            self._pending_lines += event.lines
            self._pending_chars += len(event.text)
        elif type(event) is LiveLines:
            if not self.output:
                return
            queued = event.task_id in self._live
            self._live[event.task_id] = event
            if queued:
                return
        self._queue.append(event)
        if self._waiter is not None:
            self._waiter.set()

    def _over(self, lines: int, chars: int) -> bool:
        """More output would be queued than this subscriber may hold (in lines or characters)."""
        if self._pending_lines + lines > self._max:
            return True
        return self._pending_chars + chars > self.max_pending_chars and self._pending_chars > 0

    def _shed(self) -> None:
        """Drop the oldest output until half the budget is free (so shedding is rare)."""
        target = self._max // 2
        target_chars = self.max_pending_chars // 2
        kept: deque[Event] = deque()
        for event in self._queue:
            if type(event) is Output and (
                self._pending_lines > target or self._pending_chars > target_chars
            ):
                self._pending_chars -= len(event.text)
                self._pending_lines -= event.lines
                self._note_missed(event.task_id, event.attempt, event.lines)
            else:
                kept.append(event)
        self._queue = kept

    def _note_missed(self, task_id: str, attempt: int, lines: int) -> None:
        _, before = self._missed.get(task_id, (attempt, 0))
        self._missed[task_id] = (attempt, before + lines)

    def _end(self) -> None:
        self._closed = True
        if self._waiter is not None:
            self._waiter.set()

    # -- the subscriber's side ------------------------------------------------------------------

    async def receive_batch(self, max_items: int = 4096) -> list[Event]:
        """Wait for at least one event and return all that are queued (up to `max_items`).

        Raises `anyio.EndOfStream` once the bus is closed and everything has been received.
        """
        while not self._queue:
            if self._closed:
                raise anyio.EndOfStream
            self._waiter = anyio.Event()
            try:
                await self._waiter.wait()
            finally:
                self._waiter = None
        return self._take(max_items)

    def receive_nowait(self, max_items: int = 4096) -> list[Event]:
        """Whatever is queued now, possibly nothing."""
        return self._take(max_items)

    def _take(self, max_items: int) -> list[Event]:
        out: list[Event] = []
        queue = self._queue
        while queue and len(out) < max_items:
            event = queue.popleft()
            if type(event) is Output:
                self._pending_chars -= len(event.text)
                self._pending_lines -= event.lines
                if self.lossless and not self.acked:
                    self._task_chars[event.task_id] -= len(event.text)
            elif type(event) is LiveLines:
                event = self._live.pop(event.task_id, event)
            if self._missed:
                event = self._attach_missed(event, out)
            out.append(event)
        if self.lossless and out and not self.acked:
            self._bus._room_freed()
        return out

    def ack(self, chars: dict[str, int]) -> None:
        """An `acked` subscriber is done with this many characters of each task's output."""
        for task_id, count in chars.items():
            self._task_chars[task_id] -= count
        self._bus._room_freed()

    def _attach_missed(self, event: Event, out: list[Event]) -> Event:
        if isinstance(event, RunFinished):
            for lost_id, (attempt, count) in self._missed.items():
                out.append(Output(lost_id, attempt, "", "", 0, event.ts, missed=count))
            self._missed.clear()
            return event
        task_id: str | None = getattr(event, "task_id", None)
        if task_id is None or task_id not in self._missed:
            return event
        attempt, count = self._missed.pop(task_id)
        if type(event) is Output:
            return replace(event, missed=event.missed + count)
        out.append(Output(task_id, attempt, "", "", 0, getattr(event, "ts", 0.0), missed=count))
        return event

    def close(self) -> None:
        """Stop receiving; the bus forgets this subscriber."""
        self._bus._unsubscribe(self)
        self._end()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        if not self._iter_buffer:
            try:
                self._iter_buffer.extend(await self.receive_batch())
            except anyio.EndOfStream:
                raise StopAsyncIteration from None
        return self._iter_buffer.popleft()


class EventBus:
    """Fan-out of engine events to every subscriber."""

    def __init__(
        self,
        max_pending_lines: int = DEFAULT_MAX_PENDING_LINES,
        lossless_task_chars: int = DEFAULT_LOSSLESS_TASK_CHARS,
        max_pending_chars: int = DEFAULT_MAX_PENDING_CHARS,
    ) -> None:
        self._default_max = max_pending_lines
        self._max_pending_chars = max_pending_chars
        self._lossless_task_chars = lossless_task_chars
        self._subs: list[Subscription] = []
        self._lossless: list[Subscription] = []
        self._room: anyio.Event | None = None
        self._closed = False

    def subscribe(
        self,
        name: str = "",
        *,
        lossless: bool = False,
        max_pending_lines: int | None = None,
        output: bool = True,
        acked: bool = False,
    ) -> Subscription:
        """A new subscriber's queue; `output=False` for one that never wants task output;
        `acked` (lossless only) for one that says when it is done with output (`ack`)."""
        sub = Subscription(
            self, name, lossless, max_pending_lines or self._default_max, output, lossless and acked
        )
        if self._closed:
            sub._end()
            return sub
        self._subs.append(sub)
        if lossless:
            self._lossless.append(sub)
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)
        if sub in self._lossless:
            self._lossless.remove(sub)
            self._room_freed()

    def publish(self, event: Event) -> None:
        for sub in self._subs:
            sub._offer(event)

    def needs_room(self, task_id: str) -> bool:
        """True when a lossless subscriber holds too much of this task's output."""
        limit = self._lossless_task_chars
        return any(sub.task_backlog(task_id) > limit for sub in self._lossless)

    async def wait_for_room(self, task_id: str) -> None:
        """Wait until every lossless subscriber has caught up with this task's output."""
        while self.needs_room(task_id):
            if self._room is None:
                self._room = anyio.Event()
            await self._room.wait()

    def _room_freed(self) -> None:
        if self._room is not None:
            self._room.set()
            self._room = None

    def close(self) -> None:
        """No more events: each subscriber ends after receiving what is queued."""
        self._closed = True
        for sub in list(self._subs):
            sub._end()
        self._subs.clear()
        self._lossless.clear()
        self._room_freed()
