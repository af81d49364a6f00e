"""What every executor is: an argv and environment for a headless run, and a pure stream parser.

An executor does no I/O. `invocation(request)` says what to start; `parser()` gives a fresh
incremental parser that turns the process's stdout bytes into `core.activity` events. Running it
(lifecycle, logs, idle detection, interrupts, budgets) is the orchestrator's job.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from oneshot_tui.core.activity import AgentEvent, RawLine, one_line

MAX_LINE_BYTES = 16 * 1024 * 1024
"""A line longer than this is passed on as raw text in pieces rather than held in memory."""

SHORT_OUTPUT = 300


@dataclass(frozen=True, slots=True)
class AgentRequest:
    """One run of an agent: what to ask and how."""

    prompt: str
    model: str | None = None
    args: tuple[str, ...] = ()
    """Extra CLI flags from the task (`args = [...]`)."""
    resume_session: str | None = None
    """Continue this session of the agent's own, where the executor can (`can_resume`)."""
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Invocation:
    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    """Variables the run needs, set under the task's own `env` (which wins)."""
    secret_env: Mapping[str, str] = field(default_factory=dict, repr=False)
    """Variables set over everything and never shown (an API key)."""


class StreamParser(Protocol):
    def feed(self, data: bytes) -> list[AgentEvent]:
        """Events completed by this chunk of stdout, in order."""
        ...

    def close(self) -> list[AgentEvent]:
        """The stream ended: events from a last unterminated line, and any closing result."""
        ...


class Executor(ABC):
    """One agent CLI. Subclasses set the class attributes and build the argv."""

    name: ClassVar[str]
    binary: ClassVar[str]
    install: ClassVar[str]
    """The command that installs the binary, for the "not found" message."""
    can_resume: ClassVar[bool] = False

    @abstractmethod
    def invocation(self, request: AgentRequest) -> Invocation: ...

    @abstractmethod
    def parser(self) -> StreamParser: ...

    def missing_message(self) -> str:
        return f"{self.binary} not found on PATH: install it with `{self.install}`"


class LineParser:
    """Splits stdout into lines and hands each whole line to `parse_line`.

    A line `parse_line` cannot handle (it raises on an unexpected shape) is kept as a RawLine: a
    parser must never drop output or take the run down because a CLI changed its format.
    """

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[AgentEvent]:
        self._buf += data
        out: list[AgentEvent] = []
        start = 0
        while (end := self._buf.find(b"\n", start)) >= 0:
            out.extend(self._line(bytes(self._buf[start:end])))
            start = end + 1
        del self._buf[:start]
        if len(self._buf) > MAX_LINE_BYTES:
            out.extend(self._line(bytes(self._buf), raw_only=True))
            self._buf.clear()
        return out

    def close(self) -> list[AgentEvent]:
        out: list[AgentEvent] = []
        if self._buf:
            out.extend(self._line(bytes(self._buf)))
            self._buf.clear()
        out.extend(self.finish())
        return out

    def _line(self, data: bytes, *, raw_only: bool = False) -> list[AgentEvent]:
        text = data.decode("utf-8", "replace").rstrip("\r")
        if not text.strip():
            return []
        if raw_only:
            return [RawLine(text)]
        try:
            return self.parse_line(text)
        except Exception:  # any surprise in a CLI's output is kept as text, never fatal
            return [RawLine(text)]

    def parse_line(self, line: str) -> list[AgentEvent]:
        return [RawLine(line)]

    def finish(self) -> list[AgentEvent]:
        """Events owed at the end of the stream (e.g. a result the CLI never sends)."""
        return []


class JsonLineParser(LineParser):
    """One JSON object a line. `on_object` returns the events for it, [] for a known object with
    nothing to show, or None for an unknown one (kept as a RawLine)."""

    def parse_line(self, line: str) -> list[AgentEvent]:
        stripped = line.strip()
        if not stripped.startswith("{"):
            return [RawLine(line)]
        try:
            obj = json.loads(stripped)
        except ValueError:
            return [RawLine(line)]
        if not isinstance(obj, dict):
            return [RawLine(line)]
        events = self.on_object(obj)
        return [RawLine(line)] if events is None else events

    def on_object(self, obj: dict[str, Any]) -> list[AgentEvent] | None:
        raise NotImplementedError


_SUMMARY_KEYS = (
    "command",
    "cmd",
    "commands",
    "file_path",
    "filePath",
    "path",
    "absolute_path",
    "pattern",
    "url",
    "query",
    "description",
    "prompt",
)


def summarize_input(value: Any) -> str:
    """One line saying what a tool was asked to do: its command, path or pattern if it has one."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return one_line(value)
    if isinstance(value, Mapping):
        for key in _SUMMARY_KEYS:
            item = value.get(key)
            if isinstance(item, list) and item and all(isinstance(i, str) for i in item):
                if key == "command" and len(item) >= 3 and item[1] in ("-lc", "-c"):
                    item = item[2:]  # ["bash", "-lc", "echo hi"]: the script is what matters
                return one_line("; ".join(item))
            if isinstance(item, str) and item.strip():
                return one_line(item)
    if value in (None, {}, []):
        return ""
    return one_line(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def short(text: Any, limit: int = SHORT_OUTPUT) -> str:
    """Tool output cut to `limit` characters (the log file has it whole)."""
    body = text if isinstance(text, str) else "" if text is None else json.dumps(text)
    body = body.strip()
    return body if len(body) <= limit else body[: limit - 1] + "…"


def as_int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def as_cost(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
