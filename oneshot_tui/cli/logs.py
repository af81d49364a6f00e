"""`oneshot-tui logs RUN [TASK]`: a task's log, byte for byte, or followed while it grows."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from oneshot_tui.cli.common import COMMAND_HELP
from oneshot_tui.cli.history_common import (
    HISTORY_EXIT_CODES,
    RUN_HELP,
    add_data_dir,
    error,
    guarded,
    open_reader,
    paragraph,
)
from oneshot_tui.core.exit_codes import ExitCode
from oneshot_tui.core.printable import one_line

if TYPE_CHECKING:
    from oneshot_tui.store.history import History
    from oneshot_tui.store.history_data import AttemptRecord

CHUNK = 1 << 16
FOLLOW_POLL = 0.2
"""Seconds between looks at a followed log and the run's state."""


def add_logs_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    logs = sub.add_parser(
        "logs",
        help=COMMAND_HELP["logs"],
        description=paragraph(
            "Print a task's log exactly as the task wrote it (the latest attempt unless "
            "--attempt N). Without TASK, every task's log, each after a '==> TASK <==' header "
            "(just the log if the run has one task). --follow keeps printing while the run is "
            "live, moving on to the next attempt when the task restarts."
        ),
        epilog=HISTORY_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    logs.add_argument("run", metavar="RUN", help=RUN_HELP)
    logs.add_argument("task", metavar="TASK", nargs="?", help="the task's name")
    logs.add_argument("--attempt", type=int, metavar="N", help="attempt N instead of the latest")
    logs.add_argument(
        "-f", "--follow", action="store_true", help="keep printing while the run is live"
    )
    add_data_dir(logs)
    logs.set_defaults(handler=guarded(_cmd_logs))


def _cmd_logs(args: argparse.Namespace) -> int:
    out = sys.stdout.buffer
    with open_reader(args) as reader:
        run_id = reader.resolve(args.run)
        tasks = [t.name for t in reader.tasks(run_id)]
        if args.task is not None and args.task not in tasks:
            known = ", ".join(map(one_line, tasks))
            return error(f"run {run_id} has no task {args.task!r} (it has: {known})")
        if args.follow:
            if args.task is None and len(tasks) != 1:
                return error("--follow needs a TASK when the run has several tasks")
            return follow(reader, run_id, args.task or tasks[0], out, args.attempt)
        names = [args.task] if args.task is not None else tasks
        status = ExitCode.OK
        for name in names:
            attempts = [a for a in reader.attempts(run_id, name) if a.log_path is not None]
            chosen = _pick(attempts, args.attempt)
            if len(names) > 1:
                out.write(f"==> {name} <==\n".encode())
            if chosen is None or chosen.log_path is None:
                which = f"attempt {args.attempt}" if args.attempt else "it never started"
                print(f"oneshot-tui: {name}: no log ({which})", file=sys.stderr)
                status = ExitCode.FAILED
                continue
            source = _open(chosen.log_path)
            if source is None:
                status = ExitCode.FAILED
                continue
            with source:  # a failed write is stdout's (`| head`), not the log's: it propagates
                _drain(source, out)
        out.flush()
        return status


def _pick(attempts: list[AttemptRecord], number: int | None) -> AttemptRecord | None:
    if not attempts:
        return None
    if number is None:
        return attempts[-1]
    return next((a for a in attempts if a.attempt == number), None)


def follow(
    reader: History,
    run_id: str,
    task: str,
    out: BinaryIO,
    attempt: int | None = None,
    poll: float = FOLLOW_POLL,
) -> int:
    """Print the task's log as it grows, then each later attempt's, until the run is not live."""
    current: AttemptRecord | None = None
    handle: BinaryIO | None = None
    try:
        while True:
            live = reader.is_live(run_id)  # before reading: once not live, the logs are complete
            attempts = [a for a in reader.attempts(run_id, task) if a.log_path is not None]
            if current is None:
                current = _pick(attempts, attempt) if attempt is not None else _first(attempts)
                if current is not None and current.log_path is not None:
                    handle = _open(current.log_path)
            if handle is not None:
                _drain(handle, out)
            later = [a for a in attempts if current is not None and a.attempt > current.attempt]
            if later and attempt is None:
                # The task restarted; the previous attempt's log is complete (drained above).
                current = later[0]
                if handle is not None:
                    handle.close()
                assert current.log_path is not None
                print(f"==> {task}: attempt {current.attempt} <==", file=sys.stderr, flush=True)
                handle = _open(current.log_path)
                continue
            if not live:
                break
            time.sleep(poll)
    finally:
        if handle is not None:
            handle.close()
    if current is None:
        print(f"oneshot-tui: {task}: no log (it never started)", file=sys.stderr)
        return ExitCode.FAILED
    return ExitCode.OK


def _first(attempts: list[AttemptRecord]) -> AttemptRecord | None:
    """Following starts at the latest attempt there is; later ones follow on."""
    return attempts[-1] if attempts else None


def _open(path: Path) -> BinaryIO | None:
    try:
        return path.open("rb")
    except OSError as exc:
        print(f"oneshot-tui: {path}: {exc.strerror or exc}", file=sys.stderr)
        return None


def _drain(handle: BinaryIO, out: BinaryIO) -> None:
    wrote = False
    while chunk := handle.read(CHUNK):
        out.write(chunk)
        wrote = True
    if wrote:
        out.flush()
