"""Agent executors: one module per agent CLI (plus `direct`, an HTTP endpoint), each with the
argv and environment of a headless run and a pure parser of its output into `core.activity`.

`executor(name)` gives the executor for a name in `core.spec.AGENTS`.
"""

from __future__ import annotations

from oneshot_tui.agents.aider import AiderExecutor
from oneshot_tui.agents.base import AgentRequest, Executor, Invocation, StreamParser
from oneshot_tui.agents.claude import ClaudeExecutor
from oneshot_tui.agents.cline import ClineExecutor
from oneshot_tui.agents.codex import CodexExecutor
from oneshot_tui.agents.direct import DirectExecutor
from oneshot_tui.agents.gemini import GeminiExecutor
from oneshot_tui.agents.opencode import OpencodeExecutor
from oneshot_tui.agents.qwen import QwenExecutor

EXECUTORS: dict[str, type[Executor]] = {
    cls.name: cls
    for cls in (
        ClaudeExecutor,
        CodexExecutor,
        GeminiExecutor,
        QwenExecutor,
        OpencodeExecutor,
        ClineExecutor,
        AiderExecutor,
        DirectExecutor,
    )
}


def executor(name: str) -> Executor:
    """The executor called `name`; KeyError if there is none."""
    return EXECUTORS[name]()


__all__ = ["EXECUTORS", "AgentRequest", "Executor", "Invocation", "StreamParser", "executor"]
