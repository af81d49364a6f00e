"""The event bus: fan-out, bounded queues, missed-line counts, and lossless back-pressure."""

from __future__ import annotations

import anyio
import pytest

from oneshot_tui.core.bus import EventBus
from oneshot_tui.core.events import Event, LiveLines, Output, RunFinished, StateChanged
from oneshot_tui.core.states import TaskState as S


def out(task: str, n: int, first: int = 0) -> Output:
    return Output(task, 1, "stdout", "\n".join(str(first + i) for i in range(n)), n, 0.0)


def state(task: str, target: S) -> StateChanged:
    return StateChanged(task, 1, S.RUNNING, target, 0.0)


async def test_every_subscriber_gets_every_event_in_order() -> None:
    bus = EventBus()
    a, b = bus.subscribe("a"), bus.subscribe("b")
    events: list[Event] = [state("t", S.RUNNING), out("t", 3), state("t", S.COMPLETED)]
    for e in events:
        bus.publish(e)
    assert await a.receive_batch() == events
    assert await b.receive_batch() == events


async def test_a_lagging_subscriber_loses_old_output_but_never_state_and_is_told() -> None:
    bus = EventBus()
    slow = bus.subscribe("slow", max_pending_lines=100)
    for i in range(50):
        bus.publish(out("t", 10, first=i * 10))
        if i % 10 == 0:
            bus.publish(state("t", S.IDLE))
    bus.publish(RunFinished("r", 0.0, 0, ()))
    got = await slow.receive_batch(10**6)
    states = [e for e in got if isinstance(e, StateChanged)]
    outputs = [e for e in got if isinstance(e, Output)]
    assert len(states) == 5
    assert isinstance(got[-1], RunFinished)
    delivered = sum(o.lines for o in outputs)
    missed = sum(o.missed for o in outputs)
    assert delivered + missed == 500
    assert missed > 0
    assert delivered <= 100
    # What does arrive is the newest output, still in order.
    numbers = [int(n) for o in outputs for n in o.split()]
    assert numbers == sorted(numbers)
    assert numbers[-1] == 499


async def test_one_subscriber_that_never_reads_does_not_hold_up_another() -> None:
    bus = EventBus()
    _never = bus.subscribe("never", max_pending_lines=10)
    reader = bus.subscribe("reader", max_pending_lines=10**6)
    for i in range(1000):
        bus.publish(out("t", 100, first=i * 100))
    got = await reader.receive_batch(10**6)
    assert sum(e.lines for e in got if isinstance(e, Output)) == 100_000
    assert all(e.missed == 0 for e in got if isinstance(e, Output))


async def test_lossless_subscriber_pushes_back_on_that_task_only() -> None:
    bus = EventBus(lossless_task_chars=200)
    sub = bus.subscribe("printer", lossless=True)
    for _ in range(20):
        bus.publish(out("loud", 10))
    bus.publish(out("quiet", 1))
    assert bus.needs_room("loud")
    assert not bus.needs_room("quiet")
    waited = anyio.Event()

    async def producer() -> None:
        await bus.wait_for_room("loud")
        waited.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(producer)
        await anyio.sleep(0.01)
        assert not waited.is_set()
        got = await sub.receive_batch(10**6)
        assert sum(e.lines for e in got if isinstance(e, Output)) == 201
        with anyio.fail_after(5):
            await waited.wait()
    assert not bus.needs_room("loud")


async def test_an_acked_subscriber_holds_a_task_back_until_it_acknowledges_its_lines() -> None:
    bus = EventBus(lossless_task_chars=200)
    sub = bus.subscribe("printer", lossless=True, acked=True)
    for _ in range(20):
        bus.publish(out("loud", 10))
    got = await sub.receive_batch(10**6)
    assert bus.needs_room("loud")  # received, but not yet written out: still waiting
    waited = anyio.Event()

    async def producer() -> None:
        await bus.wait_for_room("loud")
        waited.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(producer)
        await anyio.sleep(0.01)
        assert not waited.is_set()
        sub.ack({"loud": sum(len(e.text) for e in got if isinstance(e, Output))})
        with anyio.fail_after(5):
            await waited.wait()
    assert not bus.needs_room("loud")


async def test_closing_the_bus_ends_every_subscription_after_its_queue() -> None:
    bus = EventBus()
    sub = bus.subscribe()
    bus.publish(state("t", S.RUNNING))
    bus.close()
    assert [e async for e in sub] == [state("t", S.RUNNING)]
    with pytest.raises(anyio.EndOfStream):
        await sub.receive_batch()


async def test_live_lines_replace_each_other_in_a_subscribers_queue() -> None:
    """A progress bar redrawn 1000 times costs a slow subscriber one event per task, the latest,
    and the events around it keep their order."""
    bus = EventBus()
    sub = bus.subscribe("slow")
    bus.publish(state("t", S.RUNNING))
    for i in range(1000):
        bus.publish(LiveLines("t", 1, 0.0, (f"{i}%",)))
        bus.publish(LiveLines("u", 1, 0.0, (f"u {i}",)))
    bus.publish(out("t", 1))
    got = sub.receive_nowait()
    assert got[0] == state("t", S.RUNNING)
    assert got[1:] == [
        LiveLines("t", 1, 0.0, ("999%",)),
        LiveLines("u", 1, 0.0, ("u 999",)),
        out("t", 1),
    ]
    bus.publish(LiveLines("t", 1, 0.0, ()))  # once received, the next one is queued anew
    assert sub.receive_nowait() == [LiveLines("t", 1, 0.0, ())]
    assert bus.subscribe("quiet", output=False).receive_nowait() == []
