"""Talking back to agents, with the real CLIs against the fake model server: a message starts the
agent's next turn in its own session (the model sees the first turn and the message), a message
sent while a turn runs is delivered after it, and a 100 KB message arrives whole."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest

from oneshot_tui.core.events import MessageSent, TaskExited
from oneshot_tui.core.spec import RunSettings, TaskPolicy
from oneshot_tui.core.states import TaskState as S
from oneshot_tui.orchestrator import Orchestrator
from tests.agents.clis import require_clis, setup
from tests.agents.helpers import agent_spec, settings
from tests.fakes.model_server import FakeModelServer
from tests.helpers import Watcher

pytestmark = pytest.mark.contract
RUN = RunSettings(max_concurrent=4, heartbeat_interval=0.1)
POLICY = TaskPolicy(timeout=120, grace=3, idle_threshold=None)


@asynccontextmanager
async def open_run(
    agent: str, prompt: str, tmp_path: Path, data_dir: Path, server: FakeModelServer
) -> AsyncIterator[tuple[Orchestrator, Watcher]]:
    env, extra = setup(agent, tmp_path / "home", server.url)
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    spec = agent_spec("a", settings(agent, prompt, **extra), cwd=work, env=env, policy=POLICY)
    orch = Orchestrator([spec], RUN, data_dir=data_dir)
    watcher = Watcher(orch.bus)
    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: orch.run(stay_open=True))
        yield orch, watcher
        orch.shutdown("test over")


async def ended(watcher: Watcher, attempt: int) -> TaskExited:
    return await watcher.wait_for_a(TaskExited, lambda e: e.attempt == attempt, timeout=120)


def conversation(request: dict[str, object]) -> str:
    return json.dumps(request["body"])


@pytest.fixture
def server() -> Iterator[FakeModelServer]:
    require_clis()
    with FakeModelServer() as fake:
        yield fake


@pytest.mark.parametrize("agent", ["claude", "codex", "gemini"])
async def test_a_message_continues_the_agents_own_session(
    agent: str, tmp_path: Path, data_dir: Path, server: FakeModelServer
) -> None:
    async with open_run(agent, "say hello FIRST-TURN", tmp_path, data_dir, server) as (orch, w):
        first = await ended(w, 1)
        assert first.state is S.COMPLETED, first.reason
        session = orch.tasks["a"].agent_session
        assert session is not None and session[0] == agent
        assert orch.send_message("a", "also update the docs SECOND-TURN") is None
        second = await ended(w, 2)
        assert second.state is S.COMPLETED, second.reason
        states = [e.state for e in w.all() if isinstance(e, MessageSent)]
        assert states == ["queued", "delivered"]
        assert orch.tasks["a"].agent_session == session  # the same session went on
    turns = [conversation(r) for r in server.main_requests()]
    last = turns[-1]
    assert "SECOND-TURN" in last and "FIRST-TURN" in last  # the model saw both turns
    assert "FAKE_REPLY" in last  # and its own first answer
    assert (data_dir / "runs").exists()
    [stored] = list((data_dir / "runs").glob("*/messages.ndjson"))
    assert json.loads(stored.read_text())["text"] == "also update the docs SECOND-TURN"


async def test_a_message_to_a_running_turn_is_delivered_after_it(
    tmp_path: Path, data_dir: Path, server: FakeModelServer
) -> None:
    async with open_run("claude", "FAKE_SLOW:3 think hard", tmp_path, data_dir, server) as (
        orch,
        w,
    ):
        while not server.holding.is_set():  # the first turn waits on the model
            await anyio.sleep(0.05)
        big = "".join(f"line {i:06d} of a long message\n" for i in range(3_600))  # ~100 KB
        assert len(big.encode()) > 100_000
        assert orch.send_message("a", big) is None
        first = await ended(w, 1)
        assert first.state is S.COMPLETED  # not cut short: the message waited for it
        second = await ended(w, 2)
        assert second.state is S.COMPLETED, second.reason
        events = w.all()
        queued = next(i for i, e in enumerate(events) if isinstance(e, MessageSent))
        done_1 = events.index(first)
        delivered = next(
            i for i, e in enumerate(events) if isinstance(e, MessageSent) and e.state == "delivered"
        )
        assert queued < done_1 < delivered
    last = conversation(server.main_requests()[-1])
    assert json.dumps(big)[1:-1] in last  # all of it, in one piece
