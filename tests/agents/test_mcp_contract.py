"""A real agent CLI (claude) given `oneshot-tui mcp` as an MCP server (`--mcp-config`), against
the fake model server: the model calls our tool, the CLI runs it through our server, and the
answer carries what the live run reported."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import anyio
import pytest

from oneshot_tui.core.activity import FinalResult, ToolCall
from oneshot_tui.core.spec import RunSettings, TaskPolicy
from oneshot_tui.core.states import TaskState as S
from oneshot_tui.orchestrator import Orchestrator
from tests.agents.clis import require_clis, setup
from tests.agents.helpers import agent_spec, parsed, settings
from tests.fakes import fake
from tests.fakes.model_server import FakeModelServer
from tests.helpers import cli_argv, run_recorded

pytestmark = pytest.mark.contract


async def test_claude_lists_our_live_runs_through_the_mcp_server(
    tmp_path: Path, data_dir: Path
) -> None:
    require_clis()
    quiet = f"{sys.executable} {fake('quiet.py')} watched-through-mcp"
    env = {"ONESHOT_TUI_HOME": str(data_dir)}
    started = await anyio.run_process(
        [*cli_argv(), "run", "--detach", "-c", quiet], env={**os.environ, **env}
    )
    run_id = started.stdout.decode().strip()
    try:
        config = tmp_path / "mcp.json"
        argv = cli_argv()
        server_entry = {"command": argv[0], "args": [*argv[1:], "mcp", "--data-dir", str(data_dir)]}
        config.write_text(json.dumps({"mcpServers": {"oneshot": server_entry}}))
        with FakeModelServer() as server:
            agent_env, extra = setup("claude", tmp_path / "home", server.url)
            # Start only once our MCP server is connected (else its tools may not be offered yet).
            agent_env["MCP_CONNECTION_NONBLOCKING"] = "0"
            work = tmp_path / "work"
            work.mkdir()
            flags = (
                *("--mcp-config", str(config), "--strict-mcp-config"),
                *("--allowedTools", "mcp__oneshot"),
            )
            agent = settings(
                "claude", "CALL_TOOL:mcp__oneshot__list_runs {}", **{**extra, "args": flags}
            )
            spec = agent_spec("a", agent, cwd=work, env=agent_env, policy=TaskPolicy(timeout=120))
            result, watcher = await run_recorded(
                Orchestrator([spec], RunSettings(heartbeat_interval=0.1), data_dir=data_dir)
            )
        [r] = result.results
        log = Path(r.log_path or "").read_text(errors="replace")
        assert r.state is S.COMPLETED, f"{r.reason}\n{log[-3000:]}"
        events = parsed(watcher.all(), "a")
        calls = [e for e in events if isinstance(e, ToolCall)]
        assert [c.tool for c in calls] == ["mcp__oneshot__list_runs"], log[-3000:]
        [final] = [e for e in events if isinstance(e, FinalResult)]
        assert run_id in final.text, final.text  # the tool's answer named our live run
    finally:
        await anyio.run_process(
            [*cli_argv(), "ctl", run_id, "stop"], env={**os.environ, **env}, check=False
        )
