"""A run without a UI: the engine, a lossless printer on stdout, honest exit codes."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Protocol, TextIO

import anyio

from oneshot_tui.config import RunConfig
from oneshot_tui.core.bus import Subscription
from oneshot_tui.core.events import Event, RunFinished
from oneshot_tui.headless.printer import TextPrinter
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
    session = RunSession(config.specs, config.settings, data_dir=data_dir, origin=origin)
    result: int = anyio.run(_run, session, json_mode, plain, backend="asyncio")
    return result


async def _run(session: RunSession, json_mode: bool, plain: bool) -> int:
    orch = session.orchestrator
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
            width=_columns(sys.stdout),
        )
    sub = session.bus.subscribe("headless", lossless=True)
    async with anyio.create_task_group() as tg:
        tg.start_soon(_print, sub, printer, orch)
        result = await session.run(handle_signals=True, serve=True)
    return result.exit_code


async def _print(sub: Subscription, printer: Printer, orch: Orchestrator) -> None:
    broken = False
    while printer.finished is None:
        try:
            events = await sub.receive_batch()
        except anyio.EndOfStream:
            return
        if broken:
            printer.finished = next((e for e in events if isinstance(e, RunFinished)), None)
            continue
        try:
            printer.handle(events)
        except BrokenPipeError:
            # The reader went away (`| head`): stop the run like any Unix filter would, and keep
            # the interpreter from complaining about the dead pipe at exit.
            broken = True
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
            orch.shutdown("output closed")
            printer.finished = next((e for e in events if isinstance(e, RunFinished)), None)


def _is_terminal(stream: TextIO) -> bool:
    return stream.isatty() and os.environ.get("TERM") != "dumb"


def _columns(stream: TextIO) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError):
        return 80
