"""The `oneshot-tui` command line.

Importing this module is cheap (argparse only): `--help` must not pay for Textual, anyio or the
engine. Only the command that runs has its module imported and its parser built (the others are
listed with their one-line help), and each command imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from oneshot_tui import __version__
from oneshot_tui.cli.common import (
    COMMAND_HELP,
    EXIT_CODES_HELP,
    PROG,
    HelpFormatter,
    quiet_when_stdout_leaves,
)
from oneshot_tui.core.exit_codes import ExitCode, exit_code_for, usage_error
from oneshot_tui.core.stdio import guard_standard_fds

COMMANDS = {
    "run": ("oneshot_tui.cli.run", "add_run_parser"),
    "history": ("oneshot_tui.cli.history", "add_history_parsers"),
    "show": ("oneshot_tui.cli.history", "add_history_parsers"),
    "logs": ("oneshot_tui.cli.logs", "add_logs_parser"),
    "stats": ("oneshot_tui.cli.stats", "add_stats_parser"),
    "rerun": ("oneshot_tui.cli.rerun", "add_rerun_parser"),
    "cleanup": ("oneshot_tui.cli.cleanup", "add_cleanup_parser"),
    "diff": ("oneshot_tui.cli.diff", "add_diff_parser"),
    "worktrees": ("oneshot_tui.cli.worktrees", "add_worktrees_parser"),
    "merge": ("oneshot_tui.cli.merge", "add_merge_parser"),
    **dict.fromkeys(
        ("ps", "attach", "events", "ctl", "add", "send", "mcp"),
        ("oneshot_tui.cli.live", "add_live_parsers"),
    ),
}
"""Each command's module and the function that adds its parser (or parsers), in --help order."""


def _command_in(argv: Sequence[str]) -> str | None:
    """The command `argv` names: its first word that is not an option (the top level has no
    option that takes a value)."""
    for arg in argv:
        if arg == "--":
            break
        if not arg.startswith("-"):
            return arg
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The command line. Given the arguments, only the command they name is built in full: the
    others are listed, so `--help` imports none of their modules. Without, every command is."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Run many AI coding agents and shell commands in parallel; "
        "watch and steer them live.",
        epilog=EXIT_CODES_HELP,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = COMMANDS.get(_command_in(argv) or "") if argv is not None else None
    for name, (module, adder) in COMMANDS.items():
        if name in sub.choices:
            continue  # added with another command of its module
        if argv is None or (module, adder) == wanted:
            getattr(importlib.import_module(module), adder)(sub)
        else:
            sub.add_parser(name, help=COMMAND_HELP[name], formatter_class=HelpFormatter)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    guard_standard_fds()  # before anything opens a file: `>&-` must not make a log stdout
    try:
        return quiet_when_stdout_leaves(lambda: _main(argv))
    except KeyboardInterrupt:
        # Ctrl-C before a command's own handling is in place (while its modules are still
        # being imported, the first ~150 ms): exit 130 quietly, as a run stopped by it does.
        return ExitCode.SIGINT


def _main(argv: Sequence[str] | None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(arguments)
    args = parser.parse_args(arguments)
    args.argv = tuple(arguments)  # recorded with the run
    if args.command is None:
        parser.print_help(sys.stderr)
        return ExitCode.USAGE
    try:
        code: int = args.handler(args)
    except KeyboardInterrupt:
        return ExitCode.SIGINT
    except Exception as exc:
        error = usage_error(exc)  # a config error, a backend that cannot be had: nothing started
        if error is None:
            raise
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return exit_code_for(error)
    return code
