"""A run without a UI: the engine, a lossless printer on stdout, honest exit codes."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TextIO

import anyio

from oneshot_tui.config import RunConfig
from oneshot_tui.core.bus import Subscription
from oneshot_tui.core.events import Event, RunFinished
from oneshot_tui.headless.printer import TextPrinter
from oneshot_tui.headless.streams import HeadlessStreams, headless_streams
from oneshot_tui.orchestrator import Orchestrator
from oneshot_tui.orchestrator.session import RunSession
from oneshot_tui.store.run_origin import RunOrigin


class Printer(Protocol):
    finished: RunFinished | None

    def handle(self, events: list[Event]) -> None: ...


def wants_colour(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and not os.environ.get("NO_COLOR")


def run_headless(
    config: RunConfig,
    data_dir: Path,
    *,
    json_mode: bool = False,
    origin: RunOrigin | None = None,
    plain: bool = False,
) -> int:
    """Run every task to its end, print as it goes, record it in the history, and return the
    exit code. `plain` prints one task's lines without a prefix (the `oneshot` console).
    Raises a UsageError (exit 2) if the run cannot start (its backend cannot be had)."""
    origin = origin or RunOrigin.of((), config.task_file, config.task_file_text)
    session = RunSession(
        config.specs,
        config.settings,
        data_dir=data_dir,
        origin=origin,
        terminal=_terminal_writer(),
    )
    result: int = anyio.run(_run, session, json_mode, plain, backend="asyncio")
    return result


def _terminal_writer() -> Callable[[str], None] | None:
    """Notifications (the bell, OSC) go to stderr when it is a terminal, never into a file."""
    if sys.stderr is None or not sys.stderr.isatty():
        return None

    def write(sequence: str) -> None:
        try:  # sys.stderr now: during the run, the writer thread's (it never blocks)
            sys.stderr.write(sequence)
            sys.stderr.flush()
        except OSError:
            pass  # a notification is never worth an error

    return write


async def _run(session: RunSession, json_mode: bool, plain: bool) -> int:
    orch = session.orchestrator
    with headless_streams(str(orch.log_dir)) as streams:
        printer: Printer
        if json_mode:
            from oneshot_tui.headless.ndjson import JsonPrinter  # the wire tables: --json only

            printer = JsonPrinter(sys.stdout.buffer, orch.run_id)
        else:
            printer = TextPrinter(
                sys.stdout.buffer,
                sys.stderr,
                list(orch.tasks),
                colour_out=wants_colour(sys.stdout),
                colour_err=wants_colour(sys.stderr),
                plain=plain,
                live=_is_terminal(sys.stdout),
                width=_columns(),
            )
        sub = session.bus.subscribe("headless", lossless=True, acked=True)
        async with anyio.create_task_group() as watching:
            watching.start_soon(streams.watch, sub, orch)
            async with anyio.create_task_group() as tg:
                tg.start_soon(_print, sub, printer, orch, streams)
                result = await session.run(handle_signals=True, serve=True)
            stopped = result.signal is not None or streams.unshown > 0
            code = await streams.finish(result.exit_code, stopped)
            watching.cancel_scope.cancel()
        return code


async def _print(
    sub: Subscription, printer: Printer, orch: Orchestrator, streams: HeadlessStreams
) -> None:
    """Print every event, in order; writes never block and never raise (streams.py)."""
    while printer.finished is None:
        try:
            events = await sub.receive_batch()
        except anyio.EndOfStream:
            return
        printer.handle(streams.take(events))
        streams.printed(orch)
        await streams.wait_for_room()


def _is_terminal(stream: TextIO) -> bool:
    return stream.isatty() and os.environ.get("TERM") != "dumb"


def _columns() -> int:
    """The width of the terminal on fd 1 (sys.stdout sits on a writer thread here)."""
    try:
        return os.get_terminal_size(1).columns
    except OSError:
        return 80
