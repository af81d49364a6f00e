"""OpenAI Codex (`codex exec --json ...`).

Stream: `thread.started` (the session id), `turn.started`, `item.started` / `item.completed`
(command executions, agent messages, file changes, errors), then `turn.completed` with the usage
or `turn.failed`. Trap: codex waits forever on an open stdin, so it always gets /dev/null (every
child does, see runner.process).
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
    RetryNotice,
    SessionStarted,
    Thinking,
    ToolCall,
    ToolResult,
    Usage,
)

_SHELL_WRAPPER = re.compile(r"^\S*\b(?:ba|z)?sh -l?c '(.*)'$", re.DOTALL)
_RECONNECTING = re.compile(r"^Reconnecting\.\.\.\s*(\d+)/(\d+)(?:\s+in\s+([\d.]+)\s*(ms|s))?", re.I)


class CodexExecutor(Executor):
    name = "codex"
    binary = "codex"
    install = "npm install -g @openai/codex"
    can_resume = True
    structured_output = True
    default_model = "gpt-5.5"

    def invocation(self, request: AgentRequest) -> Invocation:
        # `exec` never asks for approval; workspace-write lets commands write in the cwd (the
        # default read-only sandbox makes every write fail). --skip-git-repo-check: a task's cwd
        # need not be a repository.
        argv = ["codex", "exec"]
        if request.resume_session:
            argv.append("resume")
        argv += ["--json", "--skip-git-repo-check"]
        # `exec resume` has no --sandbox flag and falls back to read-only: the same permission
        # goes in as a config override, so a resumed worker can write as the first turn could.
        if request.resume_session:
            argv += ["-c", 'sandbox_mode="workspace-write"']
        else:
            argv += ["--sandbox", "workspace-write"]
        if request.model:
            argv += ["-m", request.model]
        if request.output_schema_file:
            argv += ["--output-schema", request.output_schema_file]
        argv += [*request.args, "--"]
        if request.resume_session:
            argv.append(request.resume_session)
        argv.append(request.prompt)
        return Invocation(tuple(argv))

    def parser(self) -> StreamParser:
        return CodexParser()


def _command(item: dict[str, Any]) -> str:
    command = item.get("command", "")
    if isinstance(command, str):
        match = _SHELL_WRAPPER.match(command.strip())
        return match.group(1).replace("'\\''", "'") if match else command
    return summarize_input({"command": command})


class CodexParser(JsonLineParser):
    def __init__(self) -> None:
        super().__init__()
        self._started: set[str] = set()
        self._last_message = ""
        self._sent = 0
        self._got = 0

    def on_object(self, obj: dict[str, Any]) -> list[AgentEvent] | None:
        kind = obj.get("type")
        if kind == "thread.started":
            return [SessionStarted(str(obj["thread_id"]), "")]
        if kind == "turn.started":
            return []
        if kind in ("item.started", "item.updated", "item.completed"):
            return self._item(obj["item"], done=kind == "item.completed")
        if kind == "turn.completed":
            usage = obj.get("usage") or {}
            self._sent += as_int(usage.get("input_tokens"))
            self._got += as_int(usage.get("output_tokens"))
            return [Usage(self._sent, self._got), FinalResult(self._last_message)]
        if kind == "turn.failed":
            message = str((obj.get("error") or {}).get("message", "turn failed"))
            return [FinalResult(message, True, looks_rate_limited(message))]
        if kind == "error":
            return [_error(str(obj.get("message", "")))]
        return None

    def _item(self, item: dict[str, Any], *, done: bool) -> list[AgentEvent]:
        kind = item.get("type")
        item_id = str(item.get("id", ""))
        out: list[AgentEvent] = []
        if kind in ("command_execution", "file_change", "mcp_tool_call", "web_search"):
            if item_id not in self._started:
                self._started.add(item_id)
                out.append(self._call(kind, item, item_id))
            if done and kind != "web_search":
                out.append(self._tool_result(kind, item, item_id))
        elif kind == "agent_message" and done:
            self._last_message = str(item.get("text", ""))
            out.append(AssistantText(self._last_message))
        elif kind == "reasoning" and done:
            text = str(item.get("text") or "")
            if text.strip():
                out.append(Thinking(text))
        elif kind == "error" and done:
            out.append(_error(str(item.get("message", ""))))
        return out

    @staticmethod
    def _call(kind: Any, item: dict[str, Any], item_id: str) -> ToolCall:
        if kind == "command_execution":
            return ToolCall("shell", _command(item), item_id)
        if kind == "file_change":
            paths = [str(c.get("path", "")) for c in item.get("changes") or []]
            return ToolCall("edit", ", ".join(paths), item_id)
        if kind == "mcp_tool_call":
            tool = f"{item.get('server', '')}.{item.get('tool', '')}".strip(".")
            return ToolCall(tool or "mcp", summarize_input(item.get("arguments")), item_id)
        return ToolCall("web_search", str(item.get("query", "")), item_id)

    @staticmethod
    def _tool_result(kind: Any, item: dict[str, Any], item_id: str) -> ToolResult:
        status = item.get("status")
        if kind == "command_execution":
            ok = item.get("exit_code") == 0 and status != "failed"
            return ToolResult(ok, tool_output(ok, item.get("aggregated_output", "")), item_id)
        if kind == "mcp_tool_call":
            error = item.get("error")
            output = error if error else item.get("result")
            ok = status != "failed" and not error
            return ToolResult(ok, tool_output(ok, output), item_id)
        return ToolResult(status != "failed", str(status or ""), item_id)


def _error(message: str) -> AgentError | RetryNotice:
    """An error event; "Reconnecting... 2/5" is codex retrying on its own."""
    match = _RECONNECTING.match(message.strip())
    if match is not None:
        delay = None
        if match.group(3):
            delay = float(match.group(3)) / (1000 if match.group(4) == "ms" else 1)
        return RetryNotice(message, delay, int(match.group(1)), int(match.group(2)))
    return AgentError(message, looks_rate_limited(message), retry_after(message))
