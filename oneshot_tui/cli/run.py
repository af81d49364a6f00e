"""`oneshot-tui run`: a task file and/or commands, in the TUI or headless."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from oneshot_tui.cli.common import EXIT_CODES_HELP, resolve_data_dir


def add_run_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    run.add_argument(
        "--exit-on-finish",
        action="store_true",
        help="close the TUI when every task has ended (exit code as headless)",
    )
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
    from oneshot_tui.ui.app import run_tui

    return run_tui(config.specs, config.settings, data_dir, exit_on_finish=args.exit_on_finish)
