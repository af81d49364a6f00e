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
from oneshot_tui.cli.common import quiet_when_stdout_leaves
from oneshot_tui.core.exit_codes import ExitCode, exit_code_for, usage_error
from oneshot_tui.core.stdio import guard_standard_fds

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
    "max_cost_usd",
    "max_tokens",
    "max_tool_calls",
    "retry_on_rate_limit",
    "max_rate_limit_wait",
    "base_url",
)
RUN_FLAG_KEYS = (
    "max_concurrent",
    "idle_threshold",
    "idle_action",
    "idle_timeout",
    "heartbeat_interval",
    "grace",
    "timeout",
    "worktree",
    "backend",
    "ray_address",
)
NO_EFFECT = {
    "activity_interval": "--activity-interval has no effect: activity is shown as it happens",
    "keep_log": "--keep-log has no effect: logs are always kept (oneshot-tui logs, cleanup)",
}
"""The original's flags that mean nothing here: accepted, with a one-line notice."""


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
    budget = p.add_argument_group("budgets (across every step of a loop; crossing one stops it)")
    budget.add_argument("--max-cost", dest="max_cost_usd", metavar="USD", help="US dollars")
    budget.add_argument("--max-tokens", metavar="N", help="tokens, in and out")
    budget.add_argument("--max-tool-calls", metavar="N", help="tool calls")
    steps = p.add_argument_group("stalled steps, rate limits, direct")
    steps.add_argument(
        "--idle-action",
        choices=("none", "interrupt", "restart"),
        help="for a step idle for --idle-timeout: restart runs the step again (in its agent's "
        "session), interrupt stops the loop (default: none)",
    )
    steps.add_argument("--idle-timeout", metavar="S", help="seconds idle before --idle-action")
    steps.add_argument(
        "--retry-on-rate-limit", metavar="N", help="retries after a rate or usage limit"
    )
    steps.add_argument(
        "--max-rate-limit-wait", metavar="S", help="the longest wait worth waiting (default 1h)"
    )
    steps.add_argument(
        "--base-url",
        metavar="URL",
        help="direct: the OpenAI-compatible endpoint (key: $ONESHOT_DIRECT_API_KEY or "
        "[oneshot] api_key)",
    )
    old = p.add_argument_group(
        "the original oneshot's flags (accepted: mapped to the settings above, or a notice)"
    )
    old.add_argument(
        "--initial-timeout",
        metavar="S",
        help="a step silent this long is stopped and run again (idle settings)",
    )
    old.add_argument("--max-timeout", metavar="S", help="the same as --timeout")
    old.add_argument("--activity-interval", metavar="S", help="no effect (a notice says so)")
    old.add_argument("--session", metavar="PATH|ID", help="resume this session (as --resume)")
    old.add_argument("--session-log", metavar="PATH", help="also write the activity lines there")
    old.add_argument("--debug", action="store_true", help="the same as --verbose")
    old.add_argument("--logs-dir", type=Path, metavar="DIR", help="the same as --data-dir")
    old.add_argument("--keep-log", action="store_true", help="no effect: logs are always kept")
    old.add_argument(
        "--config", type=Path, metavar="FILE", help="an original oneshot config (JSON or rc)"
    )
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
    agent_values: dict[str, Any],
) -> Any:
    from dataclasses import replace

    from oneshot_tui.config.loader import agent_settings, loop_settings
    from oneshot_tui.core.spec import TaskSpec

    agent = agent_settings(
        worker["agent"],
        {
            **agent_values,
            "prompt": prompt,
            "model": worker.get("model"),
            "args": tuple(worker.get("args", ())),
        },
    )
    loop = loop_settings(
        {
            **loop_values,
            "auditor": auditor["agent"],
            "auditor_model": auditor.get("model"),
            "auditor_args": tuple(auditor.get("args", ())),
        }
    )
    shared = {k: v for k, v in agent_values.items() if k in ("base_url", "api_key")}
    shared["retry_on_rate_limit"] = agent.retry_on_rate_limit
    shared["max_rate_limit_wait"] = agent.max_rate_limit_wait
    loop = replace(loop, auditor=replace(loop.auditor, **shared))
    return TaskSpec(
        name=name,
        command=(agent.agent, prompt),
        cwd=cwd,
        policy=policy,
        kind="loop",
        agent=agent,
        loop=loop,
    )


def _original_flags(args: argparse.Namespace) -> None:
    """The original oneshot's flags, mapped onto ours (or noted as having no effect)."""
    from oneshot_tui.config import ConfigError
    from oneshot_tui.config.fields import FieldError, seconds
    from oneshot_tui.config.oneshot import initial_timeout

    for key, notice in NO_EFFECT.items():
        if getattr(args, key):
            print(f"{PROG}: notice: {notice}", file=sys.stderr)
    if args.debug:
        args.verbose = True
    if args.logs_dir is not None and args.data_dir is None:
        args.data_dir = args.logs_dir
    if args.max_timeout is not None and args.timeout is None:
        args.timeout = args.max_timeout
    if args.session is not None:
        if args.resume is not None:
            raise ConfigError("--session and --resume both name a session: give one")
        given = Path(args.session)
        # A path to a session's state file or directory, or an id.
        args.resume = given.parent.name if given.name == "state.json" else given.name
    args.initial = None
    if args.initial_timeout is not None:
        try:
            args.initial = initial_timeout(seconds(args.initial_timeout))
        except FieldError as exc:
            raise ConfigError(f"--initial-timeout: {exc}") from None


