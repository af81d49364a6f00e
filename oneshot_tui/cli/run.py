"""`oneshot-tui run`: a task file and/or commands, in the TUI or headless."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from oneshot_tui.cli.common import COMMAND_HELP, EXIT_CODES_HELP, PROG, HelpFormatter
from oneshot_tui.core.spec import AGENTS, BACKENDS, AgentSettings
from oneshot_tui.store.paths import prepare_data_dir

if TYPE_CHECKING:
    from oneshot_tui.config import RunConfig
    from oneshot_tui.store.run_origin import RunOrigin


def add_run_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = sub.add_parser(
        "run",
        help=COMMAND_HELP["run"],
        description="Run tasks in parallel. Opens the TUI when stdout is a terminal; "
        "otherwise (or with --no-ui) prints prefixed lines.",
        epilog=EXIT_CODES_HELP,
        formatter_class=HelpFormatter,
    )
    run.add_argument("taskfile", nargs="?", type=Path, help="a TOML task file ([run] and [[task]])")
    run.add_argument(
        "-c",
        "--command",
        dest="commands",
        action="append",
        default=[],
        metavar="CMD",
        help="add a shell-command task (repeatable), named from its first words (make test: "
        "make-test); NAME=CMD names it NAME when NAME is lowercase letters, digits, . _ - "
        "(FOO=1 make stays a command)",
    )
    run.add_argument(
        "-a",
        "--agent",
        choices=AGENTS,
        metavar="AGENT",
        help=f"add an agent task running PROMPT: {', '.join(AGENTS)}",
    )
    run.add_argument("-p", "--prompt", metavar="PROMPT", help="the agent task's prompt (with -a)")
    run.add_argument("--model", metavar="MODEL", help="the agent task's model (with -a)")
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
        "--worktree",
        action="store_const",
        const=True,
        help="run each task in a git worktree of its own, on a new branch oneshot/RUN/TASK",
    )
    run.add_argument(
        "--backend",
        choices=BACKENDS,
        help="where task processes run: local (default) or ray (needs oneshot-tui[ray])",
    )
    run.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="the Ray cluster's HOST:PORT (default: $RAY_ADDRESS, else the one on this machine)",
    )
    run.add_argument(
        "--detach",
        action="store_true",
        help="run in the background: print the run id and return once every task is started"
        " or queued (oneshot-tui attach / events / ctl reach it)",
    )
    run.add_argument(
        "--on-hangup",
        choices=["stop", "detach"],
        help="when the TUI's terminal goes away: stop the run (default) or leave it going on",
    )
    run.add_argument(
        "--notify",
        metavar="LIST",
        help="how to tell you a task needs you and the run ended: bell,osc,desktop,command or"
        " none (default: the bell when a task needs you)",
    )
    run.add_argument(
        "--otel",
        action="store_const",
        const=True,
        help="send traces and metrics over OTLP/HTTP (needs oneshot-tui[otel]; set by OTEL_* vars)",
    )
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
    "worktree",
    "backend",
    "ray_address",
    "on_hangup",
    "notify",
    "otel",
)


def _cmd_run(args: argparse.Namespace) -> int:
    from oneshot_tui.config import ConfigError, load_run_config

    agent = _agent_flags(args)
    if args.taskfile is None and not args.commands and agent is None:
        raise ConfigError(
            "nothing to run: give a task file, -c CMD or -a AGENT -p PROMPT "
            "(see oneshot-tui run --help)"
        )
    flags = {key: getattr(args, key) for key in RUN_FLAG_KEYS}
    config = load_run_config(args.taskfile, commands=args.commands, agent=agent, flags=flags)
    if not config.specs:
        raise ConfigError("the task file has no [[task]] entries", path=args.taskfile)
    data_dir = prepare_data_dir(args.data_dir)
    from oneshot_tui.store.run_origin import RunOrigin

    argv = (PROG, *getattr(args, "argv", ()))
    origin = RunOrigin.of(argv, config.task_file, config.task_file_text)
    return launch(
        config,
        data_dir,
        no_ui=args.no_ui,
        json_mode=args.json,
        origin=origin,
        exit_on_finish=args.exit_on_finish,
        detach=args.detach,
    )


def launch(
    config: RunConfig,
    data_dir: Path,
    *,
    no_ui: bool,
    json_mode: bool,
    origin: RunOrigin,
    exit_on_finish: bool = False,
    detach: bool = False,
) -> int:
    """Start a run of `config`: headless, in the TUI, or detached. `run` and `rerun` come here.

    The TUI and a detached run serve the run from a process of their own (forked now, before any
    thread starts), so it can outlive the terminal; the TUI is its first client."""
    if detach or not (no_ui or json_mode or not sys.stdout.isatty()):
        if config.settings.otel:  # here: an error in the server it forks would reach no one
            from oneshot_tui.otel.setup import require_otel

            require_otel()
        from oneshot_tui.orchestrator.server import fork_server
        from oneshot_tui.orchestrator.session import RunSession

        def session() -> RunSession:
            return RunSession(config.specs, config.settings, data_dir=data_dir, origin=origin)

        served = fork_server(session, stay_open=not exit_on_finish, owner=not detach)
        if detach:
            print(served.run_id, flush=True)
            return 0
        from oneshot_tui.ui.app import run_tui

        return run_tui(served, data_dir, owner=True, otel=config.settings.otel)
    from oneshot_tui.headless.run import run_headless

    return run_headless(config, data_dir, json_mode=json_mode, origin=origin)


def _agent_flags(args: argparse.Namespace) -> AgentSettings | None:
    from oneshot_tui.config import ConfigError
    from oneshot_tui.config.loader import agent_settings

    if args.agent is None:
        for flag, value in (("-p/--prompt", args.prompt), ("--model", args.model)):
            if value is not None:
                raise ConfigError(f"{flag} needs -a AGENT")
        return None
    if not args.prompt or not args.prompt.strip():
        raise ConfigError(f"-a {args.agent} needs -p PROMPT")
    if args.agent == "direct" and not args.model:
        raise ConfigError("-a direct needs --model MODEL")
    return agent_settings(args.agent, {"prompt": args.prompt, "model": args.model})
