"""Contract tests of what the executors do around the parse, with the real CLIs against the fake
model server: whole long answers, text shown as it streams, budgets that stop a runaway while it
runs, resumed sessions with the first turn's permissions, rate limits read with their units and
resumed in the agent's session, and a task that goes on with the next agent of its list."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from oneshot_tui.agents import executor
from oneshot_tui.core.activity import (
    AssistantText,
    FinalResult,
    SessionStarted,
    TextDelta,
    Thinking,
    ToolCall,
)
from oneshot_tui.core.events import Activity, AgentChosen, ProcessStarted, RetryScheduled
from oneshot_tui.core.spec import RunSettings, TaskPolicy, TaskSpec
from oneshot_tui.core.states import TaskState as S
from oneshot_tui.orchestrator import Orchestrator
from oneshot_tui.orchestrator.agent_body import Meter, request_for, run_agent
from oneshot_tui.orchestrator.attempt import Attempt
from oneshot_tui.orchestrator.body import Outcome
from tests.agents.clis import CLIS, require_clis, setup
from tests.agents.helpers import agent_spec, parsed, settings
from tests.fakes.model_server import FakeModelServer
from tests.helpers import Watcher, run_recorded

pytestmark = pytest.mark.contract
RUN = RunSettings(max_concurrent=4, heartbeat_interval=0.1)
POLICY = TaskPolicy(timeout=150, grace=3)
STREAMING = [name for name in (*CLIS, "direct") if executor(name).streams_text]


@pytest.fixture
def server() -> Iterator[FakeModelServer]:
    require_clis()
    with FakeModelServer() as fake:
        yield fake


def spec_for(
    agent: str,
    prompt: str,
    tmp_path: Path,
    server: FakeModelServer,
    name: str = "a",
    **kw: Any,
) -> TaskSpec:
    work = tmp_path / f"work-{name}"
    work.mkdir(exist_ok=True)
    if agent == "direct":
        extra: dict[str, Any] = {"model": "fake-model", "base_url": f"{server.url}/v1"}
        env: dict[str, str] = {}
    else:
        env, extra = setup(agent, tmp_path / f"home-{name}", server.url)
    return agent_spec(
        name, settings(agent, prompt, **{**extra, **kw}), cwd=work, env=env, policy=POLICY
    )


def log_of(result: Any) -> str:
    return Path(result.log_path or "").read_text(errors="replace")[-3000:]


# -- item 12: whole answers ---------------------------------------------------------------------


@pytest.mark.parametrize("agent", CLIS)
async def test_a_one_megabyte_answer_arrives_whole(
    agent: str, tmp_path: Path, data_dir: Path, server: FakeModelServer
) -> None:
    spec = spec_for(agent, "FAKE_BIG:1000000 write it all", tmp_path, server)
    result, watcher = await run_recorded(Orchestrator([spec], RUN, data_dir=data_dir))
    [r] = result.results
    assert r.state is S.COMPLETED, f"{r.reason}\n{log_of(r)}"
    [final] = [e for e in parsed(watcher.all(), "a") if isinstance(e, FinalResult)]
    assert final.text.endswith("FAKE_BIG_END"), final.text[-200:]
    assert len(final.text) >= 999_000
    assert "FAKE_BIG line 0006850" in final.text  # the middle too, not only its ends


# -- item 15: live text -------------------------------------------------------------------------


@pytest.mark.parametrize("agent", STREAMING)
async def test_text_is_shown_as_it_streams(
    agent: str, tmp_path: Path, data_dir: Path, server: FakeModelServer
) -> None:
    """The fake sends the first of eight pieces, then waits until the test has seen it as an
    activity: the text reached the screen while the model was still writing."""
    server.gate_timeout = 60
    spec = spec_for(agent, "FAKE_DELTAS:8 FAKE_THINK tell me", tmp_path, server)
    orch = Orchestrator([spec], RUN, data_dir=data_dir)
    watcher = Watcher(orch.bus)
    with anyio.fail_after(150):
        async with anyio.create_task_group() as tg:
            tg.start_soon(orch.run)
            while True:
                await anyio.sleep(0.02)
                deltas = [
                    e
                    for e in watcher.all()
                    if isinstance(e, Activity) and e.kind == "delta" and "FAKE_DELTA 1" in e.text
                ]
                if deltas or orch.tasks["a"].state.ended:
                    break
            server.gate.set()
    task = orch.tasks["a"]
    assert task.state is S.COMPLETED, task.reason
    assert deltas, "no piece of text was shown before the whole reply"
    assert server.gate_results == [True]  # opened by the test, not by the wait running out
    events = parsed(watcher.all(), "a")
    pieces = [e for e in events if isinstance(e, TextDelta) and not e.thinking]
    assert len(pieces) >= 2
    [whole] = [e for e in events if isinstance(e, AssistantText)]
    assert whole.text.startswith("FAKE_DELTA 1 of 8.") and whole.text.endswith("FAKE_DELTA 8 of 8.")
    shown = watcher.output_text("a")
    assert shown.count("FAKE_DELTA 1 of 8.") == 2  # once as text, once in the result line
    if agent in ("claude", "qwen", "cline", "direct"):  # they show the model's thinking
        assert any(isinstance(e, Thinking) for e in events)
        assert "💭 FAKE_THOUGHT: first I think about it.  (+1 lines)" in shown


# -- item 6: budgets while it runs --------------------------------------------------------------


@pytest.mark.parametrize(
    ("agent", "budget", "reason"),
    [
        ("claude", {"max_cost_usd": 0.002}, "runaway: an estimated cost $"),
        ("codex", {"max_tokens": 2000}, "runaway: an estimated "),
        ("gemini", {"max_tokens": 2000}, "runaway: an estimated "),
        ("qwen", {"max_cost_usd": 0.0005}, "runaway: "),
    ],
)
async def test_a_budget_stops_a_runaway_while_it_runs(
    agent: str,
    budget: dict[str, Any],
    reason: str,
    tmp_path: Path,
    data_dir: Path,
    server: FakeModelServer,
) -> None:
    spec = spec_for(agent, "RUN_TOOL FAKE_LOOP_TOOLS", tmp_path, server, **budget)
    result, watcher = await run_recorded(Orchestrator([spec], RUN, data_dir=data_dir))
    [r] = result.results
    assert r.state is S.INTERRUPTED, f"{r.reason}\n{log_of(r)}"
    assert r.reason.startswith(reason), r.reason
    calls = [e for e in parsed(watcher.all(), "a") if isinstance(e, ToolCall)]
    assert 2 <= len(calls) <= 60, len(calls)  # stopped early, not after hundreds of calls


# -- item 7: a resumed session keeps the first turn's permissions -------------------------------


class ResumeBody:
    """Two runs of the task's agent: a first turn, then its session resumed with a prompt whose
    tool call writes a file."""

    def __init__(self, spec: TaskSpec) -> None:
        assert spec.agent is not None
        self.settings = spec.agent
        self.sessions: list[str | None] = []

    async def run(self, attempt: Attempt) -> Outcome:
        agent = executor(self.settings.agent)
        meter = Meter(attempt, self.settings.budget)
        first = await run_agent(
            attempt, agent, request_for(self.settings, "RUN_TOOL: echo one > one.txt"), meter=meter
        )
        self.sessions.append(first.session_id)
        if not first.ok:
            return Outcome(False, f"first: {first.reason}")
        request = request_for(self.settings, "RUN_TOOL: echo two > two.txt", first.session_id)
        second = await run_agent(attempt, agent, request, meter=meter, label="resumed")
        self.sessions.append(second.session_id)
        return Outcome(second.ok, second.reason)


@pytest.mark.parametrize("agent", [a for a in CLIS if executor(a).can_resume])
async def test_a_resumed_session_can_still_write(
    agent: str, tmp_path: Path, data_dir: Path, server: FakeModelServer
) -> None:
    spec = spec_for(agent, "unused", tmp_path, server)
    bodies: list[ResumeBody] = []

    def factory(s: TaskSpec) -> ResumeBody:
        bodies.append(ResumeBody(s))
        return bodies[-1]

    orch = Orchestrator([spec], RUN, data_dir=data_dir, body_factory=factory)
    result, _ = await run_recorded(orch)
    [r] = result.results
    assert r.state is S.COMPLETED, f"{r.reason}\n{log_of(r)}"
    work = Path(spec.cwd or "")
    assert (work / "one.txt").read_text() == "one\n"
    assert (work / "two.txt").read_text() == "two\n", "the resumed turn could not write"
    # It was the same conversation: the last request still held the first turn.
    assert "one.txt" in str(server.main_requests()[-1]["body"])


def test_cline_says_it_cannot_resume() -> None:
    """Cline's `--id` in JSON mode drops the prompt and asks for one: it is not resumed."""
    assert not executor("cline").can_resume


