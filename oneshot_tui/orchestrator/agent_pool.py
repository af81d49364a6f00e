"""What the agents of a run share: how many processes of each may run at once
(`[run] agent_limits`), the price table for live cost estimates, and the first run of a CLI
whose first runs race each other (opencode's SQLite set-up on a fresh HOME).

One pool per orchestrator; every attempt's agent runs go through it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager

import anyio

from oneshot_tui.agents.usage import Price, PriceTable


class AgentPool:
    def __init__(
        self,
        limits: Mapping[str, int] | None = None,
        prices: Mapping[str, tuple[float, float]] | None = None,
    ) -> None:
        self.limits = dict(limits or {})
        self.prices = PriceTable({k: Price(*v) for k, v in (prices or {}).items()})
        self.in_use: Counter[str] = Counter()
        self._freed = anyio.Event()
        self._warm: set[tuple[str, str]] = set()
        self._warming: dict[tuple[str, str], anyio.Event] = {}

    def has_room(self, agent: str) -> bool:
        limit = self.limits.get(agent)
        return limit is None or self.in_use[agent] < limit

    @asynccontextmanager
    async def take(self, candidates: Sequence[str]) -> AsyncIterator[str]:
        """The first of `candidates` with room (waiting for one to free up), held until the
        block ends. Tasks that name several agents are so spread over those with room."""
        if not candidates:
            raise ValueError("no agent to take")
        while True:
            agent = next((a for a in candidates if self.has_room(a)), None)
            if agent is not None:
                break
            freed = self._freed
            await freed.wait()
        self.in_use[agent] += 1
        try:
            yield agent
        finally:
            self.in_use[agent] -= 1
            self._freed.set()
            self._freed = anyio.Event()

    @asynccontextmanager
    async def first_run(
        self, agent: str, home: str, racy: bool
    ) -> AsyncIterator[Callable[[], None]]:
        """For a CLI whose first runs race: the first run on a HOME goes alone until it calls
        the function it is given (its session started) or ends; the others wait for that."""
        key = (agent, home)
        if not racy or key in self._warm:
            yield _nothing
            return
        while (warming := self._warming.get(key)) is not None:
            await warming.wait()
            if key in self._warm:
                yield _nothing
                return
        done = anyio.Event()
        self._warming[key] = done

        def going() -> None:
            self._warm.add(key)
            if self._warming.get(key) is done:
                del self._warming[key]
            done.set()

        try:
            yield going
        finally:
            if self._warming.get(key) is done:
                del self._warming[key]
            done.set()


def _nothing() -> None:
    return None
