"""Load in the TUI (Textual's `run_test`, real child processes): 500 tasks under a limit of 64,
and 200 tasks at once while keys are pressed."""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import pytest
from textual import events
from textual.message import Message

from oneshot_tui.core.events import StateChanged
from oneshot_tui.core.spec import RunSettings, TaskPolicy, TaskSpec
from oneshot_tui.core.states import TaskState as S
from oneshot_tui.ui.app import make_app
from oneshot_tui.ui.messages import EngineEvents
from oneshot_tui.ui.screens.main import MainScreen
from tests.fakes import fake
from tests.ui.driving import until


def peak_running(messages: list[Message]) -> int:
    """The most tasks active at once, from the state events the UI received, in order."""
    running: set[str] = set()
    peak = 0
    for message in messages:
        if not isinstance(message, EngineEvents):
            continue
        for event in message.events:
            if isinstance(event, StateChanged):
                (running.add if event.target.active else running.discard)(event.task_id)
                peak = max(peak, len(running))
    return peak


@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_five_hundred_tasks_under_a_limit_of_64_in_the_tui(data_dir: Path) -> None:
    specs = [
        TaskSpec(
            f"t{i:03d}", f"echo start {i}; sleep 0.05; echo end {i}", policy=TaskPolicy(grace=1)
        )
        for i in range(500)
    ]
    app = make_app(specs, RunSettings(max_concurrent=64), data_dir=data_dir)
    seen: list[Message] = []
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await until(pilot, lambda: app.model.finished is not None, timeout=500)
        await pilot.pause()
        finished = app.model.finished
        assert finished is not None and finished.exit_code == 0
        assert {info.state for info in app.model.tasks.values()} == {S.COMPLETED}
        # Every pane ends with its task's last line (none lost on the way to the UI).
        for i, info in enumerate(app.model.tasks.values()):
            buffer = info.buffer
            assert buffer.end and buffer.line(buffer.end - 1) == f"end {i}", info.task_id
        app.exit()
    assert 1 < peak_running(seen) <= 64
    for i, task in enumerate(app.orch.tasks.values()):
        assert task.log_paths[0].read_text() == f"start {i}\nend {i}\n"


@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_keys_stay_quick_with_200_tasks_at_once(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key press (`j`/`k`) every 20 ms while 200 tasks start, print and end: the time from
    posting a key to its action running. The issue asks for < 100 ms; on a shared 2-core test
    box the bound asserted is 1 s, and the real figures are printed (see also
    `bench/tui_flood.py --many 200`)."""
    handled: list[float] = []
    move = MainScreen.action_move

    def timed_move(self: MainScreen, delta: int) -> None:
        handled.append(time.perf_counter())
        move(self, delta)

    monkeypatch.setattr(MainScreen, "action_move", timed_move)
    command = (sys.executable, fake("ticker.py"), "tick", "0.1", "30")  # 30 lines over 3 s
    specs = [TaskSpec(f"t{i:03d}", command, policy=TaskPolicy(grace=1)) for i in range(200)]
    app = make_app(specs, RunSettings(max_concurrent=200), data_dir=data_dir)
    sent: list[float] = []
    async with app.run_test(size=(200, 50)) as pilot:
        while app.model.finished is None:
            key = "j" if len(sent) % 2 == 0 else "k"
            sent.append(time.perf_counter())
            app.post_message(events.Key(key, key))
            await pilot.pause(0.02)
            assert time.perf_counter() - sent[0] < 300, "the run did not end"
        await until(pilot, lambda: len(handled) == len(sent))
        assert app.model.finished.exit_code == 0
        app.exit()
    latencies = sorted((h - s) * 1000 for s, h in zip(sent, handled, strict=True))
    p50 = statistics.median(latencies)
    p95 = latencies[int(len(latencies) * 0.95)]
    print(
        f"\n200 tasks at once: {len(latencies)} keys, p50 {p50:.1f} ms, p95 {p95:.1f} ms, ", end=""
    )
    print(f"max {latencies[-1]:.1f} ms")
    assert latencies[-1] < 1000
