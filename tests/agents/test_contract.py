"""Contract tests: the real agent CLIs, run by our executors against the fake model server.

They check that what each pinned CLI prints today is parsed into the activity model: a session,
the shell tool call and its result, usage and the final result; that the CLIs' error traps are
read right; and that an interrupt leaves no process behind, cline's hub daemon included.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from oneshot_tui.core.activity import (
    FinalResult,
    SessionStarted,
    ToolCall,
    ToolResult,
    Usage,
)
from oneshot_tui.core.events import ProcessStarted
from oneshot_tui.core.spec import RunSettings, TaskPolicy
from oneshot_tui.core.states import TaskState as S
from oneshot_tui.orchestrator import Orchestrator
from tests.agents.clis import CLIS, require_clis, setup
from tests.agents.helpers import agent_spec, parsed, settings
from tests.fakes.model_server import FakeModelServer
from tests.helpers import Watcher, group_members, run_recorded

pytestmark = pytest.mark.contract
RUN = RunSettings(max_concurrent=4, heartbeat_interval=0.1)
POLICY = TaskPolicy(timeout=120, grace=3)


@pytest.fixture
def server() -> Iterator[FakeModelServer]:
    require_clis()
    with FakeModelServer() as fake:
        yield fake


def spec_for(agent: str, prompt: str, tmp_path: Path, server: FakeModelServer, name: str = "a"):  # type: ignore[no-untyped-def]
    env, extra = setup(agent, tmp_path / f"home-{name}", server.url)
    work = tmp_path / f"work-{name}"
    work.mkdir()
    return agent_spec(name, settings(agent, prompt, **extra), cwd=work, env=env, policy=POLICY)


def hub_daemons(cwd: Path) -> list[int]:
    """Cline hub daemons started for `cwd` (their command line names it)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"--cline-hub-daemon" in argv and str(cwd).encode() in argv:
            found.append(int(entry))
    return found


@pytest.mark.parametrize("agent", CLIS)
async def test_a_tool_call_run_is_parsed(
    agent: str, tmp_path: Path, data_dir: Path, server: FakeModelServer
) -> None:
    spec = spec_for(agent, "RUN_TOOL: echo hi", tmp_path, server)
    result, watcher = await run_recorded(Orchestrator([spec], RUN, data_dir=data_dir))
    [r] = result.results
    events = parsed(watcher.all(), "a")
    log = Path(r.log_path or "").read_text(errors="replace")
    assert r.state is S.COMPLETED, f"{r.reason}\n{log[-3000:]}"
    [session] = [e for e in events if isinstance(e, SessionStarted)]
    assert session.session_id
    calls = [e for e in events if isinstance(e, ToolCall)]
    assert [c.summary for c in calls] == ["echo hi"], log[-3000:]
    tool_results = [e for e in events if isinstance(e, ToolResult)]
    assert len(tool_results) == 1 and tool_results[0].ok and "hi" in tool_results[0].output
    [final] = [e for e in events if isinstance(e, FinalResult)]
    assert final.text.startswith("FAKE_DONE: tool output was:") and not final.is_error
    usage = [e for e in events if isinstance(e, Usage)][-1]
    assert usage.input_tokens >= 24 and usage.output_tokens >= 14
    assert r.totals is not None and r.totals.tool_calls == 1
    if agent == "cline":
        assert hub_daemons(Path(spec.cwd or "")) == []


@pytest.mark.parametrize(
    ("agent", "prompt", "reason"),
    [
        ("claude", "FAKE_HTTP_ERROR:400 hello", "error: API Error: 400"),
        ("codex", "FAKE_HTTP_ERROR:400 hello", "error: "),
        ("gemini", "FAKE_HTTP_ERROR:429 hello", "rate limited: [API Error: fake error 429]"),
        ("qwen", "FAKE_HTTP_ERROR:400 hello", "error: [API Error: 400 fake error 400] (exit 0)"),
        ("opencode", "FAKE_HTTP_ERROR:400 hello", "error: "),
    ],
)
async def test_api_errors_fail_the_task_with_the_reason(
    agent: str, prompt: str, reason: str, tmp_path: Path, data_dir: Path, server: FakeModelServer
) -> None:
    spec = spec_for(agent, prompt, tmp_path, server)
    result, _ = await run_recorded(Orchestrator([spec], RUN, data_dir=data_dir))
    [r] = result.results
    assert r.state is S.FAILED, r.reason
    assert r.reason.startswith(reason), r.reason


@pytest.mark.parametrize("agent", ["claude", "cline"])
async def test_interrupting_a_waiting_agent_leaves_nothing_behind(
    agent: str, tmp_path: Path, data_dir: Path, server: FakeModelServer
) -> None:
    spec = spec_for(agent, "FAKE_SLOW:120 take your time", tmp_path, server)
    orch = Orchestrator([spec], RUN, data_dir=data_dir)
    watcher = Watcher(orch.bus)
    with anyio.fail_after(90):
        async with anyio.create_task_group() as tg:
            tg.start_soon(orch.run)
            started = await watcher.wait_for_a(ProcessStarted, timeout=60)
            while not server.holding.is_set():  # the agent is waiting on the model's reply
                await anyio.sleep(0.05)
            orch.interrupt("a")
    task = orch.tasks["a"]
    assert task.state is S.INTERRUPTED and task.reason == "interrupted by user"
    assert group_members(started.pid) == []
    assert hub_daemons(Path(spec.cwd or "")) == []
