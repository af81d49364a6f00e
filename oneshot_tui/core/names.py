"""Unique names: `base`, then `base-2`, `base-3`, ... (task names, log file stems, loop names).

Each base remembers the next suffix to try, so handing out N names costs O(N), not O(N²) (2,000
tasks named `true` took 174 ms the quadratic way).
"""

from __future__ import annotations

from collections.abc import Iterable


class UniqueNames:
    """The names handed out (or reserved) so far, and the next suffix to try for each base."""

    def __init__(self, taken: Iterable[str] = ()) -> None:
        self._taken: set[str] = set(taken)
        self._next: dict[str, int] = {}

    def __contains__(self, name: object) -> bool:
        return name in self._taken

    def reserve(self, name: str) -> None:
        """Mark a name given explicitly (a task's own `name`) as taken."""
        self._taken.add(name)

    def take(self, base: str) -> str:
        """`base` if it is free, else the first free `base-N` (N from 2); now taken."""
        name = base
        if name in self._taken:
            n = self._next.get(base, 2)
            while (name := f"{base}-{n}") in self._taken:
                n += 1
            self._next[base] = n + 1
        self._taken.add(name)
        return name
