"""Qwen Code (`qwen -o stream-json --yolo --prompt=...`), a gemini-cli fork that speaks Claude's
stream-json. Trap: an API error still ends in `result/success` with `is_error: false` and exit 0;
the only sign is "[API Error: ...]" in the result text, which therefore counts as an error.
"""

from __future__ import annotations

from oneshot_tui.agents.base import AgentRequest, Executor, Invocation, StreamParser
from oneshot_tui.agents.claude import ClaudeParser


class QwenExecutor(Executor):
    name = "qwen"
    binary = "qwen"
    install = "npm install -g @qwen-code/qwen-code"
    can_resume = True
    structured_output = True
    streams_text = True
    stdout_file = True
    default_model = "qwen3-coder-plus"

    def invocation(self, request: AgentRequest) -> Invocation:
        # --prompt=TEXT is one argv element that yargs never reads as a flag; a bare positional
        # after "--" is ignored by qwen. --yolo offers the shell and edit tools without asking,
        # on a resumed session too.
        argv = ["qwen", "-o", "stream-json", "--include-partial-messages", "--yolo"]
        if request.model:
            argv += ["-m", request.model]
        if request.resume_session:
            argv += ["--resume", request.resume_session]
        if request.output_schema:
            argv += ["--json-schema", request.output_schema]
        argv += [*request.args, f"--prompt={request.prompt}"]
        return Invocation(tuple(argv))

    def parser(self) -> StreamParser:
        return QwenParser()


class QwenParser(ClaudeParser):
    api_error_in_success = True
