"""Line numbers of TOML keys, which tomllib does not report.

A light scan of the text: it tracks `[table]` and `[[array]]` headers and `key =` lines. It is
exact for the plain layouts task files use and falls back to the table's header line otherwise.
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\"' -]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""^\s*(?:"([^"]+)"|'([^']+)'|([A-Za-z0-9_-]+))\s*(?:\.|=)""")

Where = tuple[str, int | None]
"""A table: ("run", None), ("task", 2) for the third [[task]], ("", None) for the top level."""


class KeyLocator:
    def __init__(self, text: str) -> None:
        self._keys: dict[tuple[Where, str], int] = {}
        self._headers: dict[Where, int] = {}
        counts: dict[str, int] = {}
        where: Where = ("", None)
        for number, line in enumerate(text.splitlines(), start=1):
            header = _HEADER.match(line)
            if header:
                name = header.group(2).strip().strip("\"'")
                if header.group(1) == "[[":
                    counts[name] = counts.get(name, -1) + 1
                    where = (name, counts[name])
                else:
                    # [task.env] belongs to the latest [[task]]: key lines land on "task.env".
                    parent = name.split(".", 1)[0]
                    where = (name, counts.get(parent) if parent in counts else None)
                self._headers.setdefault(where, number)
                continue
            key = _KEY.match(line)
            if key:
                name = key.group(1) or key.group(2) or key.group(3)
                self._keys.setdefault((where, name), number)

    def line_of(self, table: Where, key: str | None = None) -> int | None:
        if key is not None and (table, key) in self._keys:
            return self._keys[(table, key)]
        if key is not None and table == ("", None):
            # A top-level "key" may be written as a table header: [key] or [[key]].
            for where in ((key, None), (key, 0)):
                if where in self._headers:
                    return self._headers[where]
        return self._headers.get(table)
