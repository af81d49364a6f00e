"""Bus events as NDJSON on stdout: one JSON object a line, for scripts and CI (the schema is the
wire schema of `core/wire.py`, shared with every other reader of a run's events)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import BinaryIO

from oneshot_tui.core.events import Event, RunFinished
from oneshot_tui.core.wire import WireEncoder


class JsonPrinter:
    def __init__(self, out: BinaryIO, run_id: str) -> None:
        self._out = out
        self._wire = WireEncoder(run_id)
        self.finished: RunFinished | None = None

    def handle(self, events: Sequence[Event]) -> None:
        encode = self._wire.encode
        lines = [line for event in events for line in encode(event)]
        for event in events:
            if type(event) is RunFinished:
                self.finished = event
        if lines:
            self._out.write(("\n".join(lines) + "\n").encode("utf-8", "surrogateescape"))
            self._out.flush()
