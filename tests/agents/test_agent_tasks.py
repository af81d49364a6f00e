"""Agent tasks in the real engine, with a stand-in CLI that replays a real CLI's recorded output:
activity, totals, budgets, rate-limit retries, a missing binary, escaped helpers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest

from oneshot_tui.core.activity import AgentTotals, FinalResult, Kind, ToolCall
from oneshot_tui.core.events import (
    Activity,
    Output,
    ProcessStarted,
    RetryScheduled,
    TaskExited,
    TotalsChanged,
)
from oneshot_tui.core.spec import RunSettings, TaskPolicy
from oneshot_tui.core.states import TaskState as S
from oneshot_tui.orchestrator import Orchestrator
from tests.agents.helpers import (
    TRANSCRIPTS,
    FakeAgent,
    agent_spec,
    kinds,
    parsed,
    settings,
    write_lines,
)
from tests.helpers import Watcher, pid_alive, run_recorded

RUN = RunSettings(max_concurrent=4, heartbeat_interval=0.05)

CLAUDE_429 = {
    "type": "result",
    "subtype": "success",
    "is_error": True,
    "api_error_status": 429,
    "result": "API Error: Request rejected (429) · rate limited",
    "usage": {},
}


async def test_a_claude_task_shows_activity_and_keeps_totals(
    tmp_path: Path, data_dir: Path
) -> None:
    agent = FakeAgent(tmp_path, "claude", [{"out": "claude-tool.out"}])
    spec = agent_spec("c", settings(model="m1"), cwd=tmp_path, env=agent.env)
    result, watcher = await run_recorded(Orchestrator([spec], RUN, data_dir=data_dir))
    [r] = result.results
    assert r.state is S.COMPLETED and result.exit_code == 0
    assert r.totals == AgentTotals(24, 14, 0.00047, 1)
    assert kinds(watcher.all(), "c") == [
        Kind.SESSION,
        Kind.TEXT,
        Kind.USAGE,
        Kind.TOOL_CALL,
        Kind.TOOL_RESULT,
        Kind.TEXT,
        Kind.USAGE,
        Kind.USAGE,
        Kind.RESULT,
    ]
    shown = [e for e in watcher.all() if isinstance(e, Output) and e.task_id == "c"]
    assert all(e.stream == "activity" for e in shown)
    text = "\n".join(e.text for e in shown)
    assert "▸ Bash  echo hi" in text and "◂ ok  hi" in text
    assert "✓ result FAKE_DONE: tool output was: hi  38 tok  $0.0005  1 tool" in text
    # The log file has the raw stream, byte for byte.
    assert Path(r.log_path or "").read_bytes() == (TRANSCRIPTS / "claude-tool.out").read_bytes()
    totals = [e.totals for e in watcher.all() if isinstance(e, TotalsChanged)]
    assert totals[-1] == r.totals
    # The executor's argv: the prompt is one element, after "--"; the model is passed on.
    [argv] = agent.argvs()
    assert argv[-2:] == ["--", "do it"] and argv[argv.index("--model") + 1] == "m1"


async def test_a_missing_binary_fails_naming_the_package(tmp_path: Path, data_dir: Path) -> None:
    spec = agent_spec("c", settings("codex"), cwd=tmp_path, env={"PATH": str(tmp_path)})
    result, watcher = await run_recorded(Orchestrator([spec], RUN, data_dir=data_dir))
    [r] = result.results
    assert r.state is S.FAILED
    assert r.reason == "codex not found on PATH: install it with `npm install -g @openai/codex`"
    assert kinds(watcher.all(), "c") == [Kind.ERROR]


async def test_an_api_error_fails_with_its_message(tmp_path: Path, data_dir: Path) -> None:
    error = dict(CLAUDE_429, api_error_status=400, result="API Error: 400 bad request")
    out = write_lines(tmp_path / "err.out", [error])
    agent = FakeAgent(tmp_path, "claude", [{"out": out, "exit": 1}])
    spec = agent_spec("c", settings(), cwd=tmp_path, env=agent.env)
    result, _ = await run_recorded(Orchestrator([spec], RUN, data_dir=data_dir))
    [r] = result.results
    assert r.state is S.FAILED
    assert r.reason == "error: API Error: 400 bad request (exit 1)"


async def test_exit_0_without_a_result_is_a_failure(tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "cut.out"
    out.write_bytes((TRANSCRIPTS / "claude-tool.out").read_bytes().splitlines(keepends=True)[0])
    agent = FakeAgent(tmp_path, "claude", [{"out": str(out)}])
    spec = agent_spec("c", settings(), cwd=tmp_path, env=agent.env)
    result, _ = await run_recorded(Orchestrator([spec], RUN, data_dir=data_dir))
    assert result.results[0].state is S.FAILED
    assert result.results[0].reason == "claude ended without a result (exit 0)"


async def test_too_many_tool_calls_stop_the_task_as_a_runaway(
    tmp_path: Path, data_dir: Path
) -> None:
    agent = FakeAgent(tmp_path, "claude", [{"out": "claude-tool.out", "sleep_after": 60}])
    spec = agent_spec("c", settings(max_tool_calls=0), cwd=tmp_path, env=agent.env)
    with anyio.fail_after(30):
        result, _ = await run_recorded(Orchestrator([spec], RUN, data_dir=data_dir))
    [r] = result.results
    assert r.state is S.INTERRUPTED
    assert r.reason == "runaway: 1 tool call, over max_tool_calls = 0"


async def test_cost_and_tokens_budgets(tmp_path: Path, data_dir: Path) -> None:
    agent = FakeAgent(tmp_path, "claude", [{"out": "claude-tool.out", "sleep_after": 60}])
    specs = [
        agent_spec("cost", settings(max_cost_usd=0.0001), cwd=tmp_path, env=agent.env),
        agent_spec("tokens", settings(max_tokens=20), cwd=tmp_path, env=agent.env),
    ]
    with anyio.fail_after(30):
        result, _ = await run_recorded(Orchestrator(specs, RUN, data_dir=data_dir))
    by_id = {r.task_id: r for r in result.results}
    # The cost is estimated live (claude prices it only in its final result): the budget stops
    # the agent on the estimate, before the result, and says it was one.
    assert by_id["cost"].state is S.INTERRUPTED
    assert by_id["cost"].reason.startswith("runaway: an estimated cost $")
    assert by_id["cost"].reason.endswith(", over max_cost_usd = 0.0001")
    assert by_id["tokens"].state is S.INTERRUPTED
    assert by_id["tokens"].reason.startswith("runaway: ")
    assert by_id["tokens"].reason.endswith(" tokens, over max_tokens = 20")


async def test_a_rate_limit_is_retried_after_a_countdown(tmp_path: Path, data_dir: Path) -> None:
    limited = write_lines(tmp_path / "429.out", [CLAUDE_429])
    plan: list[dict[str, Any]] = [{"out": limited, "exit": 1}, {"out": "claude-text.out"}]
    agent = FakeAgent(tmp_path, "claude", plan)
    spec = agent_spec(
        "c",
        settings(retry_on_rate_limit=2, rate_limit_backoff=0.05),
        cwd=tmp_path,
        env=agent.env,
    )
    result, watcher = await run_recorded(Orchestrator([spec], RUN, data_dir=data_dir))
    [r] = result.results
    assert r.state is S.COMPLETED and r.attempts == 1
    [retry] = [e for e in watcher.all() if isinstance(e, RetryScheduled)]
    assert (retry.retry, retry.retries, retry.delay) == (1, 2, 0.05)
    assert retry.resume_at == retry.ts + 0.05
    assert retry.reason.startswith("rate limited: API Error: Request rejected (429)")
    labels = [e.label for e in watcher.all() if isinstance(e, ProcessStarted)]
    assert labels == ["", "try 2"]
    assert len(agent.argvs()) == 2


async def test_a_rate_limit_without_retries_is_reported_as_such(
    tmp_path: Path, data_dir: Path
) -> None:
    limited = write_lines(tmp_path / "429.out", [CLAUDE_429])
    agent = FakeAgent(tmp_path, "claude", [{"out": limited, "exit": 1}])
    spec = agent_spec("c", settings(), cwd=tmp_path, env=agent.env)
    result, _ = await run_recorded(Orchestrator([spec], RUN, data_dir=data_dir))
    [r] = result.results
    assert r.state is S.FAILED
    assert r.reason == "rate limited: API Error: Request rejected (429) · rate limited (exit 1)"


async def test_an_interrupt_during_the_backoff_ends_the_task_interrupted(
    tmp_path: Path, data_dir: Path
) -> None:
    limited = write_lines(tmp_path / "429.out", [CLAUDE_429])
    agent = FakeAgent(tmp_path, "claude", [{"out": limited, "exit": 1}])
    spec = agent_spec(
        "c", settings(retry_on_rate_limit=1, rate_limit_backoff=600), cwd=tmp_path, env=agent.env
    )
    orch = Orchestrator([spec], RUN, data_dir=data_dir)
    watcher = Watcher(orch.bus)
    async with anyio.create_task_group() as tg:
        tg.start_soon(orch.run)
        await watcher.wait_for(lambda e: isinstance(e, RetryScheduled))
        orch.interrupt("c")
    assert orch.tasks["c"].state is S.INTERRUPTED
    assert orch.tasks["c"].reason == "interrupted by user"


async def test_a_helper_that_left_the_group_is_stopped(tmp_path: Path, data_dir: Path) -> None:
    agent = FakeAgent(tmp_path, "cline", [{"out": "cline-text.out", "detach": True}])
    spec = agent_spec("k", settings("cline"), cwd=tmp_path, env=agent.env)
    result, _ = await run_recorded(Orchestrator([spec], RUN, data_dir=data_dir))
    assert result.results[0].state is S.COMPLETED
    assert not pid_alive(agent.detached_pid())


async def test_ndjson_and_text_lines_of_an_agent_task(tmp_path: Path, data_dir: Path) -> None:
    import io

    from oneshot_tui.headless.ndjson import JsonPrinter
    from oneshot_tui.headless.printer import TextPrinter

    agent = FakeAgent(tmp_path, "gemini", [{"out": "gemini-tool.out"}])
    spec = agent_spec("g", settings("gemini"), cwd=tmp_path, env=agent.env)
    result, watcher = await run_recorded(Orchestrator([spec], RUN, data_dir=data_dir))
    assert result.exit_code == 0
    out, err = io.BytesIO(), io.StringIO()
    TextPrinter(out, err, ["g"]).handle(watcher.all())
    assert out.getvalue().decode().splitlines() == [
        "g | ● session c1b0d0b0-aae6-497f-b97e-5fb9c9813c88  gemini-2.5-flash",
        "g | ▸ run_shell_command  echo hi",
        "g | ◂ ok  hi",
        "g | FAKE_DONE: tool output was: Output: hi | Process Group PGID: 3161",
        # gemini says no cost: it is its tokens at gemini-2.5-flash's list price.
        "g | ✓ result FAKE_DONE: tool output was: Output: hi | Process Group PGID: 3161  38 tok"
        "  $0.000042  1 tool",
    ]
    assert "TOKENS  COST" in err.getvalue() and "$0.000042" in err.getvalue()
    nd = io.BytesIO()
    JsonPrinter(nd, "run").handle(watcher.all())
    objs = [json.loads(line) for line in nd.getvalue().splitlines()]
    events = [o["event"] for o in objs]
    assert "output" not in events  # activity lines are not repeated as output
    acts = [o for o in objs if o["event"] == "activity"]
    assert [a["kind"] for a in acts] == [
        "session",
        "tool_call",
        "tool_result",
        "delta",  # gemini streams its answer: the piece as it came
        "text",  # then the whole of it
        "usage",
        "result",
    ]
    assert acts[1]["data"] == {
        "type": "tool_call",
        "tool": "run_shell_command",
        "summary": "echo hi",
        "call_id": "run_shell_command__run_shell_command_1795931453323_0",
    }
    [finished] = [o for o in objs if o["event"] == "run_finished"]
    assert finished["results"][0]["totals"] == {
        "input_tokens": 24,
        "output_tokens": 14,
        "cost_usd": pytest.approx(24 * 0.3e-6 + 14 * 2.5e-6),
        "tool_calls": 1,
        "estimated": False,
        "denials": 0,
    }
    assert [o for o in objs if o["event"] == "totals"][-1]["tool_calls"] == 1
    assert isinstance(parsed(watcher.all(), "g")[-1], FinalResult)
    assert isinstance(parsed(watcher.all(), "g")[1], ToolCall)
    _ = TaskPolicy


async def test_a_failure_says_what_the_cli_said_on_stderr(tmp_path: Path, data_dir: Path) -> None:
    empty = write_lines(tmp_path / "nothing.out", [])
    plan = [
        {
            "out": empty,
            "exit": 1,
            "stderr": "Error: SQLITE_BUSY: database is locked\n    at open (/$bunfs/root/db.js:1:1)",
        }
    ]
    agent = FakeAgent(tmp_path, "opencode", plan)
    spec = agent_spec("o", settings("opencode"), cwd=tmp_path, env=agent.env)
    result, _ = await run_recorded(Orchestrator([spec], RUN, data_dir=data_dir))
    assert result.results[0].reason == (
        "opencode failed: exit 1: Error: SQLITE_BUSY: database is locked"
    )


async def test_denied_tool_calls_are_shown_and_mark_the_task(
    tmp_path: Path, data_dir: Path
) -> None:
    result_line = {
        "type": "result",
        "subtype": "success",
        "is_error": False,
        "result": "I could not write the file.",
        "usage": {"input_tokens": 5, "output_tokens": 5},
        "permission_denials": [
            {"tool_name": "Write", "tool_use_id": "t1", "tool_input": {"file_path": "a.txt"}},
            {"tool_name": "Bash", "tool_use_id": "t2", "tool_input": {"command": "rm -rf x"}},
        ],
    }
    out = write_lines(tmp_path / "denied.out", [result_line])
    agent = FakeAgent(tmp_path, "claude", [{"out": out}])
    spec = agent_spec("c", settings(), cwd=tmp_path, env=agent.env)
    result, watcher = await run_recorded(Orchestrator([spec], RUN, data_dir=data_dir))
    [r] = result.results
    assert r.state is S.COMPLETED
    assert r.attention == "2 tool calls denied permission (Write, Bash)"
    assert r.totals is not None and r.totals.denials == 2
    shown = watcher.output_text("c")
    assert "⛔ denied  Write  a.txt" in shown and "⛔ denied  Bash  rm -rf x" in shown
    [exited] = [e for e in watcher.all() if isinstance(e, TaskExited)]
    assert exited.attention == r.attention


async def test_streamed_text_is_shown_line_by_line_once(tmp_path: Path, data_dir: Path) -> None:
    def delta(text: str) -> dict[str, Any]:
        event = {"type": "content_block_delta", "delta": {"type": "text_delta", "text": text}}
        return {"type": "stream_event", "event": event}

    lines = [
        delta("First li"),
        delta("ne.\nSecond"),
        delta(" line."),
        {
            "type": "assistant",
            "message": {
                "id": "m",
                "content": [{"type": "text", "text": "First line.\nSecond line."}],
            },
        },
        {"type": "result", "subtype": "success", "is_error": False, "result": "ok", "usage": {}},
    ]
    out = write_lines(tmp_path / "deltas.out", lines)
    agent = FakeAgent(tmp_path, "claude", [{"out": out}])
    spec = agent_spec("c", settings(), cwd=tmp_path, env=agent.env)
    _, watcher = await run_recorded(Orchestrator([spec], RUN, data_dir=data_dir))
    shown = watcher.output_text("c").splitlines()
    assert shown.count("First line.") == 1 and shown.count("Second line.") == 1
    titles = [a.text for a in watcher.all() if isinstance(a, Activity) and a.kind == "delta"]
    assert titles == ["First li", "Second", "Second line."]  # the line being written


async def test_the_first_run_of_a_racy_cli_goes_alone(tmp_path: Path) -> None:
    """opencode's first runs on a fresh HOME race in its SQLite set-up: one goes first."""
    from oneshot_tui.orchestrator.agent_pool import AgentPool

    pool = AgentPool()
    order: list[str] = []

    async def run(name: str, delay: float) -> None:
        await anyio.sleep(delay)
        async with pool.first_run("opencode", "/home/x", racy=True) as going:
            order.append(f"{name} starts")
            await anyio.sleep(0.05)
            going()
            order.append(f"{name} going")
            await anyio.sleep(0.05)
        order.append(f"{name} ends")

    async with anyio.create_task_group() as tg:
        tg.start_soon(run, "a", 0)
        tg.start_soon(run, "b", 0.01)
    assert order.index("a going") < order.index("b starts")
    assert order.index("b starts") < order.index("a ends")  # not held until a ended


async def test_agent_limits_hold_a_task_until_its_agent_has_room() -> None:
    from oneshot_tui.orchestrator.agent_pool import AgentPool

    pool = AgentPool({"claude": 1})
    got: list[str] = []

    async def take(candidates: list[str]) -> None:
        async with pool.take(candidates) as name:
            got.append(name)
            await anyio.sleep(0.05)

    async with anyio.create_task_group() as tg:
        tg.start_soon(take, ["claude", "codex"])
        await anyio.sleep(0.01)
        tg.start_soon(take, ["claude", "codex"])  # claude is full: spread to codex
        await anyio.sleep(0.01)
        tg.start_soon(take, ["claude"])  # waits for claude
    assert got == ["claude", "codex", "claude"]
