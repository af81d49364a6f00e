"""Google Gemini CLI (`gemini --output-format stream-json --approval-mode yolo --prompt=...`).

Stream: `init` (session id, model), `message` (user echo; assistant text in `delta` pieces),
`tool_use`, `tool_result`, `error`, and a closing `result` with the status and token stats but no
text: the answer is the assistant text after the last tool call. Trap: on an API error it exits
with 144 (or 173 for a 429) after a `result` whose status is "error".
"""

from __future__ import annotations

import re
from typing import Any

from oneshot_tui.agents.base import (
    AgentRequest,
    Executor,
    Invocation,
    JsonLineParser,
    StreamParser,
    as_int,
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
    RetryNotice,
    SessionStarted,
    TextDelta,
    ToolCall,
    ToolResult,
    Usage,
)


class GeminiExecutor(Executor):
    name = "gemini"
    binary = "gemini"
    install = "npm install -g @google/gemini-cli"
    can_resume = True
    streams_text = True
    stdout_file = True
    default_model = "gemini-2.5-pro"

    def invocation(self, request: AgentRequest) -> Invocation:
        # yolo offers the shell tool and approves every call (a resumed session too);
        # --prompt=TEXT keeps a prompt that starts with "-" from being read as a flag. Trusting
        # the workspace is implied by running an agent in it headless (an untrusted folder
        # exits 55). `--resume` takes the session id its init event gave.
        argv = ["gemini", "--output-format", "stream-json", "--approval-mode", "yolo"]
        if request.model:
            argv += ["-m", request.model]
        if request.resume_session:
            argv += ["--resume", request.resume_session]
        argv += [*request.args, f"--prompt={request.prompt}"]
        return Invocation(tuple(argv), {"GEMINI_CLI_TRUST_WORKSPACE": "true"})

    def parser(self) -> StreamParser:
        return GeminiParser()


_KNOWN = frozenset({"init", "message", "tool_use", "tool_result", "error", "result"})
_RETRYING = re.compile(
    r"^Attempt (\d+) failed(?::\s*(.*?))?\.?\s*Retrying (?:after (\d+)ms|with backoff)", re.I
)


class GeminiParser(JsonLineParser):
    def __init__(self) -> None:
        super().__init__()
        self._delta: list[str] = []
        self._answer: list[str] = []
        """Assistant text since the last tool call: the final answer when the run ends."""

    def on_object(self, obj: dict[str, Any]) -> list[AgentEvent] | None:
        kind = obj.get("type")
        if kind not in _KNOWN:
            return None  # kept as a raw line; pending assistant text waits for the next event
        if kind == "message":
            if obj.get("role") != "assistant":
                return []
            text = str(obj.get("content", ""))
            if obj.get("delta"):
                self._delta.append(text)
                return [TextDelta(text)] if text else []
            return [*self._flush(), *self._text(text)]
        out = self._flush()
        if kind == "init":
            out.append(SessionStarted(str(obj["session_id"]), str(obj.get("model") or "")))
        elif kind == "tool_use":
            self._answer.clear()
            out.append(
                ToolCall(
                    str(obj.get("tool_name", "?")),
                    summarize_input(obj.get("parameters")),
                    str(obj.get("tool_id", "")),
                )
            )
        elif kind == "tool_result":
            ok = obj.get("status") == "success"
            error = obj.get("error")
            output = obj.get("output") if ok or not error else error.get("message", error)
            out.append(ToolResult(ok, tool_output(ok, output), str(obj.get("tool_id", ""))))
        elif kind == "error":
            message = str(obj.get("message", ""))
            if obj.get("severity") == "warning":
                out.append(RawLine(f"warning: {message}"))
            else:
                out.append(AgentError(message, looks_rate_limited(message), retry_after(message)))
        else:
            out.extend(self._result(obj))
        return out

    def _text(self, text: str) -> list[AgentEvent]:
        if not text.strip():
            return []
        self._answer.append(text)
        return [AssistantText(text)]

    def _flush(self) -> list[AgentEvent]:
        if not self._delta:
            return []
        text = "".join(self._delta)
        self._delta.clear()
        return self._text(text)

    def _result(self, obj: dict[str, Any]) -> list[AgentEvent]:
        stats = obj.get("stats") or {}
        out: list[AgentEvent] = [
            Usage(as_int(stats.get("input_tokens")), as_int(stats.get("output_tokens")))
        ]
        if obj.get("status") == "success":
            out.append(FinalResult("".join(self._answer)))
        else:
            error = obj.get("error") or {}
            message = str(error.get("message") if isinstance(error, dict) else error)
            limited = looks_rate_limited(message)
            out.append(FinalResult(message or "gemini reported an error", True, limited))
        return out

    def finish(self) -> list[AgentEvent]:
        return self._flush()

    def parse_stderr_line(self, line: str) -> list[AgentEvent]:
        match = _RETRYING.match(line.strip())
        if match is not None:
            delay = int(match.group(3)) / 1000 if match.group(3) else None
            return [RetryNotice(match.group(2) or line.strip(), delay, int(match.group(1)))]
        return [RawLine(line, "stderr")]
