"""What every executor is: an argv and environment for a headless run, and a pure stream parser.

An executor does no I/O. `invocation(request)` says what to start; `parser()` gives a fresh
incremental parser that turns the process's stdout bytes into `core.activity` events. Running it
(lifecycle, logs, idle detection, interrupts, budgets) is the orchestrator's job.
"""

from __future__ import annotations

import json
import json.scanner
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from oneshot_tui.core.activity import AgentEvent, RawLine, one_line

_scan = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]
"""(object, end) of the JSON value at a position: json.loads without its wrappers."""

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
    output_schema: str | None = None
    """A JSON Schema (as JSON text) the final answer must fit, for a CLI that can enforce one
    (`structured_output`); the loop asks it of the auditor."""
    output_schema_file: str | None = None
    """The same schema in a file, for a CLI that takes a path (codex)."""


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

    def feed_stderr(self, data: bytes) -> list[AgentEvent]:
        """Events completed by this chunk of stderr (raw lines, or what a CLI says there: a
        retry notice, an error object)."""
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
    """It continues a session of its own (`AgentRequest.resume_session`), with the same
    permissions as the session's first turn."""
    structured_output: ClassVar[bool] = False
    """It can be made to answer in a JSON schema (`AgentRequest.output_schema`)."""
    streams_text: ClassVar[bool] = False
    """Its stream carries text as the model writes it (`TextDelta`), not only whole messages."""
    stdout_file: ClassVar[bool] = False
    """Its stdout goes to a file rather than a pipe: the CLI exits before a full pipe drains
    and would lose the end of a long answer (Node and Bun CLIs)."""
    first_runs_race: ClassVar[bool] = False
    """Its first runs on a fresh HOME race each other (opencode's SQLite set-up): start one, let
    it get going, then the others."""
    default_model: ClassVar[str] = ""
    """The model it uses when none is given, for the price table."""

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
        self._err = bytearray()

    def feed_stderr(self, data: bytes) -> list[AgentEvent]:
        self._err += data
        out: list[AgentEvent] = []
        start = 0
        while (end := self._err.find(b"\n", start)) >= 0:
            out.extend(self._stderr_line(bytes(self._err[start:end])))
            start = end + 1
        del self._err[:start]
        if len(self._err) > MAX_LINE_BYTES:
            out.extend(self._stderr_line(bytes(self._err)))
            self._err.clear()
        return out

    def _stderr_line(self, data: bytes) -> list[AgentEvent]:
        text = data.decode("utf-8", "replace").rstrip("\r")
        if not text.strip():
            return []
        try:
            return self.parse_stderr_line(text)
        except Exception:  # as on stdout: a surprise is kept as text
            return [RawLine(text, "stderr")]

    def parse_stderr_line(self, line: str) -> list[AgentEvent]:
        """A line of stderr; a raw line unless the CLI says something we read there."""
        return [RawLine(line, "stderr")]

    def feed(self, data: bytes) -> list[AgentEvent]:
        block = self._whole_lines(data)
        if block is None:
            return self._overflow()
        out: list[AgentEvent] = []
        line = self._line
        for raw in block.split(b"\n"):
            if raw:
                out += line(raw)
        return out

    def _whole_lines(self, data: bytes) -> bytes | None:
        """The whole lines this chunk completes, as one block (the rest is kept for later);
        None when there are none. Split in one go: a long session is millions of lines, and a
        per-line find and slice of a growing buffer costs more than parsing them."""
        end = data.rfind(b"\n")
        if end < 0:
            self._buf += data
            return None
        if self._buf:
            self._buf += data[: end + 1]
            block = bytes(self._buf)
            self._buf.clear()
        else:
            block = data[: end + 1]
        if end + 1 < len(data):
            self._buf += data[end + 1 :]
        return block

    def _overflow(self) -> list[AgentEvent]:
        """A line longer than MAX_LINE_BYTES so far: passed on as raw text, not held."""
        if len(self._buf) <= MAX_LINE_BYTES:
            return []
        events = self._line(bytes(self._buf), raw_only=True)
        self._buf.clear()
        return events

    def close(self) -> list[AgentEvent]:
        out: list[AgentEvent] = []
        if self._err:
            out.extend(self._stderr_line(bytes(self._err)))
            self._err.clear()
        if self._buf:
            out.extend(self._line(bytes(self._buf)))
            self._buf.clear()
        out.extend(self.finish())
        return out

    def _line(self, data: bytes, *, raw_only: bool = False) -> list[AgentEvent]:
        text = data.decode("utf-8", "replace")
        if text[-1:] == "\r":
            text = text[:-1]
        if not text or (text[0].isspace() and not text.strip()):
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

    def feed(self, data: bytes) -> list[AgentEvent]:
        # The common line, a JSON object alone, takes the short way (this loop is most of a
        # parser's cost); anything else goes through `_line` like any line.
        block = self._whole_lines(data)
        if block is None:
            return self._overflow()
        out: list[AgentEvent] = []
        scan, on_object, line = _scan, self.on_object, self._line
        for raw in block.split(b"\n"):
            if not raw:
                continue
            text = raw.decode("utf-8", "replace")
            if text[0] == "{" and text[-1] == "}":
                try:
                    obj, end = scan(text, 0)
                except (StopIteration, ValueError):
                    out.append(RawLine(text))
                    continue
                if end == len(text) and type(obj) is dict:
                    try:
                        events = on_object(obj)
                    except Exception:  # a surprise in a CLI's output is kept as text
                        events = None
                    if events is None:
                        out.append(RawLine(text))
                    elif events:
                        out += events
                    continue
            out += line(raw)
        return out

    def parse_line(self, line: str) -> list[AgentEvent]:
        stripped = line if line[0] == "{" and line[-1] == "}" else line.strip()
        if not stripped.startswith("{"):
            return [RawLine(line)]
        try:
            # The C scanner straight away: json.loads adds a whitespace regex and two calls a
            # line, a third of the time on a long session.
            obj, end = _scan(stripped, 0)
        except (StopIteration, ValueError):
            return [RawLine(line)]
        if end != len(stripped) or not isinstance(obj, dict):
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
    if type(value) is dict:
        command = value.get("command")
        if type(command) is str and command.strip():
            return one_line(command)  # the usual call: a shell command
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