def _cmd(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from oneshot_tui.config import ConfigError, RunConfig, load_run_config
    from oneshot_tui.config.oneshot import load_oneshot_settings
    from oneshot_tui.loop.session import SessionError, find_session, reopen
    from oneshot_tui.store.paths import prepare_data_dir
    from oneshot_tui.store.run_origin import RunOrigin

    _original_flags(args)
    settings = load_oneshot_settings(
        {k: getattr(args, k) for k in ONESHOT_FLAG_KEYS}, legacy_config=args.config
    )
    for warning in settings.warnings:
        print(f"{PROG}: warning: {warning}", file=sys.stderr)
    run_flags = {**settings.run_values, **(args.initial or {})}
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
    if args.session_log is not None:
        loop_values["activity_log"] = str(Path(args.session_log).expanduser().resolve())
    agent_values = {
        k: settings.get(k)
        for k in (
            "max_cost_usd",
            "max_tokens",
            "max_tool_calls",
            "retry_on_rate_limit",
            "max_rate_limit_wait",
            "base_url",
            "api_key",
        )
        if settings.get(k) is not None
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
        for line in stop_lost_owner(data_dir, session.saved_owner(), base.policy.grace):
            print(f"{PROG}: {line}", file=sys.stderr)
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
        specs.append(
            _loop_spec(
                name, state.instruction, cwd, worker, auditor, loop_values, policy, agent_values
            )
        )
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
                _loop_spec(
                    name,
                    prompt,
                    os.getcwd(),
                    worker,
                    auditor,
                    loop_values,
                    base.policy,
                    agent_values,
                )
            )
    for i, spec in enumerate(specs):
        audit = spec.loop.auditor
        if audit.agent == "direct" and not audit.model and spec.agent.agent == "direct":
            # The same endpoint audits: with the worker's model unless told otherwise.
            loop = replace(spec.loop, auditor=replace(audit, model=spec.agent.model))
            specs[i] = spec = replace(spec, loop=loop)
        for role, agent in (("--executor", spec.agent), ("--auditor-executor", spec.loop.auditor)):
            if agent.agent == "direct" and not agent.model:
                flag = "--worker-model" if role == "--executor" else "--auditor-model"
                raise ConfigError(f"{role} direct needs {flag} MODEL")
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


def stop_lost_owner(data_dir: Path, owner: dict[str, Any], grace: float) -> list[str]:
    """Before a saved loop is resumed: if the run that ran it died (kill -9) and left its agents
    running, stop them (as `cleanup` does), so two agents never work one session at once; if that
    run is still alive, refuse. Returns what to tell the user."""
    from oneshot_tui.config import ConfigError
    from oneshot_tui.store.db import HistoryError
    from oneshot_tui.store.history import History
    from oneshot_tui.store.history_data import RunStatus

    run_id = owner.get("run")
    if not isinstance(run_id, str) or not run_id:
        return []
    lines: list[str] = []
    try:
        with History.open(data_dir) as history:
            try:
                record = history.run(run_id)
            except HistoryError:
                record = None
            if record is not None and record.status == RunStatus.LIVE:
                raise ConfigError(
                    f"this loop is still being run by run {run_id} (pid {record.pid}): "
                    "stop it first, or wait for it"
                )
            from oneshot_tui.cli.cleanup import stop_group

            for orphan in history.orphans():
                if orphan.run_id != run_id:
                    continue
                pids = ", ".join(str(m.pid) for m in orphan.members)
                lines.append(f"run {run_id} was lost and left its agent running: stopping {pids}")
                if not stop_group(orphan, grace):
                    history.mark_stopped(orphan)
    except HistoryError as exc:
        lines.append(f"warning: cannot check run {run_id} in the history: {exc}")
    # Helpers that left the agent's process group (cline's hub daemon) still carry its marker.
    from oneshot_tui.runner.process_host import sweep

    task, attempts = owner.get("task"), owner.get("attempt")
    if isinstance(task, str) and isinstance(attempts, int):
        found = sum(sweep(f"{run_id}/{task}/{n}", attempts=5) for n in range(1, attempts + 1))
        if found:
            lines.append(f"stopped {found} process(es) the lost run's agents left behind")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    guard_standard_fds()  # before anything opens a file: `>&-` must not make a log stdout
    return quiet_when_stdout_leaves(lambda: _main(argv))


def _main(argv: Sequence[str] | None) -> int:
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
