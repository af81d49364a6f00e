"""What every command shares: the program name, exit-code help, the data dir."""

from __future__ import annotations

import argparse
import os
import sys

PROG = "oneshot-tui"

EXIT_CODES_HELP = """exit codes:
  0    every task completed
  1    a task failed or was interrupted, or stdout/stderr could not be written
  2    usage or configuration error (nothing was started)
  129  stopped by SIGHUP, 130 by SIGINT (Ctrl-C), 143 by SIGTERM; every child is gone first
"""

COMMAND_HELP = {
    "run": "run a task file and/or commands, in the TUI or headless",
    "history": "list recent runs",
    "show": "show one run: its tasks and every state transition",
    "logs": "print a task's log (every byte the task wrote)",
    "rerun": "run a past run's tasks again (or only those that did not complete)",
    "cleanup": "stop processes that lost runs left running",
    "diff": "show what a worktree task changed (a diff against its base commit)",
    "worktrees": "list worktree tasks' git worktrees; 'worktrees clean' removes them",
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
