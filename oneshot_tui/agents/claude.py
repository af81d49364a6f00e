"""Claude Code (`claude -p ... --output-format stream-json --verbose --include-partial-messages`).

Stream: `system/init`, then `stream_event` lines (the raw SSE events: text and thinking as they
are written), `assistant` lines (one per content block, sharing the message id and its usage),
`user` lines carrying tool results, `system/api_retry` when it retries a request, and a closing
`result` (with `permission_denials`). Traps: `result.subtype` is "success" even when `is_error`
is true (an API error), so `is_error` decides; an assistant line's usage is the message's so far
(its output tokens grow), so each message is counted once, at its latest figure.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from oneshot_tui.agents.base import (
    AgentRequest,
    Executor,
    Invocation,
    JsonLineParser,
    StreamParser,
    as_cost,
    as_int,
    summarize_input,
    tool_output,
)
from oneshot_tui.agents.limits import looks_rate_limited
from oneshot_tui.core.activity import (
    AgentEvent,
    AssistantText,
    FinalResult,
    RetryNotice,
    SessionStarted,
    TextDelta,
    Thinking,
    ToolCall,
    ToolDenied,
    ToolResult,
    Usage,
)

STRUCTURED_TOOLS = frozenset({"StructuredOutput", "structured_output"})
"""The synthetic tool a CLI answers a JSON schema through: its call is the answer, not work."""


class ClaudeExecutor(Executor):
    name = "claude"
    binary = "claude"
    install = "npm install -g @anthropic-ai/claude-code"
    can_resume = True
    structured_output = True
    streams_text = True
    stdout_file = True
    default_model = "claude-opus-4-8"

    def invocation(self, request: AgentRequest) -> Invocation:
        # --allowedTools Bash with acceptEdits runs commands and edits without asking, and works
        # as root too (where --dangerously-skip-permissions is refused); a resumed session gets
        # the same. The prompt goes after "--" so one that starts with "-" is not a flag.
        argv = ["claude", "-p", "--output-format", "stream-json", "--verbose"]
        argv += ["--include-partial-messages"]
        argv += ["--permission-mode", "acceptEdits", "--allowedTools", "Bash"]
        if request.model:
            argv += ["--model", request.model]
        if request.resume_session:
            argv += ["--resume", request.resume_session]
        if request.output_schema:
            argv += ["--json-schema", request.output_schema]
        argv += [*request.args, "--", request.prompt]
        return Invocation(tuple(argv), {"DISABLE_AUTOUPDATER": "1"})

    def parser(self) -> StreamParser:
        return ClaudeParser()


_QUIET = frozenset({"rate_limit_event", "control_request", "control_response"})


def _usage_tokens(usage: Any) -> tuple[int, int]:
    """(input, output) tokens; cache writes and reads count as input, since they were sent."""
    if not isinstance(usage, dict):
        return 0, 0
    sent = 0
    for key in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"):
        value = usage.get(key)
        if type(value) is int:
            sent += value
    got = usage.get("output_tokens")
    return sent, got if type(got) is int else 0


def _block_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(b.get("text", "")) for b in content if isinstance(b, dict) and "text" in b
        )
    return "" if content is None else str(content)


class ClaudeParser(JsonLineParser):
    """Claude Code's stream-json; also the base of Qwen Code's, which copies it."""

    api_error_in_success: ClassVar[bool] = False

    def __init__(self) -> None:
        super().__init__()
        self._message_usage: dict[str, tuple[int, int]] = {}
        """Each message's latest usage, so a message is counted once whatever its line count."""
        self._sent = 0
        self._got = 0
        """Running totals of `_message_usage` (summing it on every line is quadratic)."""
        self._last_usage: tuple[int, int] | None = None
        self._streaming: str = ""
        """The id of the message whose SSE events are streaming now."""
        self._structured: set[str] = set()

    def on_object(self, obj: dict[str, Any]) -> list[AgentEvent] | None:
        kind = obj.get("type")
        if kind == "stream_event":  # the most frequent line of all with partial messages
            return self._stream_event(obj.get("event") or {})
        if kind == "assistant":
            return self._assistant(obj["message"])
        if kind == "user":
            return self._user(obj["message"])
        if kind == "system":
            return self._system(obj)
        if kind == "result":
            return self._result(obj)
        if kind in _QUIET:
            return []
        return None

    def _stream_event(self, event: dict[str, Any]) -> list[AgentEvent]:
        kind = event.get("type")
        if kind == "content_block_delta":
            delta = event.get("delta") or {}
            if delta.get("type") == "text_delta" and delta.get("text"):
                return [TextDelta(str(delta["text"]))]
            if delta.get("type") == "thinking_delta" and delta.get("thinking"):
                return [TextDelta(str(delta["thinking"]), thinking=True)]
            return []
        if kind == "message_start":
            message = event.get("message") or {}
            self._streaming = str(message.get("id", ""))
            return []
        if kind == "message_delta" and self._streaming:
            # The message's final output tokens (its assistant lines may show fewer).
            sent, got = self._message_usage.get(self._streaming, (0, 0))
            usage = event.get("usage")
            if isinstance(usage, dict) and "output_tokens" in usage:
                got = max(got, as_int(usage.get("output_tokens")))
            return self._count(self._streaming, (sent, got))
        return []

    def _system(self, obj: dict[str, Any]) -> list[AgentEvent]:
        subtype = obj.get("subtype")
        if subtype == "init":
            return [SessionStarted(str(obj["session_id"]), str(obj.get("model") or ""))]
        if subtype == "api_retry":
            status = obj.get("error_status")
            error = obj.get("error")
            message = f"HTTP {status}" if status else ""
            if error:
                message = f"{message}: {error}" if message else str(error)
            delay_ms = obj.get("retry_delay_ms")
            delay = delay_ms / 1000 if isinstance(delay_ms, int | float) else None
            return [
                RetryNotice(
                    message or "API error",
                    delay,
                    as_int(obj.get("attempt")),
                    as_int(obj.get("max_retries")),
                )
            ]
        return []

    def _assistant(self, message: dict[str, Any]) -> list[AgentEvent]:
        out: list[AgentEvent] = []
        for block in message.get("content") or ():
            kind = block.get("type")
            if kind == "text":
                text = block.get("text")
                if isinstance(text, str) and text.strip():
                    out.append(AssistantText(text))
            elif kind == "tool_use":
                name = str(block.get("name", "?"))
                call_id = str(block.get("id", ""))
                if name in STRUCTURED_TOOLS:
                    self._structured.add(call_id)  # the answer itself: the result carries it
                    continue
                out.append(ToolCall(name, summarize_input(block.get("input")), call_id))
            elif kind == "thinking":
                text = block.get("thinking")
                if isinstance(text, str) and text.strip():
                    out.append(Thinking(text))
        msg_id = message.get("id")
        usage = message.get("usage")
        if usage is not None and msg_id:
            sent, got = _usage_tokens(usage)
            before = self._message_usage.get(msg_id)
            if before is not None:
                sent, got = max(sent, before[0]), max(got, before[1])
            out += self._count(msg_id, (sent, got))
        return out

    def _count(self, msg_id: str, usage: tuple[int, int]) -> list[AgentEvent]:
        before = self._message_usage.get(msg_id, (0, 0))
        self._message_usage[msg_id] = usage
        self._sent += usage[0] - before[0]
        self._got += usage[1] - before[1]
        return self._usage(None)

    def _usage(self, cost: float | None, totals: tuple[int, int] | None = None) -> list[AgentEvent]:
        if totals is None:
            totals = (self._sent, self._got)
        if totals == self._last_usage and cost is None:
            return []
        self._last_usage = totals
        return [Usage(totals[0], totals[1], cost)]

    def _user(self, message: dict[str, Any]) -> list[AgentEvent]:
        out: list[AgentEvent] = []
        content = message.get("content")
        if not isinstance(content, list):
            return out
        for block in content:
            if type(block) is not dict or block.get("type") != "tool_result":
                continue
            call_id = str(block.get("tool_use_id", ""))
            if self._structured and call_id in self._structured:
                continue
            ok = not block.get("is_error", False)
            output = block.get("content")
            text = output if type(output) is str else _block_text(output)
            out.append(ToolResult(ok, tool_output(ok, text), call_id))
        return out

    def _result(self, obj: dict[str, Any]) -> list[AgentEvent]:
        text = _block_text(obj.get("result"))
        structured = obj.get("structured_output", obj.get("structured_result"))
        if isinstance(structured, dict) and not text.strip():
            text = json.dumps(structured, ensure_ascii=False)
        if not text and obj.get("errors"):
            text = "; ".join(str(e) for e in obj["errors"])
        is_error = bool(obj.get("is_error")) or obj.get("subtype") not in ("success", None)
        if self.api_error_in_success and _api_error_text(text):
            is_error = True
        out: list[AgentEvent] = [
            ToolDenied(
                str(denial.get("tool_name", "?")),
                summarize_input(denial.get("tool_input")),
                str(denial.get("tool_use_id", "")),
            )
            for denial in obj.get("permission_denials") or []
            if isinstance(denial, dict)
        ]
        if "usage" in obj:
            out += self._usage(as_cost(obj.get("total_cost_usd")), _usage_tokens(obj["usage"]))
        limited = is_error and (obj.get("api_error_status") == 429 or looks_rate_limited(text))
        out.append(FinalResult(text, is_error, limited))
        return out


def _api_error_text(text: str) -> bool:
    return text.lstrip().startswith("[API Error") or "[API Error:" in text
