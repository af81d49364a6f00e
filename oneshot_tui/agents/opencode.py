"""opencode (`opencode run --format json ...`).

Stream: `step_start`, `text`, `tool_use` (the tool's whole state, output included), `step_finish`
(reason, tokens, cost per step) and `error`. Trap: there is no final result event; the run is over
when the stream ends, after a `step_finish` with reason "stop", so the result is made at the end.
opencode also wraps a multi-word prompt in literal double quotes before sending it; that is its
doing and cannot be undone from here.
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
    summarize_input,
    tool_output,
)
from oneshot_tui.agents.limits import looks_rate_limited, retry_after
from oneshot_tui.core.activity import (
    AgentError,
    AgentEvent,
    AssistantText,
    FinalResult,
    SessionStarted,
    Thinking,
    ToolCall,
    ToolResult,
    Usage,
)


class OpencodeExecutor(Executor):
    name = "opencode"
    binary = "opencode"
    install = "npm install -g opencode-ai"
    can_resume = True
    stdout_file = True
    first_runs_race = True
    default_model = "anthropic/claude-sonnet-4"

    def invocation(self, request: AgentRequest) -> Invocation:
        # `run` executes tools without asking. A model is written provider/model.
        argv = ["opencode", "run", "--format", "json"]
        if request.model:
            argv += ["-m", request.model]
        if request.resume_session:
            argv += ["--session", request.resume_session]
        argv += [*request.args, "--", request.prompt]
        return Invocation(tuple(argv), {"OPENCODE_DISABLE_AUTOUPDATE": "1"})

    def parser(self) -> StreamParser:
        return OpencodeParser()


class OpencodeParser(JsonLineParser):
    def __init__(self) -> None:
        super().__init__()
        self._session = False
        self._called: set[str] = set()
        self._answer: list[str] = []
        self._tokens = (0, 0)
        self._cost: float | None = None
        self._stopped = False
        self._error: AgentError | None = None

    def on_object(self, obj: dict[str, Any]) -> list[AgentEvent] | None:
        kind = obj.get("type")
        if kind not in ("step_start", "text", "tool_use", "step_finish", "error", "reasoning"):
            return None
        out: list[AgentEvent] = []
        session = obj.get("sessionID")
        if session and not self._session:
            self._session = True
            out.append(SessionStarted(str(session), ""))
        part = obj.get("part") or {}
        if kind == "text":
            text = str(part.get("text", ""))
            if text.strip():
                self._answer.append(text)
                out.append(AssistantText(text))
        elif kind == "reasoning":
            text = str(part.get("text", ""))
            if text.strip():
                out.append(Thinking(text))
        elif kind == "tool_use":
            self._answer.clear()
            out.extend(self._tool(part))
        elif kind == "step_finish":
            self._stopped = part.get("reason") == "stop"
            out.extend(self._usage(part))
        elif kind == "error":
            self._error = _error(obj.get("error") or {})
            out.append(self._error)
        return out

    def _tool(self, part: dict[str, Any]) -> list[AgentEvent]:
        state = part.get("state") or {}
        call_id = str(part.get("callID", ""))
        out: list[AgentEvent] = []
        if call_id not in self._called:
            self._called.add(call_id)
            summary = summarize_input(state.get("input")) or str(state.get("title") or "")
            out.append(ToolCall(str(part.get("tool", "?")), summary, call_id))
        status = state.get("status")
        if status in ("completed", "error"):
            exit_code = (state.get("metadata") or {}).get("exit")
            ok = status == "completed" and exit_code in (None, 0)
            output = state.get("output") if status == "completed" else state.get("error")
            out.append(ToolResult(ok, tool_output(ok, output), call_id))
        return out

    def _usage(self, part: dict[str, Any]) -> list[AgentEvent]:
        tokens = part.get("tokens") or {}
        cache = tokens.get("cache") or {}
        sent = as_int(tokens.get("input")) + as_int(cache.get("read")) + as_int(cache.get("write"))
        got = as_int(tokens.get("output")) + as_int(tokens.get("reasoning"))
        self._tokens = (self._tokens[0] + sent, self._tokens[1] + got)
        step_cost = as_cost(part.get("cost"))
        if step_cost is not None:
            self._cost = (self._cost or 0.0) + step_cost
        return [Usage(self._tokens[0], self._tokens[1], self._cost)]

    def finish(self) -> list[AgentEvent]:
        if not self._session and self._error is None:
            return []  # nothing was said at all: no result to make up
        if self._error is not None:
            error = self._error
            return [FinalResult(error.message, True, error.rate_limited)]
        if not self._stopped:
            return [FinalResult("opencode stopped before it finished its reply", True)]
        return [FinalResult("".join(self._answer))]


def _error(error: dict[str, Any]) -> AgentError:
    data = error.get("data") or {}
    message = str(data.get("message") or error.get("message") or error.get("name") or error)
    limited = data.get("statusCode") == 429 or looks_rate_limited(message)
    return AgentError(message, limited, retry_after(message))
