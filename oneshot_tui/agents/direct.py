"""`direct`: any OpenAI-compatible Chat Completions endpoint over HTTP, no agent CLI needed.

It runs as a small child process (`python -m oneshot_tui.agents.direct_client`), an agent of its
own: it streams each reply, runs the model's tool calls (a shell command, reading and writing
files, in the task's directory or worktree) and prints everything as NDJSON activity events, so
a direct task has the same lifecycle, log file, idle detection, budgets and interrupt as every
other task. The API key goes to the child in its environment, never on its command line.
"""

from __future__ import annotations

import sys
from typing import Any

from oneshot_tui.agents.base import AgentRequest, Executor, Invocation, JsonLineParser, StreamParser
from oneshot_tui.core.activity import AgentEvent, from_data

DEFAULT_BASE_URL = "http://localhost:11434/v1"
"""Ollama's OpenAI-compatible endpoint: the local default."""
KEY_ENV = "ONESHOT_DIRECT_API_KEY"


class DirectExecutor(Executor):
    name = "direct"
    binary = sys.executable
    install = "a Python 3.11+ interpreter"
    structured_output = True
    streams_text = True

    def invocation(self, request: AgentRequest) -> Invocation:
        argv = [sys.executable, "-m", "oneshot_tui.agents.direct_client"]
        argv += ["--base-url", request.base_url or DEFAULT_BASE_URL]
        if request.model:
            argv += ["--model", request.model]
        if request.output_schema:
            argv += ["--json-schema", request.output_schema]
        argv += [*request.args, "--", request.prompt]
        secret = {KEY_ENV: request.api_key} if request.api_key else {}
        return Invocation(tuple(argv), {"PYTHONUNBUFFERED": "1"}, secret)

    def parser(self) -> StreamParser:
        return DirectParser()


class DirectParser(JsonLineParser):
    """The client prints `core.activity.to_data` objects, one a line."""

    def on_object(self, obj: dict[str, Any]) -> list[AgentEvent] | None:
        event = from_data(obj)
        return None if event is None else [event]