ERROR_OUTPUT = 4000
"""A failed tool's output is kept longer: the error is what a person needs to read."""


def short(text: Any, limit: int = SHORT_OUTPUT) -> str:
    """Tool output cut to `limit` characters (the log file has it whole)."""
    body = text if isinstance(text, str) else "" if text is None else json.dumps(text)
    body = body.strip()
    return body if len(body) <= limit else body[: limit - 1] + "…"


def tool_output(ok: bool, text: Any) -> str:
    """A tool's output as a ToolResult keeps it: short when it worked, longer when it failed."""
    return short(text, SHORT_OUTPUT if ok else ERROR_OUTPUT)


_ERROR_WORD = re.compile(
    r"error|fail|fatal|exception|denied|refused|invalid|cannot|can't|unable", re.I
)
_NOISE = re.compile(r"^\s*(?:at\s|\^|~+$|DeprecationWarning|\(Use `node|WARNING: proceeding)")


def error_lines(lines: list[str], limit: int = 2) -> str:
    """What a CLI's stderr said about its failure: its last lines that name an error (else its
    last lines), stack frames and known noise left out, joined with " | "."""
    kept = [line.strip() for line in lines if line.strip() and not _NOISE.match(line)]
    picked = [line for line in kept if _ERROR_WORD.search(line)] or kept
    text = " | ".join(picked[-limit:])
    return text if len(text) <= 400 else text[:399] + "…"


def as_int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def as_cost(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
