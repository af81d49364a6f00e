"""A client of a live run's control socket: commands with their replies, and the run's events.

    async with await ControlClient.connect(socket) as client:
        await client.subscribe(mode="lossy")
        while True:
            events = await client.receive_batch()      # decoded: core.events objects
        reply = await client.request("interrupt", tasks=["build"])

The connection is read by one task (`run`, started by `connect`'s caller through the async
context); replies go to whoever waits for them, events to a queue that `receive_batch` drains.
The queue is bounded: past `max_pending_lines` the reader stops reading, the socket fills, and the
server (which never blocks the run on a client) drops output for us and says how much.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import anyio
from anyio.abc import SocketStream, TaskGroup
from anyio.streams.buffered import BufferedByteReceiveStream

from oneshot_tui.control.protocol import VERSION, ProtocolError, line, parse, reachable
from oneshot_tui.core.events import Event, Output
from oneshot_tui.core.wire import decode

DEFAULT_PENDING_LINES = 100_000
CONNECT_TIMEOUT = 5.0
MAX_EVENT_LINE = 256 << 20
"""The longest event line a client reads (an output tail, a batch of output)."""


class RunGone(Exception):
    """The run's process is gone: the socket refused us, or closed without the run finishing."""


class Refused(Exception):
    """The server answered a command with `ok: false`; `reply` has its `error`."""

    def __init__(self, reply: dict[str, Any]) -> None:
        self.reply = reply
        super().__init__(str(reply.get("error") or "refused"))


