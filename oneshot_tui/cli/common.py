"""What every command shares: the program name, exit-code help, the data dir."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from oneshot_tui.core.exit_codes import ExitCode

PROG = "oneshot-tui"

EXIT_CODES_HELP = """exit codes:
  0    every task completed
  1    a task failed or was interrupted, or stdout/stderr could not be written
  2    usage or configuration error (nothing was started)
  129  stopped by SIGHUP, 130 by SIGINT (Ctrl-C), 143 by SIGTERM; every child is gone first
  141  stdout's reader went away (`| head`) before everything was written
"""

COMMAND_HELP = {
    "run": "run a task file and/or commands, in the TUI or headless",
    "history": "list recent runs",
    "show": "show one run: its tasks and every state transition",
    "logs": "print a task's log (every byte the task wrote)",
    "stats": "what runs cost and how they went: tokens, cost, success, time, burn rate",
    "rerun": "run a past run's tasks again (or only those that did not complete)",
    "cleanup": "stop processes that lost runs left running",
    "diff": "show what a worktree task changed (a diff against its base commit)",
    "worktrees": "list worktree tasks' git worktrees; 'worktrees clean' removes them",
    "merge": "merge a finished worktree task's branch back into the branch it started from",
    "ps": "list the live runs",
    "attach": "the TUI on a live run (started elsewhere, or detached)",
    "events": "NDJSON events of a live run, its current state first",
    "ctl": "interrupt, kill or restart tasks of a live run, or stop it",
    "add": "add tasks to a live run",
    "send": "send a message to an agent task of a live run (its next turn)",
    "mcp": "an MCP server on stdio: agents run and watch tasks through oneshot-tui",
}
"""Each command's line in `oneshot-tui --help`, in its order: the listing needs no command's module
(cli/__init__.py builds only the parser of the command that runs)."""


def count(text: str) -> int:
    """An argparse type: a whole number, 0 or more (`-n -1` is a usage error, exit 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def broken_pipe(error: BaseException) -> bool:
    """Whether `error` is stdout's reader going away (`| head`), alone or inside a group."""
    if isinstance(error, BaseExceptionGroup):
        return any(broken_pipe(e) for e in error.exceptions)
    return isinstance(error, BrokenPipeError)


def quiet_when_stdout_leaves(command: Callable[[], int]) -> int:
    """Run a command whose stdout's reader may leave before it is done (`history | head -1`):
    then stop quietly, exit 141 (128 + SIGPIPE, like a program the signal ended), with no
    traceback now and no complaint from the interpreter at exit. The one place for every
    command (a live run stops its tasks first: headless/streams.py)."""
    try:
        try:
            code = command()
        finally:
            sys.stdout.flush()  # what is still buffered (`--help`) fails here, not at exit
    except BaseException as error:
        if not broken_pipe(error):
            raise
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # the interpreter's last flush goes nowhere
        os.close(devnull)
        return ExitCode.SIGPIPE
    return code


def terminal_columns() -> int:
    """`shutil.get_terminal_size().columns`, without importing shutil."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns <= 0 and sys.__stdout__ is not None:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """argparse's, told the terminal's width: left to find it, argparse imports shutil for every
    parser it builds (a few milliseconds of every start, for --help and for runs alike)."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        width = terminal_columns() - 2 if width is None else width
        super().__init__(prog, indent_increment, max_help_position, width)
