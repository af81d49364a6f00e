"""What every command shares: the program name, exit-code help, the data dir."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

PROG = "oneshot-tui"

EXIT_CODES_HELP = """exit codes:
  0    every task completed
  1    a task failed or was interrupted
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


MIN_FREE_BYTES = 4 * 1024 * 1024
"""Less free space than this in the data dir refuses a run: its logs would fail at once."""


def resolve_data_dir(explicit: Path | None) -> Path:
    """The data dir, created user-only and checked writable (and not full) before anything
    starts: a full disk is a clear error now, not a crash mid-run."""
    from oneshot_tui.config import ConfigError
    from oneshot_tui.store.paths import default_data_dir, ensure_private_dir

    path = (explicit or default_data_dir()).expanduser()
    try:
        ensure_private_dir(path)
        # A file made and removed, as tempfile would (importing tempfile costs every run ~2 ms).
        probe = path / f".write-check-{os.getpid()}-{os.urandom(4).hex()}"
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        os.unlink(probe)
        if not os.access(path, os.W_OK | os.X_OK):
            raise PermissionError(13, "Permission denied")
    except OSError as exc:
        raise ConfigError(f"data dir {path} is not writable: {exc.strerror or exc}") from None
    stats = os.statvfs(path)
    free = stats.f_bavail * stats.f_frsize
    if free < MIN_FREE_BYTES:
        raise ConfigError(f"data dir {path} is full: {free // 1024} KiB free")
    return path
