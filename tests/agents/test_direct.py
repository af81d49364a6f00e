"""The `direct` executor (an OpenAI-compatible endpoint) as a task, against the fake model server:
a whole reply, an HTTP error, no server, a stream cut short, a rate limit; the key stays secret."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from oneshot_tui.core.activity import AgentTotals, Kind, ToolCall, ToolResult
from oneshot_tui.core.events import ProcessStarted, RetryScheduled
from oneshot_tui.core.spec import RunSettings
from oneshot_tui.core.states import TaskState as S
from oneshot_tui.orchestrator import Orchestrator
from tests.agents.helpers import agent_spec, kinds, parsed, settings
from tests.fakes.model_server import REPLY, FakeModelServer
from tests.helpers import run_recorded

RUN = RunSettings(max_concurrent=4, heartbeat_interval=0.05)
KEY = "sk-secret-key-1234567890"


@pytest.fixture
def server() -> Iterator[FakeModelServer]:
    with FakeModelServer() as fake:
        yield fake


def direct(prompt: str, base_url: str, **kw: object) -> object:
    return settings("direct", prompt, model="fake-model", base_url=base_url, **kw)


async def run_one(tmp_path: Path, data_dir: Path, prompt: str, base_url: str, **kw: object):  # type: ignore[no-untyped-def]
    spec = agent_spec("d", direct(prompt, base_url, **kw), cwd=tmp_path)  # type: ignore[arg-type]
    result, watcher = await run_recorded(Orchestrator([spec], RUN, data_dir=data_dir))
    return result.results[0], watcher


async def test_a_streamed_reply(tmp_path: Path, data_dir: Path, server: FakeModelServer) -> None:
    r, watcher = await run_one(tmp_path, data_dir, "Say hello", f"{server.url}/v1", api_key=KEY)
    assert r.state is S.COMPLETED, r.reason
    assert kinds(watcher.all(), "d") == [
        Kind.SESSION,
        Kind.DELTA,
        Kind.TEXT,
        Kind.USAGE,
        Kind.RESULT,
    ]
    assert r.totals == AgentTotals(12, 7, None, 0)
    [request] = server.requests
    assert request["path"] == "/v1/chat/completions" and request["model"] == "fake-model"
    assert request["stream"] is True and request["authorization"] == f"Bearer {KEY}"
    assert request["tools"] == ["run_shell", "read_file", "write_file"]
    # The key is in no event, no argv and no log.
    assert KEY not in repr(watcher.all())
    assert KEY not in Path(r.log_path or "").read_text()
    assert REPLY in Path(r.log_path or "").read_text()


async def test_the_model_runs_tools_in_the_task_directory(
    tmp_path: Path, data_dir: Path, server: FakeModelServer
) -> None:
    r, watcher = await run_one(
        tmp_path, data_dir, "RUN_TOOL: echo made by the model > made.txt", f"{server.url}/v1"
    )
    assert r.state is S.COMPLETED, r.reason
    assert (tmp_path / "made.txt").read_text() == "made by the model\n"
    events = parsed(watcher.all(), "d")
    [call] = [e for e in events if isinstance(e, ToolCall)]
    assert (call.tool, call.summary) == ("run_shell", "echo made by the model > made.txt")
    [result] = [e for e in events if isinstance(e, ToolResult)]
    assert result.ok and result.call_id == call.call_id
    assert r.totals is not None and r.totals.tool_calls == 1
    assert r.totals.input_tokens == 24  # two replies: usage adds up
    # The call and its result went back to the model, as the protocol has them.
    second = server.requests[-1]["body"]["messages"]
    assert [m["role"] for m in second] == ["system", "user", "assistant", "tool"]
    assert second[3]["tool_call_id"] == second[2]["tool_calls"][0]["id"]


def test_the_tools_stay_in_the_working_directory(tmp_path: Path) -> None:
    from oneshot_tui.agents.direct_client import Workspace

    work = Workspace(tmp_path, timeout=10)
    assert work.call("write_file", {"path": "a/b.txt", "content": "x"}) == (
        True,
        "wrote 1 characters to a/b.txt",
    )
    assert work.call("read_file", {"path": "a/b.txt"}) == (True, "x")
    ok, said = work.call("read_file", {"path": "../outside.txt"})
    assert not ok and "outside the working directory" in said
    ok, said = work.call("run_shell", {"command": "exit 3"})
    assert not ok and said.startswith("exit code 3")
    assert work.call("nope", {}) == (False, "no such tool: nope")


async def test_http_500_fails_with_the_reason(
    tmp_path: Path, data_dir: Path, server: FakeModelServer
) -> None:
    r, _ = await run_one(tmp_path, data_dir, "FAKE_HTTP_ERROR:500", f"{server.url}/v1")
    assert r.state is S.FAILED
    assert r.reason == "error: HTTP 500: fake error 500 (exit 1)"


async def test_no_server_fails_with_the_reason(tmp_path: Path, data_dir: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # free now, and nothing listens on it
    r, _ = await run_one(tmp_path, data_dir, "hello", f"http://127.0.0.1:{port}/v1")
    assert r.state is S.FAILED
    assert (
        r.reason == f"error: cannot reach http://127.0.0.1:{port}/v1: Connection refused (exit 1)"
    )


async def test_a_stream_cut_short_fails(
    tmp_path: Path, data_dir: Path, server: FakeModelServer
) -> None:
    r, watcher = await run_one(tmp_path, data_dir, "FAKE_CUT please", f"{server.url}/v1")
    assert r.state is S.FAILED
    assert "ended before the reply was complete" in r.reason or "broke off" in r.reason
    assert Kind.TEXT in kinds(watcher.all(), "d")  # what did arrive was shown


async def test_a_rate_limit_is_retried_then_reported(
    tmp_path: Path, data_dir: Path, server: FakeModelServer
) -> None:
    r, watcher = await run_one(
        tmp_path, data_dir, "FAKE_HTTP_ERROR:429", f"{server.url}/v1", retry_on_rate_limit=1
    )
    assert r.state is S.FAILED
    assert r.reason == "rate limited: HTTP 429: fake error 429 (exit 1)"
    [retry] = [e for e in watcher.all() if isinstance(e, RetryScheduled)]
    assert retry.delay == 1.0  # the server's Retry-After, not the 30 s default
    assert len([e for e in watcher.all() if isinstance(e, ProcessStarted)]) == 2