# -- item 9: rate limits with their units, resumed in the session -------------------------------


@pytest.mark.parametrize("agent", ["claude", "gemini", "cline"])
async def test_try_again_in_2_hours_is_not_two_seconds(
    agent: str, tmp_path: Path, data_dir: Path, server: FakeModelServer
) -> None:
    spec = spec_for(
        agent, "FAKE_RATE_LIMIT:2 hours please", tmp_path, server, retry_on_rate_limit=3
    )
    result, watcher = await run_recorded(Orchestrator([spec], RUN, data_dir=data_dir))
    [r] = result.results
    assert r.state is S.FAILED, r.reason
    assert r.reason.startswith("rate limited: "), r.reason
    assert "the wait (2h) is over max_rate_limit_wait (1h)" in r.reason
    assert not [e for e in watcher.all() if isinstance(e, RetryScheduled) and not e.by_agent]
    assert len([e for e in watcher.all() if isinstance(e, ProcessStarted)]) == 1


@pytest.mark.parametrize("agent", ["claude", "codex", "gemini"])
async def test_a_limit_mid_work_is_waited_out_and_the_session_resumed(
    agent: str, tmp_path: Path, data_dir: Path, server: FakeModelServer
) -> None:
    prompt = "FAKE_RATE_LIMIT_AFTER_TOOL:1 seconds\nRUN_TOOL: echo one >> once.txt"
    spec = spec_for(agent, prompt, tmp_path, server, retry_on_rate_limit=2, rate_limit_backoff=1)
    result, watcher = await run_recorded(Orchestrator([spec], RUN, data_dir=data_dir))
    [r] = result.results
    assert r.state is S.COMPLETED, f"{r.reason}\n{log_of(r)}"
    [retry] = [e for e in watcher.all() if isinstance(e, RetryScheduled) and not e.by_agent]
    assert retry.delay == 1.0
    sessions = [e.session_id for e in parsed(watcher.all(), "a") if isinstance(e, SessionStarted)]
    assert len(sessions) == 2 and sessions[0] == sessions[1], sessions  # the same session
    # Its work was kept: the command ran once, not again from the prompt.
    assert (Path(spec.cwd or "") / "once.txt").read_text() == "one\n"


