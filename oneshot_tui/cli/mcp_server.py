"""`oneshot-tui mcp`: an MCP server on stdio (the `mcp` SDK, extra `[mcp]`), so an agent can run and
watch sub-agents and commands through oneshot-tui: list live runs and their tasks, start a run or
add a task, read a task's last lines or an agent's answer, interrupt, restart, stop.

Every tool is a client of a live run's control socket (docs/protocol.md); a run it starts is a
detached run (`oneshot-tui run --detach`), which a person can `attach` to and watch too.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import anyio

from oneshot_tui.cli.live_runs import LiveRun, NoLiveRun, find_live_runs, pick_live_run
from oneshot_tui.control.client import ControlClient, RunGone

MCP_MISSING = "the MCP server needs the mcp SDK: pip install 'oneshot-tui[mcp]'"
START_TIMEOUT = 120.0


def build_server(data_dir: Path) -> Any:
    """The MCP server with its tools, for `data_dir`'s runs."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError  # the model reads its message

    server = MCPServer(
        "oneshot-tui",
        instructions=(
            "Run shell commands and AI coding agents in parallel with oneshot-tui, watch them and "
            "steer them. Runs are identified by id ('last' is the newest live run)."
        ),
    )

    async def live(run: str) -> LiveRun:
        try:
            return pick_live_run(await find_live_runs(data_dir), data_dir, run or None)
        except NoLiveRun as exc:
            raise ToolError(str(exc)) from None

    async def ask(run: str, cmd: str, **fields: Any) -> dict[str, Any]:
        target = await live(run)
        try:
            async with await ControlClient.connect(target.served.socket) as client:
                reply = await client.ask(cmd, **fields)
        except RunGone as exc:
            raise ToolError(str(exc)) from None
        if not reply.get("ok"):
            raise ToolError(str(reply.get("error") or "refused"))
        reply.pop("reply", None)
        reply.pop("ok", None)
        return reply

    @server.tool()
    async def list_runs() -> list[dict[str, Any]]:
        """The live runs: id, pid, tasks per state, clients attached."""
        return [
            {"run": r.run_id, "pid": r.pid, "counts": r.status.get("counts", {})}
            for r in await find_live_runs(data_dir)
        ]

    @server.tool()
    async def list_tasks(run: str = "last") -> list[dict[str, Any]]:
        """The tasks of a live run: name, state, attempt, exit code, reason."""
        tasks: list[dict[str, Any]] = (await ask(run, "status"))["tasks"]
        return tasks

    @server.tool()
    async def start_run(
        commands: list[str] | None = None,
        agent: str | None = None,
        prompt: str | None = None,
        model: str | None = None,
        cwd: str | None = None,
        exit_on_finish: bool = False,
    ) -> dict[str, Any]:
        """Start a run in the background: shell `commands` and/or one `agent` task (claude,
        codex, gemini, qwen, opencode, cline, aider, direct) on `prompt`. Returns its id."""
        argv = [sys.executable, "-m", "oneshot_tui", "run", "--detach", "--data-dir", str(data_dir)]
        for command in commands or []:
            argv += ["-c", command]
        if agent is not None:
            argv += ["-a", agent, "-p", prompt or ""]
            if model:
                argv += ["--model", model]
        if exit_on_finish:
            argv.append("--exit-on-finish")
        with anyio.fail_after(START_TIMEOUT):
            proc = await anyio.run_process(argv, cwd=cwd, check=False)
        if proc.returncode != 0:
            raise ToolError(proc.stderr.decode(errors="replace").strip() or "the run did not start")
        return {"run": proc.stdout.decode().strip()}

    @server.tool()
    async def add_task(
        run: str = "last",
        command: str | None = None,
        agent: str | None = None,
        prompt: str | None = None,
        model: str | None = None,
        name: str | None = None,
        cwd: str | None = None,
    ) -> dict[str, Any]:
        """Add a shell `command`, or an `agent` task on `prompt`, to a live run."""
        table: dict[str, Any] = {}
        if command is not None:
            table["command"] = command
        if agent is not None:
            table.update(agent=agent, prompt=prompt or "")
            if model:
                table["model"] = model
        if name:
            table["name"] = name
        return await ask(run, "add", tasks=[table], cwd=cwd or str(Path.cwd()), source="<mcp>")

    @server.tool()
    async def task_output(task: str, run: str = "last", lines: int = 50) -> dict[str, Any]:
        """A task's last `lines` lines of output (an agent's as readable activity) and state."""
        return await ask(run, "tail", task=task, lines=lines)

    @server.tool()
    async def task_result(task: str, run: str = "last") -> dict[str, Any]:
        """An agent task's final answer (null until it gives one), its state and totals."""
        return await ask(run, "result", task=task)

    @server.tool()
    async def send_message(
        task: str, message: str, run: str = "last", now: bool = False
    ) -> dict[str, Any]:
        """Send a message to an agent task: its next turn, in the agent's own session where the
        CLI can resume one (a running turn gets it when it ends; `now` interrupts it for it)."""
        return await ask(run, "send", task=task, text=message, now=now)

    @server.tool()
    async def interrupt_task(task: str, run: str = "last") -> dict[str, Any]:
        """Stop a task with the ladder: SIGINT, SIGTERM, then SIGKILL."""
        return await ask(run, "interrupt", tasks=[task])

    @server.tool()
    async def restart_task(task: str, run: str = "last") -> dict[str, Any]:
        """Start a task again (a live one is stopped first)."""
        return await ask(run, "restart", tasks=[task])

    @server.tool()
    async def stop_run(run: str = "last") -> dict[str, Any]:
        """Stop a whole run: every task with the ladder; the run then ends."""
        return await ask(run, "stop", reason="stopped through MCP")

    return server


def run_mcp_server(data_dir: Path) -> int:
    try:
        server = build_server(data_dir)
    except ImportError as exc:
        if (exc.name or "").split(".")[0] == "mcp":
            from oneshot_tui.core.exit_codes import UsageError

            raise UsageError(MCP_MISSING) from None
        raise
    server.run("stdio")
    return 0
