"""The bridge's per-frame batching and the UI model folded from bus events (no Textual app)."""

from __future__ import annotations

import anyio
import anyio.lowlevel

from oneshot_tui.core.bus import EventBus
from oneshot_tui.core.coalesce import coalesce
from oneshot_tui.core.events import (
    Activity,
    Event,
    Output,
    RunFinished,
    RunStarted,
    StateChanged,
    TaskAdded,
    TaskExited,
)
from oneshot_tui.core.states import TaskState
from oneshot_tui.ui.bridge import Bridge
from oneshot_tui.ui.messages import EngineEvents
from oneshot_tui.ui.model import RunModel

S = TaskState


def out(task: str, text: str, attempt: int = 1, missed: int = 0, stream: str = "stdout") -> Output:
    lines = text.count("\n") + 1 if text else 0
    return Output(task, attempt, stream, text, lines, 0.0, missed)


def changed(task: str, source: S, target: S, attempt: int = 1, ts: float = 0.0) -> StateChanged:
    return StateChanged(task, attempt, source, target, ts)


def test_coalesce_merges_each_tasks_output_but_keeps_its_order() -> None:
    events: list[Event] = [
        out("a", "a1"),
        out("b", "b1"),
        out("a", "a2\na3"),
        changed("a", S.RUNNING, S.INTERRUPTED),
        out("a", "a4"),
        out("b", "b2"),
        out("b", "b3", missed=5),  # a gap: its marker must stay between b2 and b3
        out("b", "b4", stream="stderr"),
    ]
    merged = coalesce(events)
    summary = [
        (e.task_id, e.text, e.lines, e.missed) if isinstance(e, Output) else ("state", e.task_id)
        for e in merged
        if isinstance(e, Output | StateChanged)
    ]
    assert summary == [
        ("a", "a1\na2\na3", 3, 0),
        ("b", "b1\nb2", 2, 0),
        ("state", "a"),
        ("a", "a4", 1, 0),
        ("b", "b3", 1, 5),
        ("b", "b4", 1, 0),
    ]


async def test_the_bridge_delivers_everything_in_a_few_frames() -> None:
    bus = EventBus()
    delivered: list[EngineEvents] = []

    def deliver(message: EngineEvents) -> None:
        delivered.append(message)
        message.ack()

    bridge = Bridge(bus.subscribe("ui"), deliver, frame=0.05)
    async with anyio.create_task_group() as tg:
        tg.start_soon(bridge.run)
        for i in range(1000):
            bus.publish(out("a", f"line {i}"))
            if i % 100 == 0:
                await anyio.lowlevel.checkpoint()
        bus.publish(changed("a", S.RUNNING, S.COMPLETED))
        bus.close()
    outputs = [e for m in delivered for e in m.events if isinstance(e, Output)]
    assert "\n".join(e.text for e in outputs).split("\n") == [f"line {i}" for i in range(1000)]
    assert len(delivered) < 50  # batched: far fewer messages than events
    assert isinstance(delivered[-1].events[-1], StateChanged)


async def test_the_bridge_sends_nothing_more_until_the_app_has_applied_a_batch() -> None:
    bus = EventBus()
    delivered: list[EngineEvents] = []
    bridge = Bridge(bus.subscribe("ui"), delivered.append, frame=0)
    async with anyio.create_task_group() as tg:
        tg.start_soon(bridge.run)
        bus.publish(out("a", "first"))
        await anyio.sleep(0.05)
        bus.publish(out("a", "second"))
        await anyio.sleep(0.05)
        assert len(delivered) == 1  # the app has not applied the first batch yet
        delivered[0].ack()
        await anyio.sleep(0.05)
        assert len(delivered) == 2
        delivered[1].ack()
        tg.cancel_scope.cancel()


def test_model_follows_a_task_through_two_attempts() -> None:
    model = RunModel(lambda task_id: 100)
    model.apply(
        [
            RunStarted("run-1", 10.0, "/logs", ("t",), 4),
            TaskAdded("t", 10.0, "make"),
            changed("t", S.CREATED, S.RUNNING, ts=11.0),
            out("t", "hello\nworld"),
        ]
    )
    info = model.tasks["t"]
    assert (model.run_id, model.max_concurrent) == ("run-1", 4)
    assert info.state is S.RUNNING and info.started_ts == 11.0
    assert info.elapsed(now=15.0) == 4.0
    changes = model.apply(
        [
            changed("t", S.RUNNING, S.IDLE),
            Activity("t", 1, 12.0, "text", "thinking\nabout it"),
            changed("t", S.IDLE, S.INTERRUPTED),
            TaskExited("t", 1, 13.0, S.INTERRUPTED, 130, None, 2.0, "interrupted by user"),
        ]
    )
    assert changes.rows == {"t"} and not changes.output
    info = model.tasks["t"]  # the same record, read again (mypy narrowed its state above)
    assert info.state is S.INTERRUPTED and info.exit_code == 130 and info.duration == 2.0
    assert info.activity == "thinking"
    changes = model.apply(
        [
            changed("t", S.INTERRUPTED, S.CREATED, attempt=2),
            changed("t", S.CREATED, S.RUNNING, attempt=2, ts=20.0),
            out("t", "again", attempt=2, missed=3),
        ]
    )
    assert info.attempt == 2 and info.exit_code is None and info.started_ts == 20.0
    buffer = info.buffer
    rows = [
        (m.kind, m.text) if (m := buffer.marker(n)) else buffer.line(n)
        for n in range(buffer.start, buffer.end)
    ]
    assert rows == [
        "hello",
        "world",
        ("attempt", "attempt 2"),
        ("missed", "3 lines not shown (see the log)"),
        "again",
    ]
    assert changes.output == {"t": 3}
    model.apply([RunFinished("run-1", 30.0, 1, ())])
    assert model.finished is not None and model.counts()[S.RUNNING] == 1
