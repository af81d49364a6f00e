"""Follow one child to its end: read its output, wait for it, and clean up what it leaves behind."""

from __future__ import annotations

from collections.abc import Callable

import anyio

from oneshot_tui.runner.process import ChildProcess, ChunkSink, ExitStatus

DRAIN_TIMEOUT = 0.25
"""How long output may keep flowing after the leader exits before leftovers are stopped."""


async def supervise(
    child: ChildProcess,
    sink: ChunkSink,
    *,
    grace: float,
    drain_timeout: float = DRAIN_TIMEOUT,
    on_exit: Callable[[ExitStatus], None] | None = None,
) -> ExitStatus:
    """Pump `child`'s output into `sink` until it exits and its streams end.

    When the leader exits, a background descendant may still hold the pipe (`sleep 30 &`) or
    linger without it: either way it is stopped with the ladder, since nothing a task started may
    outlive it. Reading goes on while data still flows, so nothing buffered is lost.
    `on_exit` hears the leader's status as soon as it exits, before that.
    """
    async with anyio.create_task_group() as tg:
        child.start_pumping(tg, sink)
        status = await child.wait()
        if on_exit is not None:
            on_exit(status)
        while not child.pumped.is_set():
            before = child.chunks_read
            with anyio.move_on_after(drain_timeout):
                await child.pumped.wait()
            if child.pumped.is_set():
                break
            if child.alive():
                await child.stop_leftovers(grace)
            elif child.chunks_read == before and not child.in_sink:
                break  # the pipe is held by a process outside the group and nothing flows
        if child.alive():
            await child.stop_leftovers(grace)
        tg.cancel_scope.cancel()
    return status
