"""The activity model every agent executor's stream is parsed into, and how it reads as a line.

Each agent CLI speaks its own dialect (Claude's stream-json, Codex's items, Gemini's events, ...);
its parser turns it into these few kinds, so the UI, the headless printers, the history store and
the worker/auditor loop read one model. Plain data: stdlib only, JSON-safe through `to_data`.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from enum import StrEnum
from typing import Any, ClassVar

from oneshot_tui.core.record import record

ACTIVITY_STREAM = "activity"
"""The `Output.stream` of the readable activity lines shown in a task's pane."""


class Kind(StrEnum):
    SESSION = "session"
    TEXT = "text"
    TOOL_CALL = "tool_call"
    TOOL_RESULT = "tool_result"
    USAGE = "usage"
    RESULT = "result"
    ERROR = "error"
    RAW = "raw"


@record
class SessionStarted:
    """The agent opened (or resumed) a session; the id lets a later run resume it."""

    kind: ClassVar[Kind] = Kind.SESSION
    session_id: str
    model: str = ""


@record
class AssistantText:
    kind: ClassVar[Kind] = Kind.TEXT
    text: str


@record
class ToolCall:
    kind: ClassVar[Kind] = Kind.TOOL_CALL
    tool: str
    summary: str
    """One line: the command, the path, or the input shortened."""
    call_id: str = ""


@record
class ToolResult:
    kind: ClassVar[Kind] = Kind.TOOL_RESULT
    ok: bool
    output: str
    """Short: at most a few hundred characters of the tool's output."""
    call_id: str = ""


@record
class Usage:
    """The session's totals so far (not a delta): later Usage events replace earlier ones."""

    kind: ClassVar[Kind] = Kind.USAGE
    input_tokens: int
    output_tokens: int
    cost_usd: float | None = None
    """None when the agent does not say what it cost."""


@record
class FinalResult:
    """The agent's final answer. `is_error` is the truth, whatever the CLI's own status said."""

    kind: ClassVar[Kind] = Kind.RESULT
    text: str
    is_error: bool = False
    rate_limited: bool = False


@record
class AgentError:
    kind: ClassVar[Kind] = Kind.ERROR
    message: str
    rate_limited: bool = False
    retry_after: float | None = None
    """Seconds the service asked us to wait, when it said."""


@record
class RawLine:
    """A line the parser did not understand (or plain text): kept, never dropped."""

    kind: ClassVar[Kind] = Kind.RAW
    text: str
    stream: str = "stdout"


AgentEvent = (
    SessionStarted
    | AssistantText
    | ToolCall
    | ToolResult
    | Usage
    | FinalResult
    | AgentError
    | RawLine
)

_BY_KIND: dict[str, type[AgentEvent]] = {
    cls.kind.value: cls
    for cls in (
        SessionStarted,
        AssistantText,
        ToolCall,
        ToolResult,
        Usage,
        FinalResult,
        AgentError,
        RawLine,
    )
}


def to_data(event: AgentEvent) -> dict[str, Any]:
    """The event's fields as a JSON-safe dict, with its kind under "type"."""
    return {"type": event.kind.value, **asdict(event)}


def from_data(data: dict[str, Any]) -> AgentEvent | None:
    """The inverse of `to_data`; None if `data` is not a well-formed event."""
    cls = _BY_KIND.get(str(data.get("type")))
    if cls is None:
        return None
    names = {f.name for f in fields(cls)}
    try:
        event = cls(**{k: v for k, v in data.items() if k in names})
    except TypeError:
        return None
    return event if _well_typed(event) else None


def _well_typed(event: AgentEvent) -> bool:
    for f in fields(event):
        value = getattr(event, f.name)
        expected = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "")
        if expected == "str" and not isinstance(value, str):
            return False
        if expected == "bool" and not isinstance(value, bool):
            return False
        if expected == "int" and (isinstance(value, bool) or not isinstance(value, int)):
            return False
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        if "float | None" in expected and value is not None and not is_number:
            return False
    return True


@record
class AgentTotals:
    """What an agent task has used so far: tokens, money (when known) and tool calls."""

    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    tool_calls: int = 0

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: AgentTotals) -> AgentTotals:
        if self.cost_usd is None and other.cost_usd is None:
            cost = None
        else:
            cost = (self.cost_usd or 0.0) + (other.cost_usd or 0.0)
        return AgentTotals(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            cost,
            self.tool_calls + other.tool_calls,
        )

    def brief(self) -> str:
        """ "1.2k tok  $0.004  3 tools", leaving out what is unknown or zero."""
        parts = [f"{tokens(self.tokens)} tok"]
        if self.cost_usd is not None:
            parts.append(cost(self.cost_usd))
        if self.tool_calls:
            parts.append(f"{self.tool_calls} tool{'s' if self.tool_calls != 1 else ''}")
        return "  ".join(parts)


def tokens(n: int) -> str:
    """950, 1.2k, 34k, 1.5M."""
    if n < 1000:
        return str(n)
    if n < 10_000:
        return f"{n / 1000:.1f}k"
    if n < 1_000_000:
        return f"{n // 1000}k"
    return f"{n / 1_000_000:.1f}M"


def cost(usd: float) -> str:
    """$0.00047 -> "$0.0005", $0.0123 -> "$0.012", $1.234 -> "$1.23"."""
    if usd == 0:
        return "$0"
    if usd < 0.01:
        return f"${usd:.4f}".rstrip("0")
    if usd < 1:
        return f"${usd:.3f}"
    return f"${usd:.2f}"


MAX_LINE = 200


def one_line(text: str, limit: int = MAX_LINE) -> str:
    """The first non-empty line, shortened to `limit` characters, with a note of what was cut."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    first = lines[0].strip()
    more = f"  (+{len(lines) - 1} lines)" if len(lines) > 1 else ""
    if len(first) > limit:
        first = first[: limit - 1] + "…"
    return first + more


def describe(event: AgentEvent, totals: AgentTotals | None = None) -> str | None:
    """The line a person reads in the pane or the headless output; None: nothing to show."""
    if isinstance(event, SessionStarted):
        parts = [f"session {event.session_id}" if event.session_id else "", event.model]
        return "● " + "  ".join(p for p in parts if p)
    if isinstance(event, AssistantText):
        return event.text.strip("\n") or None
    if isinstance(event, ToolCall):
        return f"▸ {event.tool}  {event.summary}".rstrip()
    if isinstance(event, ToolResult):
        return f"◂ {'ok' if event.ok else 'error'}  {one_line(event.output)}".rstrip()
    if isinstance(event, Usage):
        return None  # shown as running totals, not as a line per update
    if isinstance(event, FinalResult):
        mark = "✗" if event.is_error else "✓"
        suffix = f"  {totals.brief()}" if totals is not None else ""
        return f"{mark} result {one_line(event.text)}{suffix}"
    if isinstance(event, AgentError):
        label = "rate limited" if event.rate_limited else "error"
        return f"✗ {label}: {one_line(event.message)}"
    return event.text
