"""The `oneshot-tui` command line.

Importing this module is cheap (argparse only): `--help` must not pay for Textual, anyio or the
engine. Each command imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from oneshot_tui import __version__
from oneshot_tui.cli.cleanup import add_cleanup_parser
from oneshot_tui.cli.common import EXIT_CODES_HELP, PROG
from oneshot_tui.cli.diff import add_diff_parser
from oneshot_tui.cli.history import add_history_parsers
from oneshot_tui.cli.live import add_live_parsers
from oneshot_tui.cli.logs import add_logs_parser
from oneshot_tui.cli.rerun import add_rerun_parser
from oneshot_tui.cli.run import add_run_parser
from oneshot_tui.cli.worktrees import add_worktrees_parser
from oneshot_tui.core.exit_codes import ExitCode, exit_code_for, usage_error


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Run many AI coding agents and shell commands in parallel; "
        "watch and steer them live.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_run_parser(sub)
    add_history_parsers(sub)
    add_logs_parser(sub)
    add_rerun_parser(sub)
    add_cleanup_parser(sub)
    add_diff_parser(sub)
    add_worktrees_parser(sub)
    add_live_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = tuple(sys.argv[1:] if argv is None else argv)  # recorded with the run
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
