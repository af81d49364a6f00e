"""The `oneshot-tui` command line.

Importing this module is cheap (argparse only): `--help` must not pay for Textual, anyio or the
engine. Each command imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from oneshot_tui import __version__
from oneshot_tui.core.exit_codes import ExitCode

PROG = "oneshot-tui"

EXIT_CODES_HELP = """exit codes:
  0    every task completed
  1    a task failed or was interrupted
  2    usage or configuration error (nothing was started)
  129  stopped by SIGHUP, 130 by SIGINT (Ctrl-C), 143 by SIGTERM; every child is gone first
"""


def _add_run_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = sub.add_parser(
        "run",
        help="run a task file and/or commands, in the TUI or headless",
        description="Run tasks in parallel. Opens the TUI when stdout is a terminal; "
        "otherwise (or with --no-ui) prints prefixed lines.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("taskfile", nargs="?", type=Path, help="a TOML task file ([run] and [[task]])")
    run.add_argument(
        "-c",
        "--command",
        dest="commands",
        action="append",
        default=[],
        metavar="CMD",
        help="add a shell-command task (repeatable); named after its first word",
    )
    run.add_argument("--no-ui", action="store_true", help="run headless even on a terminal")
    run.add_argument("--json", action="store_true", help="headless, with NDJSON events on stdout")
    run.add_argument("--max-concurrent", metavar="N", help="how many tasks may run at once")
    run.add_argument("--idle-threshold", metavar="S", help="seconds without output before idle")
    run.add_argument("--heartbeat-interval", metavar="S", help="seconds between idle checks")
    run.add_argument(
        "--idle-action",
        choices=["none", "interrupt", "restart"],
        help="what to do with a task idle for --idle-timeout",
    )
    run.add_argument("--idle-timeout", metavar="S", help="seconds idle before the idle action")
    run.add_argument("--timeout", metavar="S", help="wall-time limit of each task attempt")
    run.add_argument("--grace", metavar="S", help="seconds from SIGINT to SIGKILL when stopping")
    run.add_argument(
        "--fail-fast", action="store_const", const=True, help="stop everything when a task fails"
    )
    run.add_argument("--pty", action="store_const", const=True, help="run tasks under a PTY")
    run.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="where runs and logs are kept (default: $ONESHOT_TUI_HOME or the user data dir)",
    )
    run.set_defaults(handler=_cmd_run)


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
    _add_run_parser(sub)
    return parser


RUN_FLAG_KEYS = (
    "max_concurrent",
    "idle_threshold",
    "heartbeat_interval",
    "idle_action",
    "idle_timeout",
    "timeout",
    "grace",
    "fail_fast",
    "pty",
)


def resolve_data_dir(explicit: Path | None) -> Path:
    """The data dir, created user-only and checked writable before anything starts."""
    import os
    import tempfile

    from oneshot_tui.config import ConfigError
    from oneshot_tui.store.paths import default_data_dir, ensure_private_dir

    path = (explicit or default_data_dir()).expanduser()
    try:
        ensure_private_dir(path)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-check-"):
            pass
        if not os.access(path, os.W_OK | os.X_OK):
            raise PermissionError(13, "Permission denied")
    except OSError as exc:
        raise ConfigError(f"data dir {path} is not writable: {exc.strerror or exc}") from None
    return path


def _cmd_run(args: argparse.Namespace) -> int:
    from oneshot_tui.config import ConfigError, load_run_config

    if args.taskfile is None and not args.commands:
        raise ConfigError("nothing to run: give a task file or -c CMD (see oneshot-tui run --help)")
    flags = {key: getattr(args, key) for key in RUN_FLAG_KEYS}
    config = load_run_config(args.taskfile, commands=args.commands, flags=flags)
    if not config.specs:
        raise ConfigError("the task file has no [[task]] entries", path=args.taskfile)
    data_dir = resolve_data_dir(args.data_dir)
    headless = args.no_ui or args.json or not sys.stdout.isatty()
    if headless:
        from oneshot_tui.headless.run import run_headless

        return run_headless(config, data_dir, json_mode=args.json)
    from oneshot_tui.headless.run import run_headless  # the TUI arrives with its own issue

    return run_headless(config, data_dir)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return ExitCode.USAGE
    from oneshot_tui.config import ConfigError

    try:
        code: int = args.handler(args)
    except ConfigError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    except KeyboardInterrupt:
        return ExitCode.SIGINT
    return code
