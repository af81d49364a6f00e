"""Cline (`cline --json PROMPT`).

Stream: `hook_event` (agent_start / tool_call / tool_result / agent_end), `agent_event` (iteration
and content start/update/end: a text or reasoning `content_start` is a piece as it streams;
cumulative usage; done) and a closing `run_result`; a failure may come as a top-level
`{"type": "error", "message": ...}` line (on stderr). Traps: cline leaves a detached hub daemon
behind (the runner finds and stops it like any escapee); a one-word prompt is taken as a
subcommand, even after "--", so a one-word prompt gets a trailing newline, which the model does
not see as a change; and it cannot resume headless (`--id` in JSON mode drops the prompt and asks
for one), so a step that must continue starts a new session.
"""

from __future__ import annotations

from typing import Any

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
    tool_output,
)
from oneshot_tui.agents.limits import looks_rate_limited, retry_after
from oneshot_tui.core.activity import (
    AgentError,
    AgentEvent,
    AssistantText,
    FinalResult,
    RawLine,
    SessionStarted,
    TextDelta,
    Thinking,
    ToolCall,
    ToolResult,
    Usage,
)


class ClineExecutor(Executor):
    name = "cline"
    binary = "cline"
    install = "npm install -g cline"
    streams_text = True
    stdout_file = True
    default_model = "anthropic/claude-sonnet-4.6"

    def invocation(self, request: AgentRequest) -> Invocation:
        # A prompt runs in act mode with auto-approve on by default.
        argv = ["cline", "--json"]
        if request.model:
            argv += ["-m", request.model]
        prompt = request.prompt
        if prompt and not any(c.isspace() for c in prompt):
            prompt += "\n"
        argv += [*request.args, "--", prompt]
        return Invocation(tuple(argv), {"CLINE_NO_AUTO_UPDATE": "1"})

    def parser(self) -> StreamParser:
        return ClineParser()


def _tool_output(output: Any) -> tuple[bool, str]:
    if isinstance(output, list):
        ok = all(not isinstance(o, dict) or o.get("success", True) is not False for o in output)
        texts = [
            str(o.get("result", o.get("error", ""))) if isinstance(o, dict) else str(o)
            for o in output
        ]
        return ok, tool_output(ok, "\n".join(texts))
    if isinstance(output, dict):
        ok = output.get("success", True) is not False and not output.get("error")
        return ok, tool_output(ok, output.get("result", output.get("error", output)))
    return True, short(output)


def _message(error: Any) -> str:
    """An error's message: cline sends an Error as {name, message, stack} (the stack is noise)."""
    if isinstance(error, dict):
        return str(error.get("message") or error.get("name") or "error")
    return str(error or "error")


class ClineParser(JsonLineParser):
    def __init__(self) -> None:
        super().__init__()
        self._session = False
        self._done: dict[str, Any] | None = None
        self._result_seen = False

    def on_object(self, obj: dict[str, Any]) -> list[AgentEvent] | None:
        kind = obj.get("type")
        if kind == "hook_event":
            starts = obj.get("hookEventName") == "agent_start" and not obj.get("parentAgentId")
            if starts and not self._session:
                self._session = True
                return [SessionStarted(str(obj.get("taskId", "")), "")]
            return []
        if kind == "agent_event":
            return self._agent_event(obj["event"])
        if kind == "run_result":
            self._result_seen = True
            return self._result(obj)
        if kind == "error":
            message = _message(obj.get("message") or obj.get("error"))
            return [AgentError(message, looks_rate_limited(message), retry_after(message))]
        return None

    def parse_stderr_line(self, line: str) -> list[AgentEvent]:
        if line.lstrip().startswith('{"'):
            return self.parse_line(line)  # its error lines are JSON, as on stdout
        return [RawLine(line, "stderr")]

    def _agent_event(self, event: dict[str, Any]) -> list[AgentEvent] | None:
        kind = event.get("type")
        content = event.get("contentType")
        if kind == "content_start" and content == "tool":
            return [
                ToolCall(
                    str(event.get("toolName", "?")),
                    summarize_input(event.get("input")),
                    str(event.get("toolCallId", "")),
                )
            ]
        if kind == "content_end" and content == "tool":
            ok, output = _tool_output(event.get("output", event.get("error")))
            if event.get("error"):
                ok = False
            return [ToolResult(ok, output, str(event.get("toolCallId", "")))]
        if kind == "content_start" and content == "text" and event.get("text"):
            return [TextDelta(str(event["text"]))]
        if kind == "content_start" and content == "reasoning" and event.get("reasoning"):
            return [TextDelta(str(event["reasoning"]), thinking=True)]
        if kind == "content_end" and content == "text":
            text = str(event.get("text", ""))
            return [AssistantText(text)] if text.strip() else []
        if kind == "content_end" and content == "reasoning":
            text = str(event.get("reasoning", ""))
            return [Thinking(text)] if text.strip() else []
        if kind == "usage":
            return [
                Usage(
                    as_int(event.get("totalInputTokens")),
                    as_int(event.get("totalOutputTokens")),
                    as_cost(event.get("totalCost")),
                )
            ]
        if kind == "done":
            self._done = event
            return []
        if kind == "error":
            message = _message(event.get("message") or event.get("error"))
            return [AgentError(message, looks_rate_limited(message), retry_after(message))]
        if kind in (
            "iteration_start",
            "iteration_end",
            "content_start",
            "content_update",
            "content_end",
        ):
            return []
        return None

    def _result(self, obj: dict[str, Any]) -> list[AgentEvent]:
        usage = obj.get("aggregateUsage") or obj.get("usage") or {}
        reason = str(obj.get("finishReason", ""))
        text = str(obj.get("text") or obj.get("error") or "")
        is_error = reason != "completed"
        if is_error and not text:
            text = f"cline finished: {reason or 'unknown reason'}"
        return [
            Usage(
                as_int(usage.get("inputTokens")),
                as_int(usage.get("outputTokens")),
                as_cost(usage.get("totalCost")),
            ),
            FinalResult(text, is_error, is_error and looks_rate_limited(text)),
        ]

    def finish(self) -> list[AgentEvent]:
        if self._result_seen or self._done is None:
            return []
        reason = str(self._done.get("reason", ""))
        text = str(self._done.get("text", ""))
        is_error = reason != "completed"
        return [FinalResult(text, is_error, is_error and looks_rate_limited(text))]