# -- item 11: the next agent of the list --------------------------------------------------------


async def test_a_task_goes_on_with_the_next_agent_when_one_is_out_of_quota(
    tmp_path: Path, data_dir: Path, server: FakeModelServer
) -> None:
    home = tmp_path / "home"
    claude_env, _ = setup("claude", home, server.url)
    codex_env, _ = setup("codex", home, server.url)
    work = tmp_path / "work"
    work.mkdir()
    prompt = "RUN_TOOL: echo hi FAKE_RATE_LIMIT_ON_ANTHROPIC:3 hours"
    spec = agent_spec(
        "spread",
        settings("claude", prompt, fallback=("codex",), retry_on_rate_limit=2),
        cwd=work,
        env={**claude_env, **codex_env},
        policy=POLICY,
    )
    result, watcher = await run_recorded(Orchestrator([spec], RUN, data_dir=data_dir))
    [r] = result.results
    assert r.state is S.COMPLETED, f"{r.reason}\n{log_of(r)}"
    chosen = [(e.agent, e.previous) for e in watcher.all() if isinstance(e, AgentChosen)]
    assert chosen == [("claude", ""), ("codex", "claude")]
    [moved] = [e for e in watcher.all() if isinstance(e, AgentChosen) and e.previous]
    assert "3h" in moved.reason
    # Codex was told what happened so far.
    codex_requests = [q for q in server.requests if q["path"].endswith("/responses")]
    assert "conversation-so-far" in str(codex_requests[0]["body"])


async def test_tasks_naming_a_list_are_spread_over_the_agents_with_room(
    tmp_path: Path, data_dir: Path, server: FakeModelServer
) -> None:
    home = tmp_path / "home"
    claude_env, _ = setup("claude", home, server.url)
    codex_env, _ = setup("codex", home, server.url)
    specs = []
    for name in ("one", "two"):
        work = tmp_path / name
        work.mkdir()
        specs.append(
            agent_spec(
                name,
                settings("claude", "FAKE_SLOW:2 hello", fallback=("codex",)),
                cwd=work,
                env={**claude_env, **codex_env},
                policy=POLICY,
            )
        )
    limits = RunSettings(max_concurrent=4, heartbeat_interval=0.1, agent_limits={"claude": 1})
    result, watcher = await run_recorded(Orchestrator(specs, limits, data_dir=data_dir))
    assert [r.state for r in result.results] == [S.COMPLETED, S.COMPLETED]
    chosen = {e.task_id: e.agent for e in watcher.all() if isinstance(e, AgentChosen)}
    assert sorted(chosen.values()) == ["claude", "codex"]
