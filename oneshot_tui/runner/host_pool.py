"""Idle process hosts kept for the next process with the same placement.

Each host on a cluster node is a worker process that took about a second of CPU to boot. A task
that ends hands its host back here, and the next task asking for the same resources takes it
over instead of booting another: a queue of tasks under `max_concurrent`, and every restart,
reuse a few hosts. An idle host still holds its resources on the node, so it is let go when it
has been idle for `idle_timeout`, and the backend lets all of them go whenever a new host is
needed (it may be waiting for exactly those resources).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Any

IDLE_TIMEOUT = 5.0
"""Seconds an idle host is kept for reuse before its resources go back to the cluster."""
WARM_TIMEOUT = 60.0
"""Seconds a run's warm host (see `keep`) is kept idle: a run left open after its tasks ended
(the TUI) gives the cluster its resources back after this."""


class HostPool:
    def __init__(
        self,
        release: Callable[[Any], None],
        idle_timeout: float = IDLE_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
        warm_timeout: float = WARM_TIMEOUT,
    ) -> None:
        self._release = release
        self._idle_timeout = idle_timeout
        self._warm_timeout = warm_timeout
        self._clock = clock
        self._idle: dict[Hashable, list[tuple[float, Any]]] = {}
        self.keep: dict[Hashable, int] = {}
        """Per placement, how many idle hosts are kept up to `warm_timeout` rather than the idle
        timeout (a run's warm hosts)."""

    def __len__(self) -> int:
        return sum(len(hosts) for hosts in self._idle.values())

    def count(self, key: Hashable) -> int:
        return len(self._idle.get(key, ()))

    def take(self, key: Hashable) -> tuple[Any, float] | None:
        """An idle host for `key` (the most recently used: its pages are warmest) and how many
        seconds it was idle, or None."""
        hosts = self._idle.get(key)
        if not hosts:
            return None
        since, host = hosts.pop()
        return host, self._clock() - since

    def give(self, key: Hashable, host: Any) -> None:
        self._idle.setdefault(key, []).append((self._clock(), host))

    def expire(self) -> None:
        """Let go of the hosts idle for longer than the timeout (the `keep` newest of each
        placement: the warm timeout)."""
        now = self._clock()
        for key, hosts in list(self._idle.items()):
            kept = max(self.keep.get(key, 0), 0)
            cut = len(hosts) - kept if kept else len(hosts)
            keep = []
            for at, (since, host) in enumerate(hosts):
                timeout = self._idle_timeout if at < cut else self._warm_timeout
                if since <= now - timeout:
                    self._release(host)
                else:
                    keep.append((since, host))
            if keep:
                self._idle[key] = keep
            else:
                del self._idle[key]

    def clear(self, but: Hashable | None = None) -> None:
        """Let go of every idle host (but those of placement `but`)."""
        for key in [k for k in self._idle if k != but]:
            for _, host in self._idle.pop(key):
                self._release(host)
