"""What the history commands share: the RUN argument, the data dir, errors, times."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from oneshot_tui.cli.common import PROG
from oneshot_tui.core.exit_codes import ExitCode

if TYPE_CHECKING:
    from oneshot_tui.store.history import History

RUN_HELP = "a run id, a unique prefix of one, or 'last'"
HISTORY_EXIT_CODES = """exit codes:
  0    done
  1    (logs) a log file is missing; (cleanup) processes were left running
  2    usage error, unknown or ambiguous RUN, or an unreadable history
"""


def paragraph(text: str) -> str:
    """A description wrapped for `--help` (the raw formatter keeps the exit-code epilog as is)."""
    import textwrap  # argparse has imported it already

    return textwrap.fill(text, 88)


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="where runs and logs are kept (default: $ONESHOT_TUI_HOME or the user data dir)",
    )


def data_dir_of(args: argparse.Namespace) -> Path:
    """The data dir to read; unlike `run`, reading never creates or checks it."""
    from oneshot_tui.store.paths import default_data_dir

    explicit: Path | None = args.data_dir
    return (explicit or default_data_dir()).expanduser()


def open_reader(args: argparse.Namespace) -> History:
    from oneshot_tui.store.history import History

    return History.open(data_dir_of(args))


def error(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return ExitCode.USAGE


def guarded(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turn a history problem (unknown run, unreadable file) into a clear message and exit 2."""

    def run(args: argparse.Namespace) -> int:
        from oneshot_tui.store.db import HistoryError

        try:
            return handler(args)
        except HistoryError as exc:
            return error(str(exc))

    return run


def when(ts: float | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """A local time people read."""
    return "-" if ts is None else time.strftime(fmt, time.localtime(ts))


def clock_time(ts: float) -> str:
    """HH:MM:SS.mmm, local time."""
    return time.strftime("%H:%M:%S", time.localtime(ts)) + f".{int(ts * 1000) % 1000:03d}"
