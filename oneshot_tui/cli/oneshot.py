"""`oneshot`: the original worker/auditor tool's interface, on the oneshot-tui engine.

oneshot "Fix the failing test"                       # one loop, live on the console
oneshot --async "fix A" "fix B"                      # several loops, in the TUI
oneshot --resume                                     # continue the last loop where it stopped
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from oneshot_tui import __version__
from oneshot_tui.core.exit_codes import ExitCode, exit_code_for, usage_error

PROG = "oneshot"

EXIT_HELP = """exit codes:
  0    the auditor said DONE (with --async: every loop did)
  1    IMPOSSIBLE, no DONE within --max-iterations, or an agent failed or was stopped
  2    usage or configuration error, e.g. an executor that is not installed (nothing was started)
  130  Ctrl-C (143 SIGTERM), after the agent was stopped; --resume continues from there
"""

ONESHOT_FLAG_KEYS = (
    "executor",
    "auditor_executor",
    "worker_model",
    "auditor_model",
    "max_iterations",
    "worker_prompt_header",
    "reworker_prompt_header",
    "auditor_prompt_header",
)
RUN_FLAG_KEYS = (
    "max_concurrent",
    "idle_threshold",
    "heartbeat_interval",
    "grace",
    "timeout",
    "worktree",
    "backend",
    "ray_address",
)


def build_parser() -> argparse.ArgumentParser:
    from oneshot_tui.core.spec import AGENTS, BACKENDS

    p = argparse.ArgumentParser(
        prog=PROG,
        description="Run a worker agent on a task and an auditor agent on its result, retrying "
        "with the auditor's feedback until it says DONE.",
        epilog=EXIT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("prompts", nargs="*", metavar="PROMPT", help="what the worker should do")
    p.add_argument("--version", action="version", version=f"{PROG} (oneshot-tui) {__version__}")
    p.add_argument("--executor", choices=AGENTS, help="the worker's agent (default: claude)")
    p.add_argument(
        "--auditor-executor", choices=AGENTS, help="the auditor's agent (default: --executor)"
    )
    p.add_argument("--worker-model", metavar="M", help="the worker's model")
    p.add_argument("--auditor-model", metavar="M", help="the auditor's model")
    p.add_argument("--max-iterations", metavar="N", help="worker runs to judge (default: 3)")
    p.add_argument("--worker-prompt-header", metavar="H", help="first line of the worker prompt")
    p.add_argument("--reworker-prompt-header", metavar="H", help="first line of a retry prompt")
    p.add_argument("--auditor-prompt-header", metavar="H", help="first line of the audit prompt")
    p.add_argument(
        "--resume",
        nargs="?",
        const="last",
        metavar="ID",
        help="continue a stopped loop (default: the last) from its last completed step",
    )
    p.add_argument("--force", action="store_true", help="with --resume: run a completed loop again")
    p.add_argument(
        "--async",
        dest="async_mode",
        action="store_true",
        help="run through the orchestrator: the TUI (or --no-ui), several prompts",
    )
    p.add_argument("--no-ui", action="store_true", help="with --async: headless, prefixed lines")
    p.add_argument("--json", action="store_true", help="NDJSON events on stdout instead of lines")
    p.add_argument("--max-concurrent", metavar="N", help="with --async: loops at once")
    p.add_argument("--idle-threshold", metavar="S", help="seconds without output before idle")
    p.add_argument("--heartbeat-interval", metavar="S", help="seconds between idle checks")
    p.add_argument("--timeout", metavar="S", help="wall-time limit of a whole loop")
    p.add_argument("--grace", metavar="S", help="seconds from SIGINT to SIGKILL when stopping")
    p.add_argument(
        "--worktree",
        action="store_const",
        const=True,
        help="run each loop in a git worktree of its own, on a new branch oneshot/RUN/TASK",
    )
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        help="where the agents run: local (default) or ray (needs oneshot-tui[ray])",
    )
    p.add_argument("--ray-address", metavar="ADDR", help="the Ray cluster's HOST:PORT")
    p.add_argument("--verbose", action="store_true", help="state changes and the summary table too")
    p.add_argument("--data-dir", type=Path, metavar="DIR", help="where sessions, runs and logs go")
    return p


def prompt_name(prompt: str) -> str:
    """A short task name from a prompt's first words: "fix-the-failing-test"."""
    words = re.findall(r"[A-Za-z0-9]+", prompt.lower())[:4]
    return "-".join(words)[:32].strip("-") or "oneshot"


def _check_installed(names: Sequence[str], env: dict[str, str]) -> None:
    """A missing executor is a usage error (exit 2), said with the command that installs it."""
    import shutil

    from oneshot_tui.agents import executor
    from oneshot_tui.config import ConfigError

    for name in dict.fromkeys(names):
        agent = executor(name)
        if name != "direct" and shutil.which(agent.binary, path=env.get("PATH")) is None:
            raise ConfigError(agent.missing_message())


def _loop_spec(
    name: str,
    prompt: str,
    cwd: str,
    worker: dict[str, Any],
    auditor: dict[str, Any],
    loop_values: dict[str, Any],
    policy: Any,
) -> Any:
    from oneshot_tui.config.loader import loop_settings
    from oneshot_tui.core.spec import AgentSettings, TaskSpec

    agent = AgentSettings(
        worker["agent"], prompt, model=worker.get("model"), args=tuple(worker.get("args", ()))
    )
    loop = loop_settings(
        {
            **loop_values,
            "auditor": auditor["agent"],
            "auditor_model": auditor.get("model"),
            "auditor_args": tuple(auditor.get("args", ())),
        }
    )
    return TaskSpec(
        name=name,
        command=(agent.agent, prompt),
        cwd=cwd,
        policy=policy,
        kind="loop",
        agent=agent,
        loop=loop,
    )


