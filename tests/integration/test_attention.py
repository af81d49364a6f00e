"""Attention: the engine marks a task that needs its user (failed, denied, asking at a prompt),
clears the mark when the user looks or acts, and never marks what the user or the run stopped."""

from __future__ import annotations

from pathlib import Path

import anyio

from oneshot_tui.core.clock import FakeClock
from oneshot_tui.core.events import AttentionChanged, TaskExited
from oneshot_tui.core.spec import RunSettings, TaskPolicy, TaskSpec
from oneshot_tui.core.states import TaskState as S
from oneshot_tui.orchestrator import Orchestrator
from tests.fakes import fake
from tests.helpers import Watcher, py

MANUAL = RunSettings(max_concurrent=8, heartbeat_interval=0)


def marks(watcher: Watcher, task_id: str) -> list[tuple[bool, str]]:
    return [
        (e.needed, e.reason)
        for e in watcher.all()
        if isinstance(e, AttentionChanged) and e.task_id == task_id
    ]


async def test_a_failed_task_needs_you_until_seen_and_a_completed_one_never(
    data_dir: Path,
) -> None:
    specs = [TaskSpec("bad", py("-c", "raise SystemExit(3)")), TaskSpec("good", py("-c", "pass"))]
    orch = Orchestrator(specs, MANUAL, data_dir=data_dir)
    watcher = Watcher(orch.bus)
    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: orch.run(stay_open=True))
        ended = lambda events: sum(isinstance(e, TaskExited) for e in events) == 2  # noqa: E731
        await watcher.wait_until(ended)
        assert marks(watcher, "bad") == [(True, "failed: exit 3")]
        assert orch.attention.reason("bad") == "failed: exit 3"
        assert orch.seen("bad") is True
        assert orch.seen("bad") is False  # once: nothing left to clear
        orch.shutdown("test over")
    assert marks(watcher, "bad") == [(True, "failed: exit 3"), (False, "")]
    assert marks(watcher, "good") == []


async def test_what_the_user_stopped_needs_nothing_and_a_restart_clears_the_mark(
    data_dir: Path,
) -> None:
    specs = [
        TaskSpec("stopped", py(fake("quiet.py"), "--silent")),
        TaskSpec("flaky", py("-c", "raise SystemExit(1)")),
    ]
    orch = Orchestrator(specs, MANUAL, data_dir=data_dir)
    watcher = Watcher(orch.bus)
    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: orch.run(stay_open=True))
        await watcher.wait_state("stopped", S.RUNNING)
        await watcher.wait_for_a(AttentionChanged, lambda e: e.task_id == "flaky")
        assert orch.interrupt("stopped")
        await watcher.wait_state("stopped", S.INTERRUPTED)
        assert orch.restart("flaky")  # acting on it clears its mark, before it runs again
        await watcher.wait_for_a(AttentionChanged, lambda e: e.task_id == "flaky" and not e.needed)
        await watcher.wait_for_a(AttentionChanged, lambda e: e.task_id == "flaky" and e.needed)
        orch.shutdown("test over")
    assert marks(watcher, "stopped") == []
    assert marks(watcher, "flaky") == [
        (True, "failed: exit 1"),
        (False, ""),
        (True, "failed: exit 1"),
    ]


async def test_a_pty_task_silent_on_a_prompt_needs_you_until_acted_on(
    data_dir: Path,
) -> None:
    clock = FakeClock()
    policy = TaskPolicy(pty=True, idle_threshold=5)
    asks = TaskSpec("deploy", py(fake("asks.py"), "--hold"), policy=policy)
    busy = TaskSpec("build", py(fake("quiet.py"), "compiling"), policy=policy)  # a whole line
    orch = Orchestrator([asks, busy], MANUAL, data_dir=data_dir, clock=clock)
    watcher = Watcher(orch.bus)
    async with anyio.create_task_group() as tg:
        tg.start_soon(orch.run)
        await watcher.wait_until(lambda _: orch.tasks["deploy"].prompt == "Proceed? [y/N]")
        # On a PTY the line is on the emulator's screen (live lines) until it scrolls off.
        await watcher.wait_until(lambda _: "compiling" in "".join(orch.tasks["build"].live))
        clock.advance(6)
        orch.tick()
        mark = await watcher.wait_for_a(AttentionChanged)
        assert (mark.task_id, mark.reason) == ("deploy", "waiting for input: Proceed? [y/N]")
        assert orch.tasks["build"].state is S.IDLE  # silent too, but not on a prompt
        child = orch.tasks["deploy"].child
        assert child is not None
        assert orch.interrupt("deploy")  # acted on: the mark clears, and a stop marks nothing
        assert orch.interrupt("build")
    assert marks(watcher, "build") == []
    assert marks(watcher, "deploy") == [(True, "waiting for input: Proceed? [y/N]"), (False, "")]
