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
    DELTA = "delta"
    THINKING = "thinking"
    DENIED = "denied"
    RETRYING = "retrying"


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
class TextDelta:
    """A piece of text as the model streams it; the whole text follows as an `AssistantText`
    (or a `Thinking`), so a reader that only wants whole answers can ignore these."""

    kind: ClassVar[Kind] = Kind.DELTA
    text: str
    thinking: bool = False
    """A piece of the model's thinking, not of its answer."""


@record
class Thinking:
    """The model's thinking (reasoning) where the CLI shows it: displayed folded."""

    kind: ClassVar[Kind] = Kind.THINKING
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
class ToolDenied:
    """The CLI refused a tool call for want of permission: the work it stood for was not done,
    and the task needs its user's attention."""

    kind: ClassVar[Kind] = Kind.DENIED
    tool: str
    summary: str
    call_id: str = ""


@record
class RetryNotice:
    """The agent CLI says it is retrying a request on its own (a rate limit, an overload)."""

    kind: ClassVar[Kind] = Kind.RETRYING
    message: str
    delay: float | None = None
    """Seconds until its next try, when it says."""
    attempt: int = 0
    attempts: int = 0
    """How many tries it allows in all (0: it did not say)."""


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
    | TextDelta
    | Thinking
    | ToolCall
    | ToolResult
    | ToolDenied
    | RetryNotice
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
        TextDelta,
        Thinking,
        ToolCall,
        ToolResult,
        ToolDenied,
        RetryNotice,
        Usage,
        FinalResult,
        AgentError,
        RawLine,
    )
}


def to_data(event: AgentEvent) -> dict[str, Any]:
    """The event's fields as a JSON-safe dict, with its kind under "type"."""
    return {"type": event.kind.value, **asdict(event)}


def _check(type_name: str) -> Any:
    """A test of a field's value, from its annotation (the module's annotations are strings)."""
    if type_name == "str":
        return lambda v: isinstance(v, str)
    if type_name == "bool":
        return lambda v: isinstance(v, bool)
    if type_name == "int":
        return lambda v: isinstance(v, int) and not isinstance(v, bool)
    if "float | None" in type_name:
        return lambda v: v is None or (isinstance(v, int | float) and not isinstance(v, bool))
    return lambda v: True


_FIELDS: dict[type, tuple[tuple[str, Any], ...]] = {
    cls: tuple((f.name, _check(str(f.type))) for f in fields(cls)) for cls in _BY_KIND.values()
}
"""Each event class's fields and their tests, worked out once (not per event read)."""


def from_data(data: dict[str, Any]) -> AgentEvent | None:
    """The inverse of `to_data`; None if `data` is not a well-formed event."""
    cls = _BY_KIND.get(str(data.get("type")))
    if cls is None:
        return None
    given: dict[str, Any] = {}
    for name, check in _FIELDS[cls]:
        if name in data:
            value = data[name]
            if not check(value):
                return None
            given[name] = value
    try:
        return cls(**given)
    except TypeError:  # a field without a default is missing
        return None


@record
class AgentTotals:
    """What an agent task has used so far: tokens, money (when known) and tool calls."""

    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    tool_calls: int = 0
    estimated: bool = False
    """Some of these figures are estimates (from the stream, a price table or text length),
    not what the agent reported; its final figures replace them."""
    denials: int = 0
    """Tool calls the CLI refused for want of permission."""

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
            self.estimated or other.estimated,
            self.denials + other.denials,
        )

    def brief(self) -> str:
        """ "1.2k tok  $0.004  3 tools", leaving out what is unknown or zero; "~" marks figures
        that are still estimates."""
        about = "~" if self.estimated else ""
        parts = [f"{about}{tokens(self.tokens)} tok"]
        if self.cost_usd is not None:
            parts.append(about + cost(self.cost_usd))
        if self.tool_calls:
            parts.append(f"{self.tool_calls} tool{'s' if self.tool_calls != 1 else ''}")
        if self.denials:
            parts.append(f"{self.denials} denied")
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
    if usd < 0.0001:
        return f"${usd:.7f}".rstrip("0")[:9]
    if usd < 0.01:
        return f"${usd:.4f}".rstrip("0")
    if usd < 1:
        return f"${usd:.3f}"
    return f"${usd:.2f}"


MAX_LINE = 200


def one_line(text: str, limit: int = MAX_LINE) -> str:
    """The first non-empty line, shortened to `limit` characters, with a note of what was cut."""
    if "\n" not in text and "\r" not in text and len(text) <= limit:
        return text.strip()  # the common case, without splitting
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    first = lines[0].strip()
    more = f"  (+{len(lines) - 1} lines)" if len(lines) > 1 else ""
    if len(first) > limit:
        first = first[: limit - 1] + "…"
    return first + more


ERROR_LINES = 12
"""Lines of a failed tool's output shown under its result line (the log has all of it)."""


def folded(text: str, limit: int = MAX_LINE) -> str:
    """Text shown folded: its first line, and how many more there are."""
    return one_line(text, limit)


def describe(
    event: AgentEvent, totals: AgentTotals | None = None, call: ToolCall | None = None
) -> str | None:
    """The line a person reads in the pane or the headless output; None: nothing to show.

    `call` is the call a tool result answers, when it is not the call just before it (calls
    made in parallel): the result then names it, so each result reads next to its call."""
    if isinstance(event, SessionStarted):
        parts = [f"session {event.session_id}" if event.session_id else "", event.model]
        return "● " + "  ".join(p for p in parts if p)
    if isinstance(event, AssistantText):
        return event.text.strip("\n") or None
    if isinstance(event, ToolCall):
        return f"▸ {event.tool}  {event.summary}".rstrip()
    if isinstance(event, ToolResult):
        status = "ok" if event.ok else "error"
        which = f"[{event_call(call)}]  " if call is not None else ""
        if event.ok:
            return f"◂ {status}  {which}{one_line(event.output)}".rstrip()
        lines = [line.rstrip() for line in event.output.strip().splitlines() if line.strip()]
        head = f"◂ {status}  {which}{lines[0] if lines else ''}".rstrip()
        rest = ["    " + line[:MAX_LINE] for line in lines[1:ERROR_LINES]]
        if len(lines) > ERROR_LINES:
            rest.append(f"    … (+{len(lines) - ERROR_LINES} lines in the log)")
        return "\n".join([head, *rest])
    if isinstance(event, TextDelta):
        return None  # shown by whoever assembles the pieces into lines
    if isinstance(event, Thinking):
        text = folded(event.text)
        return f"💭 {text}" if text else None
    if isinstance(event, ToolDenied):
        return f"⛔ denied  {event.tool}  {event.summary}".rstrip()
    if isinstance(event, RetryNotice):
        tries = (
            f" (try {event.attempt}/{event.attempts})" if event.attempt and event.attempts else ""
        )
        wait = f" in {event.delay:g}s" if event.delay is not None else ""
        return f"⏳ the agent retries{wait}{tries}: {one_line(event.message)}"
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


def event_call(call: ToolCall) -> str:
    return f"{call.tool}  {call.summary}".strip() if call.summary else call.tool