class ControlClient:
    def __init__(
        self,
        stream: SocketStream,
        hello: dict[str, Any],
        max_pending_lines: int = DEFAULT_PENDING_LINES,
    ) -> None:
        self._stream = stream
        self._receive = BufferedByteReceiveStream(stream)
        self.hello = hello
        """The server's greeting: protocol version, run id, pid, data and log dirs."""
        self._ids = itertools.count(1)
        self._replies: dict[int, tuple[anyio.Event, list[dict[str, Any]]]] = {}
        self._events: deque[Event] = deque()
        self._pending_lines = 0
        self._max_pending = max_pending_lines
        self._arrived = anyio.Event()
        self._room = anyio.Event()
        self._send_lock = anyio.Lock()
        self.finished = False
        """A `run_finished` event has arrived."""
        self.closed = False
        """The connection has ended (read everything there was)."""
        self.snapshot_done = anyio.Event()
        """The run's state (sent first after `subscribe`) has all arrived."""
        self._tg: TaskGroup | None = None
        self.on_raw: Callable[[bytes], Awaitable[None]] | None = None
        """If set, event lines are handed over as received, whole lines in blocks (bytes), not
        decoded and queued (`events` prints them as they come)."""

    @classmethod
    async def connect(
        cls, path: Path, *, max_pending_lines: int = DEFAULT_PENDING_LINES
    ) -> ControlClient:
        """Connect and read the server's hello; RunGone if nobody listens there."""
        try:
            with reachable(path) as address, anyio.fail_after(CONNECT_TIMEOUT):
                stream = await anyio.connect_unix(address)
        except (OSError, TimeoutError) as exc:
            raise RunGone(f"no live run listens at {path}: {exc}") from None
        receive = BufferedByteReceiveStream(stream)
        try:
            with anyio.fail_after(CONNECT_TIMEOUT):
                hello = parse(await receive.receive_until(b"\n", MAX_EVENT_LINE))
            if hello.get("hello") != "oneshot-tui" or hello.get("version") != VERSION:
                raise ProtocolError(f"not a oneshot-tui control socket of version {VERSION}")
        except BaseException as exc:
            with anyio.CancelScope(shield=True):
                await stream.aclose()
            # A reset while the run ends arrives as BrokenResourceError (ECONNRESET): gone too.
            gone = (anyio.IncompleteRead, anyio.EndOfStream, anyio.BrokenResourceError, OSError)
            if isinstance(exc, (*gone, TimeoutError)):
                raise RunGone(f"the run at {path} closed the connection: {exc!r}") from None
            raise
        client = cls(stream, hello, max_pending_lines)
        client._receive = receive
        return client

    async def __aenter__(self) -> ControlClient:
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        self._tg.start_soon(self.run)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._tg is not None
        self._tg.cancel_scope.cancel()
        try:
            await self._tg.__aexit__(exc_type, exc, tb)
        except BaseExceptionGroup as group:
            # The run went away (the body's request, the reader, or both saw it): that is one
            # RunGone for the caller to catch as itself, not a group of them.
            gone, rest = group.split(RunGone)
            if gone is None or rest is not None:
                raise
            first: BaseException = gone
            while isinstance(first, BaseExceptionGroup):
                first = first.exceptions[0]
            raise first from None
        finally:
            with anyio.CancelScope(shield=True):
                await self._stream.aclose()

    @property
    def pending_lines(self) -> int:
        """Output lines received and not yet taken."""
        return self._pending_lines

    @property
    def run_id(self) -> str:
        return str(self.hello.get("run", ""))

    # -- commands ------------------------------------------------------------------------------

    async def request(self, cmd: str, **fields: Any) -> dict[str, Any]:
        """Send a command and wait for its reply; Refused if the server said no, RunGone if the
        connection ended first."""
        reply = await self.ask(cmd, **fields)
        if not reply.get("ok"):
            raise Refused(reply)
        return reply

    async def ask(self, cmd: str, **fields: Any) -> dict[str, Any]:
        """Like `request`, but a refusal is returned, not raised."""
        if self.closed:
            raise RunGone("the run's connection is closed")
        ident = next(self._ids)
        done = anyio.Event()
        box: list[dict[str, Any]] = []
        self._replies[ident] = (done, box)
        try:
            await self.send({"cmd": cmd, "id": ident, **fields})
            await done.wait()
        finally:
            self._replies.pop(ident, None)
        if not box:
            raise RunGone("the run's connection closed before it replied")
        return box[0]

    async def send(self, obj: dict[str, Any]) -> None:
        async with self._send_lock:
            try:
                await self._stream.send(line(obj))
            except (OSError, anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
                raise RunGone(f"the run's connection is gone: {exc!r}") from None

    async def subscribe(self, *, mode: str = "lossy", owner: bool = False, tail: int = 0) -> None:
        """Ask for the run's current state, then its live events (lossy or lossless); `tail`
        lines of each task's output come with the state (0: each task's whole scrollback)."""
        await self.request(
            "subscribe", mode=mode, owner=owner, tail=tail, batch=self.on_raw is None
        )

    # -- events --------------------------------------------------------------------------------

    def take_pending(self) -> list[Event]:
        """Every event received and not yet taken (possibly none), without waiting."""
        events = list(self._events)
        self._events.clear()
        self._pending_lines = 0
        self._room.set()
        return events

    async def receive_batch(self) -> list[Event]:
        """Every event received since the last call (at least one); EndOfStream once the
        connection has ended and everything was taken."""
        while not self._events:
            if self.closed:
                raise anyio.EndOfStream
            self._arrived = anyio.Event()
            await self._arrived.wait()
        return self.take_pending()

    async def run(self) -> None:
        """Read the connection to its end."""
        try:
            while True:
                if self.on_raw is not None:
                    await self._relay(self.on_raw)
                    return
                try:
                    raw = await self._receive.receive_until(b"\n", MAX_EVENT_LINE)
                except (
                    anyio.IncompleteRead,
                    anyio.EndOfStream,
                    OSError,
                    anyio.BrokenResourceError,
                ):
                    return
                except anyio.DelimiterNotFound:
                    raise ProtocolError("the server sent a line too long to read") from None
                await self._handle(raw)
        finally:
            self.closed = True
            self.snapshot_done.set()
            for done, _ in self._replies.values():
                done.set()
            self._arrived.set()

    async def _relay(self, out: Callable[[bytes], Awaitable[None]]) -> None:
        """Hand event lines over in blocks as they arrive (whole lines, never decoded): a
        flood costs one call per read, not one per line. Replies are taken out on the way."""
        carry = b""
        while True:
            try:
                chunk = await self._receive.receive()
            except (anyio.EndOfStream, anyio.BrokenResourceError, OSError):
                return
            data = carry + chunk
            cut = data.rfind(b"\n") + 1
            block, carry = data[:cut], data[cut:]
            if len(carry) > MAX_EVENT_LINE:
                raise ProtocolError("the server sent a line too long to read")
            if not block:
                continue
            if b'{"reply"' in block:
                kept = []
                for raw in block.splitlines(keepends=True):
                    if raw.startswith(b'{"reply"'):
                        await self._handle(raw.rstrip(b"\n"))
                    else:
                        kept.append(raw)
                block = b"".join(kept)
            if b'"event":"snapshot_end"' in block:
                self.snapshot_done.set()
            if b'"event":"run_finished"' in block:
                self.finished = True
            if block:
                await out(block)

    async def _handle(self, raw: bytes) -> None:
        if raw.startswith(b'{"reply"'):
            obj = parse(raw)
            waiting = self._replies.get(obj.get("reply"))  # type: ignore[arg-type]
            if waiting is not None:
                waiting[1].append(obj)
                waiting[0].set()
            return
        if b'"event":"snapshot_end"' in raw and raw.startswith(b'{"ts"'):
            self.snapshot_done.set()
            return
        event = decode(parse(raw))
        if event is None:
            return  # from a newer server: not ours to show
        if type(event) is Output:
            self._pending_lines += event.lines
        elif event.__class__.__name__ == "RunFinished":
            self.finished = True
        self._events.append(event)
        self._arrived.set()
        while self._pending_lines > self._max_pending:
            self._room = anyio.Event()
            await self._room.wait()
