"""A live run's control socket: events out, commands in (the protocol is docs/protocol.md).

Every run served by its `RunSession` listens on `RUN_DIR/control.sock` (0600 in the 0700 data
dir; a peer of another uid is refused, checked with SO_PEERCRED). Each client gets a task that
reads its commands and one that writes to it; nothing a client does can stall the run:

- events reach a client through a bus subscription of its own: lossy (output it is too slow for
  is dropped and counted, and a task that ended with lines missing is followed by its true last
  lines) or lossless (back-pressure on the tasks whose lines wait, like the headless printer);
- a client whose socket accepts nothing for `STALL_TIMEOUT` is dropped, lossless or not;
- a line longer than `MAX_LINE`, or more than `MAX_BAD` lines that are not commands, gets an
  error reply and the client is dropped; anything else wrong gets an error reply;
- commands are the orchestrator's own (they return at once; their effects come as events).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import struct
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import SocketAttribute, SocketStream, TaskGroup, TaskStatus
from anyio.streams.buffered import BufferedByteReceiveStream

from oneshot_tui.control.protocol import (
    MAX_LINE,
    VERSION,
    ProtocolError,
    line,
    parse,
    reachable,
)
from oneshot_tui.core.bus import Subscription
from oneshot_tui.core.coalesce import coalesce
from oneshot_tui.core.events import Event, Output, OutputTail, TaskExited
from oneshot_tui.core.exit_codes import UsageError
from oneshot_tui.core.wire import WireEncoder, totals_json
from oneshot_tui.orchestrator.journal import RunJournal
from oneshot_tui.orchestrator.orchestrator import Orchestrator

log = logging.getLogger(__name__)

STALL_TIMEOUT = 30.0
"""Seconds a client's socket may accept nothing before the client is dropped."""
MAX_BAD = 100
CLIENT_PENDING_LINES = 50_000
"""Output lines a lossy client's subscription holds before it drops the oldest."""
BATCH_EVENTS = 16
"""Events a client's writer takes at a time: what waits for a slow client waits in its
subscription, where a lossy one drops the oldest output, not in the writer's hands."""
FLUSH_TIMEOUT = 5.0
"""Seconds the server waits, once the run has ended, for clients to take their last events."""

AddTasks = Callable[[dict[str, Any]], list[str]]
"""Validates an `add` command's tasks and adds them; returns their names (raises UsageError)."""


class _Client:
    def __init__(self, number: int, stream: SocketStream) -> None:
        self.number = number
        self.stream = stream
        self.lock = anyio.Lock()
        self.subscription: Subscription | None = None
        self.encoder: WireEncoder | None = None
        self.backlog: list[Event] = []
        """The snapshot, sent before the subscription's events."""
        self.ready = anyio.Event()
        self.owner = False
        self.detached = False
        self.gaps: set[tuple[str, int]] = set()

    async def send(self, data: bytes) -> None:
        async with self.lock:
            with anyio.fail_after(STALL_TIMEOUT):
                await self.stream.send(data)