def _cmd(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from oneshot_tui.config import ConfigError, RunConfig, load_run_config
    from oneshot_tui.config.oneshot import load_oneshot_settings
    from oneshot_tui.loop.session import SessionError, find_session, reopen
    from oneshot_tui.store.paths import prepare_data_dir
    from oneshot_tui.store.run_origin import RunOrigin

    settings = load_oneshot_settings({k: getattr(args, k) for k in ONESHOT_FLAG_KEYS})
    for warning in settings.warnings:
        print(f"{PROG}: warning: {warning}", file=sys.stderr)
    run_flags = {**settings.run_values}
    run_flags.update({k: getattr(args, k) for k in RUN_FLAG_KEYS if getattr(args, k) is not None})
    base = load_run_config(None, flags=run_flags)
    data_dir = prepare_data_dir(args.data_dir)
    loop_values: dict[str, Any] = {
        k: settings.get(k)
        for k in (
            "max_iterations",
            "worker_prompt_header",
            "reworker_prompt_header",
            "auditor_prompt_header",
        )
        if settings.get(k) is not None
    }
    loop_values["templates"] = {
        role: settings.get(f"{role}_template")
        for role in ("worker", "reworker", "auditor")
        if settings.get(f"{role}_template")
    }
    specs = []
    if args.resume is not None:
        if args.prompts:
            raise ConfigError("--resume continues a saved loop: give it no PROMPT")
        try:
            session = find_session(data_dir, args.resume)
            state = session.load()
            reopen(state, args.force)  # refuse a completed loop now, before anything starts
            saved = session.saved_settings()
        except SessionError as exc:
            raise ConfigError(str(exc)) from None
        worker = dict(saved.get("worker") or {"agent": settings.executor})
        auditor = dict(saved.get("auditor") or {"agent": settings.auditor_executor})
        for role, flag_exec, flag_model in (
            ("worker", "executor", "worker_model"),
            ("auditor", "auditor_executor", "auditor_model"),
        ):
            chosen = worker if role == "worker" else auditor
            if getattr(args, flag_exec):
                chosen["agent"] = getattr(args, flag_exec)
            if getattr(args, flag_model):
                chosen["model"] = getattr(args, flag_model)
        loop_values.update(oneshot_id=state.oneshot_id, force=args.force)
        headers = saved.get("headers") or {}
        for role, header in headers.items():
            loop_values.setdefault(f"{role}_prompt_header", header)
        name = str(saved.get("task") or "oneshot")
        cwd = str(saved.get("cwd") or os.getcwd())
        policy = base.policy
        worktree = saved.get("worktree")
        if isinstance(worktree, dict) and os.path.isdir(str(worktree.get("cwd"))):
            # The worker's changes are in the loop's own worktree: carry on there, on its
            # branch, rather than in a new worktree made from the user's HEAD.
            cwd = str(worktree["cwd"])
            policy = replace(policy, worktree=False)
            print(
                f"{PROG}: resuming in worktree {cwd} (branch {worktree.get('branch')})",
                file=sys.stderr,
            )
        specs.append(_loop_spec(name, state.instruction, cwd, worker, auditor, loop_values, policy))
    else:
        prompts = [p for p in args.prompts if p.strip()]
        if not prompts:
            raise ConfigError("give a PROMPT (or --resume); see oneshot --help")
        if len(prompts) > 1 and not args.async_mode:
            raise ConfigError("several prompts run side by side only with --async")
        worker = {
            "agent": settings.executor,
            "model": settings.get("worker_model"),
            "args": settings.get("worker_args", ()),
        }
        auditor = {
            "agent": settings.auditor_executor,
            "model": settings.get("auditor_model"),
            "args": settings.get("auditor_args", ()),
        }
        from oneshot_tui.core.names import UniqueNames

        taken = UniqueNames()
        for prompt in prompts:
            name = taken.take(prompt_name(prompt) if args.async_mode else "oneshot")
            specs.append(
                _loop_spec(name, prompt, os.getcwd(), worker, auditor, loop_values, base.policy)
            )
    used = [s.agent.agent for s in specs] + [s.loop.auditor.agent for s in specs]
    _check_installed(used, dict(os.environ))
    config = RunConfig(base.settings, tuple(specs), policy=base.policy, sources=base.sources)
    origin = RunOrigin.of((PROG, *argv))
    if args.async_mode:
        from oneshot_tui.cli.run import launch

        return launch(config, data_dir, no_ui=args.no_ui, json_mode=args.json, origin=origin)
    from oneshot_tui.headless.run import run_headless

    return run_headless(
        config, data_dir, json_mode=args.json, origin=origin, plain=not args.verbose
    )


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(arguments)
    try:
        return _cmd(args, arguments)
    except KeyboardInterrupt:
        return ExitCode.SIGINT
    except Exception as exc:
        error = usage_error(exc)  # a config error, a backend that cannot be had: nothing started
        if error is None:
            raise
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return exit_code_for(error)
