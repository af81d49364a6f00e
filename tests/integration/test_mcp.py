"""`oneshot-tui mcp` with a real MCP client session from the same SDK, over stdio: an agent's
view of running and watching tasks through oneshot-tui."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.fakes import fake
from tests.helpers import cli_argv
from tests.ui.tmux import quiet_pids


def content(result: Any) -> Any:
    assert not result.is_error, result
    structured = getattr(result, "structured_content", None)
    if structured is not None:
        return structured.get("result", structured)
    return json.loads(result.content[0].text)


async def test_an_mcp_client_starts_watches_and_stops_a_run(data_dir: Path, tmp_path: Path) -> None:
    argv = cli_argv()
    params = StdioServerParameters(
        command=argv[0], args=[*argv[1:], "mcp", "--data-dir", str(data_dir)], cwd=str(tmp_path)
    )
    quiet = f"{sys.executable} {fake('quiet.py')} mcp-is-watching"
    with anyio.fail_after(120):
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            tools = {tool.name for tool in (await session.list_tools()).tools}
            assert {"list_runs", "start_run", "add_task", "task_output", "task_result"} <= tools
            assert {"interrupt_task", "restart_task", "stop_run", "list_tasks"} <= tools
            assert content(await session.call_tool("list_runs", {})) == []
            started = content(
                await session.call_tool(
                    "start_run", {"commands": ["echo hello from mcp", quiet], "cwd": str(tmp_path)}
                )
            )
            run = started["run"]
            runs = content(await session.call_tool("list_runs", {}))
            assert [r["run"] for r in runs] == [run]
            added = content(
                await session.call_tool("add_task", {"run": run, "command": "echo more"})
            )
            # Named from its words, as `run -c` names a command
            assert added["added"] == ["echo-more"]

            async def output(task: str) -> list[str]:
                reply = content(await session.call_tool("task_output", {"run": run, "task": task}))
                lines: list[str] = reply["lines"]
                return lines

            while "mcp-is-watching" not in await output(_name(quiet)):
                await anyio.sleep(0.1)
            assert await output("echo-hello-from") == ["hello from mcp"]
            tasks = {
                t["task"]: t["state"]
                for t in content(await session.call_tool("list_tasks", {"run": run}))
            }
            assert tasks["echo-hello-from"] == "completed"
            refused = await session.call_tool(
                "interrupt_task", {"run": run, "task": "echo-hello-from"}
            )
            assert refused.is_error and "echo-hello-from is completed" in str(refused.content[0])
            result = content(
                await session.call_tool("task_result", {"run": run, "task": "echo-hello-from"})
            )
            assert result["text"] is None and result["state"] == "completed"
            content(await session.call_tool("stop_run", {"run": run}))
            while content(await session.call_tool("list_runs", {})):
                await anyio.sleep(0.1)
    assert quiet_pids("mcp-is-watching") == []


def _name(command: str) -> str:
    from oneshot_tui.config.command_names import name_from_command

    return name_from_command(command)