class ControlServer:
    """Serves one run's control socket while the run goes on."""

    def __init__(
        self,
        orch: Orchestrator,
        path: Path,
        *,
        add_tasks: AddTasks | None = None,
        on_owner_lost: Callable[[], None] | None = None,
    ) -> None:
        self.orch = orch
        self.path = path
        self.journal = RunJournal(orch.bus)
        self._add_tasks = add_tasks
        self._on_owner_lost = on_owner_lost
        self._clients: dict[int, _Client] = {}
        self._numbers = 0
        self._tg: TaskGroup | None = None
        self._ending = False
        self.owner_joined = anyio.Event()
        """The run's owner (the TUI that started it) has subscribed."""

    @property
    def clients(self) -> int:
        return len(self._clients)

    async def serve(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Listen until cancelled (`finish` first, to let clients take their last events)."""
        with reachable(self.path) as address:
            listener = await anyio.create_unix_listener(address, mode=0o600)
        try:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                tg.start_soon(self.journal.run)
                task_status.started()
                while True:
                    stream = await listener.accept()
                    tg.start_soon(self._serve_client, stream)
        finally:
            with anyio.CancelScope(shield=True):
                await listener.aclose()
                self.path.unlink(missing_ok=True)

    async def finish(self) -> None:
        """The run has ended: let every subscribed client take what is queued (up to
        FLUSH_TIMEOUT), then stop listening."""
        self._ending = True
        self.journal.close()
        for client in self._clients.values():
            if client.subscription is not None:
                client.subscription.close()
        with anyio.move_on_after(FLUSH_TIMEOUT):
            while any(c.subscription is not None for c in self._clients.values()):
                await anyio.sleep(0.02)

    # -- one client ----------------------------------------------------------------------------

    async def _serve_client(self, stream: SocketStream) -> None:
        self._numbers += 1
        client = _Client(self._numbers, stream)
        try:
            if not _same_user(stream):
                return
            self._clients[client.number] = client
            await client.send(line(self._hello()))
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._write_events, client)
                await self._read_commands(client)
                tg.cancel_scope.cancel()
        except* (OSError, anyio.BrokenResourceError, anyio.ClosedResourceError, TimeoutError):
            pass  # the client went away (or stopped reading): it is dropped, the run goes on
        except* Exception:  # a bug with one client must not take the run down
            log.exception("control client %d failed", client.number)
        finally:
            self._clients.pop(client.number, None)
            if client.subscription is not None:
                client.subscription.close()
                client.subscription = None
            with anyio.CancelScope(shield=True):
                await stream.aclose()
            lost = client.owner and not client.detached and not self._ending
            if lost and self._on_owner_lost is not None:
                self._on_owner_lost()

    def _hello(self) -> dict[str, Any]:
        orch = self.orch
        return {
            "hello": "oneshot-tui",
            "version": VERSION,
            "run": orch.run_id,
            "pid": os.getpid(),
            "data_dir": str(orch.data_dir),
            "log_dir": str(orch.log_dir),
            "notify": None if orch.settings.notify is None else list(orch.settings.notify),
            # a TUI rings its own terminal as the run's notify setting says (None: the default)
        }

    async def _read_commands(self, client: _Client) -> None:
        receive = BufferedByteReceiveStream(client.stream)
        bad = 0
        while True:
            try:
                raw = await receive.receive_until(b"\n", MAX_LINE)
            except anyio.DelimiterNotFound:
                await client.send(line(_error(None, f"a line longer than {MAX_LINE} bytes")))
                return
            except (anyio.IncompleteRead, anyio.EndOfStream):
                return
            try:
                command = parse(raw)
                reply = self._command(client, command)
            except ProtocolError as exc:
                bad += 1
                await client.send(line(_error(None, str(exc))))
                if bad > MAX_BAD:
                    return
                continue
            await client.send(line(reply))

    def _command(self, client: _Client, command: Mapping[str, Any]) -> dict[str, Any]:
        ident = command.get("id")
        cmd = command.get("cmd")
        handler = _COMMANDS.get(str(cmd))
        if handler is None:
            return _error(ident, f"unknown command {cmd!r}")
        try:
            result = handler(self, client, command)
        except UsageError as exc:
            return {**_error(ident, str(exc)), "usage": True}
        except (KeyError, TypeError, ValueError) as exc:
            return _error(ident, f"bad {cmd!r} command: {type(exc).__name__}: {exc}")
        return {"reply": ident, **result}

    async def _write_events(self, client: _Client) -> None:
        await client.ready.wait()
        sub, encoder = client.subscription, client.encoder
        assert sub is not None and encoder is not None
        # A lossless client holds back-pressure on the tasks instead: what waits for it is
        # bounded already, so it may take all at once.
        batch = 4096 if sub.lossless else BATCH_EVENTS
        end = {"ts": self.orch.clock.time(), "run": self.orch.run_id, "task": None}
        await client.send(_lines(encoder, client.backlog) + line({**end, "event": "snapshot_end"}))
        client.backlog = []
        while True:
            try:
                events = await sub.receive_batch(max_items=batch)
            except anyio.EndOfStream:
                client.subscription = None
                return
            await client.send(_lines(encoder, self._with_tails(client, coalesce(events))))

    def _with_tails(self, client: _Client, events: list[Event]) -> list[Event]:
        """After a task that lost lines on the way ends, its true last lines (what it keeps)."""
        out: list[Event] = []
        for event in events:
            out.append(event)
            if type(event) is Output and event.missed:
                client.gaps.add((event.task_id, event.attempt))
            elif isinstance(event, TaskExited) and (event.task_id, event.attempt) in client.gaps:
                client.gaps.discard((event.task_id, event.attempt))
                task = self.orch.tasks.get(event.task_id)
                if task is not None and task.attempt == event.attempt:
                    lines = tuple(task.view.lines())
                    out.append(OutputTail(event.task_id, event.attempt, event.ts, lines))
        return out

    # -- commands ------------------------------------------------------------------------------

    def _subscribe(self, client: _Client, command: Mapping[str, Any]) -> dict[str, Any]:
        if client.subscription is not None:
            raise UsageError("already subscribed")
        lossless = command.get("mode", "lossy") == "lossless"
        # Subscribe and take the snapshot in one step (no await between): the snapshot is the
        # run up to now, the subscription everything after.
        sub = self.orch.bus.subscribe(
            f"client {client.number}", lossless=lossless, max_pending_lines=CLIENT_PENDING_LINES
        )
        tail = int(command.get("tail") or 0)
        client.backlog = self.journal.snapshot(self.orch.tasks, self.orch.clock, tail)
        client.subscription = sub
        client.encoder = WireEncoder(self.orch.run_id, batch=bool(command.get("batch")))
        client.owner = bool(command.get("owner"))
        if client.owner:
            self.owner_joined.set()
        client.ready.set()
        return {"ok": True, "clients": self.clients}

    def _status(self, client: _Client, command: Mapping[str, Any]) -> dict[str, Any]:
        orch = self.orch
        counts = {str(state): n for state, n in orch.counts().items()}
        tasks = [
            {
                "task": t.id,
                "state": str(t.state),
                "attempt": t.attempt,
                "exit_code": t.exit_status.exit_code if t.exit_status else None,
                "reason": t.reason,
            }
            for t in orch.tasks.values()
        ]
        return {
            "ok": True,
            "run": orch.run_id,
            "pid": os.getpid(),
            "counts": counts,
            "clients": self.clients,
            "stopping": orch.stopping,
            "tasks": tasks,
        }

    def _task_command(
        self, action: Callable[[str], bool], command: Mapping[str, Any]
    ) -> dict[str, Any]:
        names = command.get("tasks")
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise UsageError("give the tasks as a list of names")
        unknown = [n for n in names if n not in self.orch.tasks]
        if unknown:
            return {"ok": False, "error": f"no task {unknown[0]!r} in this run", "unknown": unknown}
        done, refused = [], {}
        for name in names:
            if action(name):
                done.append(name)
            else:
                refused[name] = f"{name} is {self.orch.tasks[name].state}"
        if refused:
            return {
                "ok": False,
                "error": "; ".join(refused.values()),
                "done": done,
                "refused": refused,
            }
        return {"ok": True, "done": done}

    def _interrupt(self, client: _Client, command: Mapping[str, Any]) -> dict[str, Any]:
        if command.get("idle"):
            return {"ok": True, "count": self.orch.interrupt_idle()}
        return self._task_command(self.orch.interrupt, command)

    def _kill(self, client: _Client, command: Mapping[str, Any]) -> dict[str, Any]:
        return self._task_command(self.orch.kill, command)

    def _restart(self, client: _Client, command: Mapping[str, Any]) -> dict[str, Any]:
        return self._task_command(self.orch.restart, command)

    def _continue(self, client: _Client, command: Mapping[str, Any]) -> dict[str, Any]:
        return self._task_command(self.orch.continue_task, command)

    def _stop(self, client: _Client, command: Mapping[str, Any]) -> dict[str, Any]:
        orch = self.orch
        reason = str(command.get("reason") or "stopped by a client")
        if command.get("now"):
            orch.kill_all(reason)
            return {"ok": True}
        signum = command.get("signal")
        if signum is not None and int(signum) not in tuple(signal.Signals):
            raise UsageError(f"no signal {signum}")
        if command.get("hangup") and orch.settings.on_hangup == "detach":
            client.detached = True  # the TUI lost its terminal: the run goes on without it
            return {"ok": True, "detached": True}
        orch.shutdown(reason, None if signum is None else int(signum))
        return {"ok": True}

    def _add(self, client: _Client, command: Mapping[str, Any]) -> dict[str, Any]:
        if self._add_tasks is None:
            raise UsageError("this run takes no new tasks")
        if self.orch.stopping:
            return {"ok": False, "error": "the run is stopping: it takes no new tasks"}
        return {"ok": True, "added": self._add_tasks(dict(command))}

    def _send(self, client: _Client, command: Mapping[str, Any]) -> dict[str, Any]:
        name, text = str(command.get("task")), command.get("text")
        if not isinstance(text, str):
            raise UsageError("give the message as text")
        if name not in self.orch.tasks:
            return {"ok": False, "error": f"no task {name!r} in this run", "unknown": [name]}
        why = self.orch.send_message(name, text, now=bool(command.get("now")))
        if why is not None:
            return {"ok": False, "error": why}
        return {"ok": True, "queued": True}

    def _seen(self, client: _Client, command: Mapping[str, Any]) -> dict[str, Any]:
        """The user looked at these tasks: their attention marks clear (none had one: still ok)."""
        return self._task_command(lambda name: self.orch.seen(name) or True, command)

    def _input(self, client: _Client, command: Mapping[str, Any]) -> dict[str, Any]:
        name, text = str(command.get("task")), command.get("text")
        if not isinstance(text, str):
            raise UsageError("give the input as text")
        if name not in self.orch.tasks:
            return {"ok": False, "error": f"no task {name!r} in this run", "unknown": [name]}
        why = self.orch.type_input(name, text.encode("utf-8", "surrogateescape"))
        return {"ok": True} if why is None else {"ok": False, "error": why}

    def _resize(self, client: _Client, command: Mapping[str, Any]) -> dict[str, Any]:
        try:
            rows, cols = int(command["rows"]), int(command["cols"])
        except (KeyError, TypeError, ValueError):
            raise UsageError("give the size as rows and cols") from None
        self.orch.resize_terminals(rows, cols)
        return {"ok": True}

    def _detach(self, client: _Client, command: Mapping[str, Any]) -> dict[str, Any]:
        client.detached = True
        return {"ok": True}

    def _result(self, client: _Client, command: Mapping[str, Any]) -> dict[str, Any]:
        name = str(command.get("task"))
        task = self.orch.tasks.get(name)
        if task is None:
            return {"ok": False, "error": f"no task {name!r} in this run", "unknown": [name]}
        result = self.journal.result(name)
        data = result.data if result is not None else {}
        totals = task.totals
        return {
            "ok": True,
            "state": str(task.state),
            "reason": task.reason,
            "text": str(data.get("text", "")) if result is not None else None,
            "is_error": bool(data.get("is_error", False)),
            "totals": None if totals is None else totals_json(totals),
        }

    def _tail(self, client: _Client, command: Mapping[str, Any]) -> dict[str, Any]:
        name = command.get("task")
        task = self.orch.tasks.get(str(name))
        if task is None:
            return {"ok": False, "error": f"no task {name!r} in this run", "unknown": [name]}
        count = int(command.get("lines") or 0)
        lines = task.view.lines()
        return {"ok": True, "lines": lines[-count:] if count else lines, "state": str(task.state)}


_COMMANDS: dict[str, Callable[[ControlServer, _Client, Mapping[str, Any]], dict[str, Any]]] = {
    "subscribe": ControlServer._subscribe,
    "status": ControlServer._status,
    "interrupt": ControlServer._interrupt,
    "kill": ControlServer._kill,
    "restart": ControlServer._restart,
    "continue": ControlServer._continue,
    "stop": ControlServer._stop,
    "add": ControlServer._add,
    "detach": ControlServer._detach,
    "send": ControlServer._send,
    "seen": ControlServer._seen,
    "input": ControlServer._input,
    "resize": ControlServer._resize,
    "tail": ControlServer._tail,
    "result": ControlServer._result,
}


def _error(ident: Any, message: str) -> dict[str, Any]:
    return {"reply": ident, "ok": False, "error": message}


def _lines(encoder: WireEncoder, events: list[Event]) -> bytes:
    encoded = [text for event in events for text in encoder.encode(event)]
    if not encoded:
        return b""
    return ("\n".join(encoded) + "\n").encode("utf-8", "surrogateescape")


def _same_user(stream: SocketStream) -> bool:
    """The peer runs as our uid (SO_PEERCRED): nobody else may watch or steer our run."""
    raw: socket.socket = stream.extra(SocketAttribute.raw_socket)
    creds = raw.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    if uid != os.getuid():
        log.warning("refused a control client of uid %d", uid)
        return False
    return True
