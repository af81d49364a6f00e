"""Commands on live runs, through their control socket: `ps`, `attach`, `events`, `ctl`, `add`."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from oneshot_tui.cli.common import PROG
from oneshot_tui.cli.history_common import add_data_dir, data_dir_of, paragraph
from oneshot_tui.core.exit_codes import ExitCode, UsageError

LIVE_RUN_HELP = "a live run's id, a unique prefix of one, or 'last' (default: the only live run)"
CTL_EXIT_CODES = """exit codes:
  0    done
  1    refused (the reply says why: the task already ended, ...)
  2    usage error, or no such live run or task
"""


def add_live_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ps = sub.add_parser(
        "ps",
        help="list the live runs",
        description=paragraph(
            "The live runs of the data dir: id, pid, start, tasks per state, clients attached."
        ),
    )
    ps.add_argument("--json", action="store_true", help="a JSON array on stdout")
    add_data_dir(ps)
    ps.set_defaults(handler=_cmd_ps)

    attach = sub.add_parser(
        "attach",
        help="the TUI on a live run (started elsewhere, or detached)",
        description=paragraph(
            "Open the TUI on a live run, with every key working as in the run's own TUI. "
            "q or D leaves the run going on; several terminals may attach at once."
        ),
    )
    attach.add_argument("run", nargs="?", metavar="RUN", help=LIVE_RUN_HELP)
    add_data_dir(attach)
    attach.set_defaults(handler=_cmd_attach)

    events = sub.add_parser(
        "events",
        help="NDJSON events of a live run, its current state first",
        description=paragraph(
            "The run's current state, then its live events, as `run --json` prints them, "
            "until the run ends; then exits with the run's exit code (1 if its process died)."
        ),
    )
    events.add_argument("run", nargs="?", metavar="RUN", help=LIVE_RUN_HELP)
    add_data_dir(events)
    events.set_defaults(handler=_cmd_events)

    ctl = sub.add_parser(
        "ctl",
        help="interrupt, kill or restart tasks of a live run, or stop it",
        description=paragraph(
            "ctl RUN interrupt|kill|restart TASK...: act on tasks; ctl RUN stop: stop the whole "
            "run with the ladder (SIGINT, SIGTERM, SIGKILL)."
        ),
        epilog=CTL_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ctl.add_argument("run", metavar="RUN", help=LIVE_RUN_HELP)
    ctl.add_argument("action", choices=("interrupt", "kill", "restart", "stop"))
    ctl.add_argument("tasks", nargs="*", metavar="TASK")
    add_data_dir(ctl)
    ctl.set_defaults(handler=_cmd_ctl)

    add = sub.add_parser(
        "add",
        help="add tasks to a live run",
        description=paragraph(
            "Add a command (-c), an agent task (-a AGENT -p PROMPT) or a task file's tasks to a "
            "live run. They are checked as a task file is; an error exits 2 and adds nothing."
        ),
        epilog=CTL_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add.add_argument("run", metavar="RUN", help=LIVE_RUN_HELP)
    add.add_argument("taskfile", nargs="?", type=Path, help="a TOML task file ([[task]] tables)")
    add.add_argument(
        "-c",
        "--command",
        dest="commands",
        action="append",
        default=[],
        metavar="CMD",
        help="add a shell-command task (repeatable); NAME=CMD names it, as on run -c",
    )
    add.add_argument("-a", "--agent", metavar="AGENT")
    add.add_argument("-p", "--prompt", metavar="PROMPT")
    add.add_argument("--model", metavar="MODEL")
    add.add_argument("--name", metavar="NAME", help="the task's name (one task only)")
    add_data_dir(add)
    add.set_defaults(handler=_cmd_add)

    send = sub.add_parser(
        "send",
        help="send a message to an agent task of a live run (its next turn), or type a line "
        "into a pty = true task",
        description=paragraph(
            "Send MESSAGE (or - to read it from stdin) to an agent task: it starts the agent's "
            "next turn, in its own session where the CLI can resume one. A turn that is running "
            "gets it when it ends; --now interrupts it for the message. To a running command "
            "with pty = true, MESSAGE and Enter are typed into its terminal; a command without "
            "one takes no input (exit 1)."
        ),
        epilog=CTL_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    send.add_argument("run", metavar="RUN", help=LIVE_RUN_HELP)
    send.add_argument("task", metavar="TASK")
    send.add_argument("message", metavar="MESSAGE", help="the message, or - for stdin")
    send.add_argument("--now", action="store_true", help="interrupt a running turn for it")
    add_data_dir(send)
    send.set_defaults(handler=_cmd_send)

    mcp = sub.add_parser(
        "mcp",
        help="an MCP server on stdio: agents run and watch tasks through oneshot-tui",
        description=paragraph(
            "Serve the Model Context Protocol on stdin/stdout with tools to list live runs and "
            "their tasks, start a run or add a task, read a task's output or an agent's answer, "
            "interrupt, restart and stop (needs the mcp extra: pip install 'oneshot-tui[mcp]')."
        ),
    )
    add_data_dir(mcp)
    mcp.set_defaults(handler=_cmd_mcp)


def _find(args: argparse.Namespace) -> Any:
    from oneshot_tui.cli.live_runs import find_live_run

    return find_live_run(data_dir_of(args), args.run)


def _cmd_ps(args: argparse.Namespace) -> int:
    from oneshot_tui.cli.live_runs import live_runs
    from oneshot_tui.core.report import render_table

    runs = live_runs(data_dir_of(args))
    if args.json:
        doc = [
            {
                "run": r.run_id,
                "pid": r.pid,
                "log_dir": str(r.log_dir),
                "counts": r.status.get("counts", {}),
                "clients": r.status.get("clients", 0),
                "stopping": r.status.get("stopping", False),
            }
            for r in runs
        ]
        print(json.dumps(doc, indent=2))
        return ExitCode.OK
    if not runs:
        print("no live runs", file=sys.stderr)
        return ExitCode.OK
    rows = []
    for r in runs:
        counts = r.status.get("counts", {})
        states = " ".join(f"{n} {state}" for state, n in sorted(counts.items()))
        started = time.strftime("%H:%M:%S", time.localtime(r.log_dir.stat().st_mtime))
        clients = str(r.status.get("clients", 1) - 1)  # not counting our own question
        rows.append([r.run_id, str(r.pid), started, clients, states])
    print("\n".join(render_table(["RUN", "PID", "STARTED", "CLIENTS", "TASKS"], rows)))
    return ExitCode.OK


def _cmd_attach(args: argparse.Namespace) -> int:
    run = _find(args)
    if not sys.stdout.isatty():
        raise UsageError("attach needs a terminal (use `oneshot-tui events` in a script)")
    from oneshot_tui.ui.app import run_tui

    return run_tui(run.served, data_dir_of(args), owner=False)


def _cmd_events(args: argparse.Namespace) -> int:
    import anyio

    run = _find(args)
    return int(anyio.run(_stream_events, run.served.socket))


async def _stream_events(socket: Path) -> int:
    import anyio

    from oneshot_tui.control.client import ControlClient, RunGone

    out = sys.stdout.buffer
    last_code: list[int] = []

    async def printed(block: bytes) -> None:
        if b'"event":"run_finished"' in block:
            for raw in block.splitlines():
                if b'"event":"run_finished"' in raw:
                    last_code[:] = [int(json.loads(raw)["exit_code"])]
        out.write(block)
        out.flush()

    gone: list[str] = []
    broken = False
    try:
        async with await ControlClient.connect(socket) as client:
            client.on_raw = printed
            await client.subscribe(mode="lossless")
            while not client.closed:
                await anyio.sleep(0.05)
    except* BrokenPipeError:  # the reader went away (`| head`): quietly, like `run`
        broken = True
    except* RunGone as group:
        gone.extend(str(e) for e in group.exceptions)
    if broken:
        _quiet_stdout()
        return ExitCode.OK
    if gone:
        print(f"{PROG}: {gone[0]}", file=sys.stderr)
        return ExitCode.FAILED
    if not last_code:
        print(f"{PROG}: the run's process ended before the run finished", file=sys.stderr)
        return ExitCode.FAILED
    return last_code[0]


def _quiet_stdout() -> None:
    """The reader went away (`| head`): no complaint about the dead pipe at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _request(socket: Path, cmd: str, **fields: Any) -> dict[str, Any]:
    import anyio

    from oneshot_tui.control.client import ControlClient

    async def ask() -> dict[str, Any]:
        async with await ControlClient.connect(socket) as client:
            return await client.ask(cmd, **fields)

    result: dict[str, Any] = anyio.run(ask)
    return result


