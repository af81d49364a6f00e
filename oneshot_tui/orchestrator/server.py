"""Where a served run lives: in a process of its own (`run` with the TUI, `run --detach`), or on a
thread of this process (the TUI's tests, the screenshots). Either way it is a `RunSession` serving
its control socket, and the TUI talks to it only through that socket.

The process is forked before anything else starts (no threads, no event loop yet): it leaves the
terminal's session, writes its output to `RUN_DIR/server.out`, and says on a pipe when its socket
listens and every task is started or queued (or in one line why it could not start, which the
parent raises as the usage error it was).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from oneshot_tui.control.protocol import SERVER_OUTPUT, Served
from oneshot_tui.core.events import RunResult
from oneshot_tui.core.exit_codes import ExitCode, UsageError, exit_code_for, usage_error
from oneshot_tui.orchestrator.orchestrator import Orchestrator
from oneshot_tui.orchestrator.session import RunSession

READY_TIMEOUT = 120.0
"""Seconds the parent waits for a forked server to say it is ready (a slow cluster connect)."""


class ServerError(Exception):
    """A forked server ended before it was ready, for a reason that is not a usage error."""


def fork_server(
    make_session: Callable[[], RunSession], *, stay_open: bool, owner: bool = False
) -> Served:
    """Start the run in a process of its own and return once it is ready (see the module);
    with `owner`, its tasks start when the TUI that starts it next has connected.

    Raises the UsageError the server met before starting (its backend, its data dir), or
    ServerError if it died first. `make_session` runs in the server process."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the server
        os.close(read_end)
        code: int = ExitCode.FAILED
        try:
            code = _serve_forked(make_session, stay_open, owner, write_end)
        finally:
            os._exit(code)
    os.close(write_end)
    try:
        answer = _read_answer(read_end)
    finally:
        os.close(read_end)
    kind, _, rest = answer.partition(" ")
    if kind == "ready":
        run_id, log_dir = rest.split(" ", 1)
        return Served(run_id, pid, Path(log_dir))
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
    if kind == "usage":
        raise UsageError(rest)
    raise ServerError(rest or "the run's process ended before it started")


def _read_answer(fd: int) -> str:
    data = b""
    while not data.endswith(b"\n"):
        ready, _, _ = select.select([fd], [], [], READY_TIMEOUT)
        if not ready:
            return "error the run's process did not start in time"
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        data += chunk
    return data.decode("utf-8", "replace").strip()


def _serve_forked(
    make_session: Callable[[], RunSession], stay_open: bool, owner: bool, answer: int
) -> int:
    import anyio

    os.setsid()  # no controlling terminal: closing the user's terminal does not reach us
    session: RunSession | None = None

    def say(text: str) -> None:
        nonlocal answer
        if answer >= 0:
            with contextlib.suppress(OSError):
                os.write(answer, (text.replace("\n", " ") + "\n").encode())
                os.close(answer)
            answer = -1

    try:
        session = make_session()
        _redirect_output(session.orchestrator.log_dir / SERVER_OUTPUT)
        orch = session.orchestrator
        ready = f"ready {orch.run_id} {orch.log_dir}"
        result = anyio.run(_serve, session, stay_open, owner, lambda: say(ready), backend="asyncio")
        return result.exit_code
    except BaseException as exc:
        error = usage_error(exc)
        if error is not None:
            say(f"usage {error}")
        else:
            traceback.print_exc()
            say(f"error {type(exc).__name__}: {exc}")
        return exit_code_for(exc)
    finally:
        say("error the run ended before it was ready")


async def _serve(
    session: RunSession, stay_open: bool, owner: bool, ready: Callable[[], None]
) -> RunResult:
    return await session.run(
        stay_open=stay_open, handle_signals=True, serve=True, owner=owner, ready=ready
    )


def _redirect_output(log: Path) -> None:
    """stdin from /dev/null; stdout and stderr (warnings, a crash's traceback) to the run's
    server log: the terminal that started us may be long gone."""
    null = os.open(os.devnull, os.O_RDONLY)
    out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(null, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(null)
    os.close(out)
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115


class ServerThread:
    """A served run on a thread of its own with its own event loop (tests, screenshots): the
    same session and socket as a forked server, in this process (so clocks can be injected)."""

    def __init__(self, session: RunSession, *, stay_open: bool = True, owner: bool = True) -> None:
        self.session = session
        self._stay_open = stay_open
        self._owner = owner
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self.result: RunResult | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="oneshot-server", daemon=True)

    @property
    def orch(self) -> Orchestrator:
        return self.session.orchestrator

    @property
    def served(self) -> Served:
        orch = self.session.orchestrator
        return Served(orch.run_id, os.getpid(), orch.log_dir)

    def start(self) -> None:
        """Start it and wait until its socket listens (or it failed: then `error` says why)."""
        self._thread.start()
        self._ready.wait()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float | None = None) -> bool:
        if self._thread.ident is not None:
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def call(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run `fn(*args)` on the server's loop, soon (a test reaching into the engine)."""
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed: the run is over
                loop.call_soon_threadsafe(fn, *args)

    def _main(self) -> None:
        try:
            self.result = asyncio.run(self._run())
        except BaseException as exc:  # the client sees the socket close; tests read `error`
            self.error = exc
        finally:
            self._ready.set()

    async def _run(self) -> RunResult:
        self._loop = asyncio.get_running_loop()
        return await self.session.run(
            stay_open=self._stay_open, serve=True, owner=self._owner, ready=self._ready.set
        )
