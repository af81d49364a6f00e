"""Claude Code (`claude -p ... --output-format stream-json --verbose`).

Stream: `system/init`, then `assistant` lines (one per content block, sharing the message id and
its usage), `user` lines carrying tool results, and a closing `result`. Trap: `result.subtype` is
"success" even when `is_error` is true (an API error), so `is_error` decides.
"""

from __future__ import annotations

from typing import Any, ClassVar

from oneshot_tui.agents.base import (
    AgentRequest,
    Executor,
    Invocation,
    JsonLineParser,
    StreamParser,
    as_cost,
    as_int,
    short,
    summarize_input,
)
from oneshot_tui.agents.limits import looks_rate_limited
from oneshot_tui.core.activity import (
    AgentEvent,
    AssistantText,
    FinalResult,
    RawLine,
    SessionStarted,
    ToolCall,
    ToolResult,
    Usage,
)


class ClaudeExecutor(Executor):
    name = "claude"
    binary = "claude"
    install = "npm install -g @anthropic-ai/claude-code"
    can_resume = True

    def invocation(self, request: AgentRequest) -> Invocation:
        # --allowedTools Bash with acceptEdits runs commands and edits without asking, and works
        # as root too (where --dangerously-skip-permissions is refused). The prompt goes after
        # "--" so one that starts with "-" is not read as a flag.
        argv = ["claude", "-p", "--output-format", "stream-json", "--verbose"]
        argv += ["--permission-mode", "acceptEdits", "--allowedTools", "Bash"]
        if request.model:
            argv += ["--model", request.model]
        if request.resume_session:
            argv += ["--resume", request.resume_session]
        argv += [*request.args, "--", request.prompt]
        return Invocation(tuple(argv), {"DISABLE_AUTOUPDATER": "1"})

    def parser(self) -> StreamParser:
        return ClaudeParser()


def _usage_tokens(usage: Any) -> tuple[int, int]:
    """(input, output) tokens; cache writes and reads count as input, since they were sent."""
    if not isinstance(usage, dict):
        return 0, 0
    sent = (
        as_int(usage.get("input_tokens"))
        + as_int(usage.get("cache_creation_input_tokens"))
        + as_int(usage.get("cache_read_input_tokens"))
    )
    return sent, as_int(usage.get("output_tokens"))


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
        self._last_usage: tuple[int, int] | None = None

    def on_object(self, obj: dict[str, Any]) -> list[AgentEvent] | None:
        kind = obj.get("type")
        if kind == "system":
            return self._system(obj)
        if kind == "assistant":
            return self._assistant(obj["message"])
        if kind == "user":
            return self._user(obj["message"])
        if kind == "result":
            return self._result(obj)
        if kind in ("stream_event", "rate_limit_event", "control_request", "control_response"):
            return []
        return None

    def _system(self, obj: dict[str, Any]) -> list[AgentEvent]:
        subtype = obj.get("subtype")
        if subtype == "init":
            return [SessionStarted(str(obj["session_id"]), str(obj.get("model") or ""))]
        if subtype == "api_retry":
            status = obj.get("error_status") or obj.get("error") or ""
            return [RawLine(f"API retry {obj.get('attempt', '')}: {status}".strip())]
        return []

    def _assistant(self, message: dict[str, Any]) -> list[AgentEvent]:
        out: list[AgentEvent] = []
        for block in message.get("content") or []:
            kind = block.get("type")
            if kind == "text" and str(block.get("text", "")).strip():
                out.append(AssistantText(str(block["text"])))
            elif kind == "tool_use":
                out.append(
                    ToolCall(
                        str(block.get("name", "?")),
                        summarize_input(block.get("input")),
                        str(block.get("id", "")),
                    )
                )
        msg_id = str(message.get("id", ""))
        if "usage" in message and msg_id:
            # Every block of a message repeats the message's usage: count each message once.
            self._message_usage[msg_id] = _usage_tokens(message["usage"])
            out.extend(self._usage(None))
        return out

    def _usage(self, cost: float | None, totals: tuple[int, int] | None = None) -> list[AgentEvent]:
        if totals is None:
            totals = (
                sum(u[0] for u in self._message_usage.values()),
                sum(u[1] for u in self._message_usage.values()),
            )
        if totals == self._last_usage and cost is None:
            return []
        self._last_usage = totals
        return [Usage(totals[0], totals[1], cost)]

    def _user(self, message: dict[str, Any]) -> list[AgentEvent]:
        out: list[AgentEvent] = []
        content = message.get("content")
        if not isinstance(content, list):
            return out
        out.extend(
            ToolResult(
                not block.get("is_error", False),
                short(_block_text(block.get("content"))),
                str(block.get("tool_use_id", "")),
            )
            for block in content
            if isinstance(block, dict) and block.get("type") == "tool_result"
        )
        return out

    def _result(self, obj: dict[str, Any]) -> list[AgentEvent]:
        text = _block_text(obj.get("result"))
        if not text and obj.get("errors"):
            text = "; ".join(str(e) for e in obj["errors"])
        is_error = bool(obj.get("is_error")) or obj.get("subtype") not in ("success", None)
        if self.api_error_in_success and _api_error_text(text):
            is_error = True
        out: list[AgentEvent] = []
        if "usage" in obj:
            out += self._usage(as_cost(obj.get("total_cost_usd")), _usage_tokens(obj["usage"]))
        limited = is_error and (obj.get("api_error_status") == 429 or looks_rate_limited(text))
        out.append(FinalResult(text, is_error, limited))
        return out


def _api_error_text(text: str) -> bool:
    return text.lstrip().startswith("[API Error") or "[API Error:" in text