def _cmd_ctl(args: argparse.Namespace) -> int:
    if args.action == "stop":
        if args.tasks:
            raise UsageError("ctl RUN stop stops the whole run: give it no TASK")
        fields: dict[str, Any] = {"reason": "stopped by oneshot-tui ctl"}
    elif not args.tasks:
        raise UsageError(f"ctl RUN {args.action} needs at least one TASK")
    else:
        fields = {"tasks": args.tasks}
    run = _find(args)
    reply = _request(run.served.socket, args.action, **fields)
    return _said(reply)


def _said(reply: dict[str, Any]) -> int:
    if reply.get("ok"):
        return ExitCode.OK
    usage = bool(reply.get("unknown") or reply.get("usage"))
    said = "error: " if usage else ""
    print(f"{PROG}: {said}{reply.get('error') or 'refused'}", file=sys.stderr)
    return ExitCode.USAGE if usage else ExitCode.FAILED


def _cmd_add(args: argparse.Namespace) -> int:
    from oneshot_tui.config import ConfigError

    fields: dict[str, Any] = {"cwd": os.getcwd()}
    from oneshot_tui.config.command_names import split_named

    tables: list[dict[str, Any]] = []
    for arg in args.commands:  # NAME=command as on `run -c`
        name, command = split_named(arg)
        tables.append({"command": command, **({"name": name} if name else {})})
    if args.agent is not None:
        if not args.prompt:
            raise ConfigError(f"-a {args.agent} needs -p PROMPT")
        agent = {"agent": args.agent, "prompt": args.prompt}
        tables.append({**agent, **({"model": args.model} if args.model else {})})
    elif args.prompt or args.model:
        raise ConfigError("-p/--model need -a AGENT")
    if args.name is not None:
        if len(tables) != 1:
            raise ConfigError("--name names one -c or -a task")
        tables[0]["name"] = args.name
    if args.taskfile is not None:
        if tables:
            raise ConfigError("give a task file or -c/-a, not both")
        path = args.taskfile.resolve()
        try:
            fields.update(toml=path.read_text(encoding="utf-8"), source=str(path))
        except OSError as exc:
            raise ConfigError(f"cannot read: {exc.strerror or exc}", path=args.taskfile) from None
    elif not tables:
        raise ConfigError("nothing to add: give a task file, -c CMD or -a AGENT -p PROMPT")
    else:
        fields["tasks"] = tables
    run = _find(args)
    reply = _request(run.served.socket, "add", **fields)
    if reply.get("ok"):
        for name in reply.get("added", []):
            print(name)
    return _said(reply)


def _cmd_mcp(args: argparse.Namespace) -> int:
    from oneshot_tui.cli.mcp_server import run_mcp_server

    return run_mcp_server(data_dir_of(args))


def _cmd_send(args: argparse.Namespace) -> int:
    text = sys.stdin.read() if args.message == "-" else args.message
    if not text.strip():
        raise UsageError("the message is empty")
    run = _find(args)
    reply = _request(run.served.socket, "send", task=args.task, text=text, now=args.now)
    return _said(reply)
