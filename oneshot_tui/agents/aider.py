"""aider (`aider --message PROMPT --yes-always ...`), installed with pip (`aider-chat`).

aider has no machine-readable output: stdout is a banner, the reply as plain text, then
"Tokens: 593 sent, 9 received." (with "Cost: $x message, $y session." when it knows prices). The
parser reads that text: banner lines stay raw, reply lines are assistant text and make up the
final result, the token line is usage. It has no tool calls; edits come as edit blocks in text.
"""

from __future__ import annotations

import re

from oneshot_tui.agents.base import AgentRequest, Executor, Invocation, LineParser, StreamParser
from oneshot_tui.agents.limits import looks_rate_limited, retry_after
from oneshot_tui.core.activity import (
    AgentError,
    AgentEvent,
    AssistantText,
    FinalResult,
    RawLine,
    SessionStarted,
    Usage,
)

_BANNER = (
    "Aider v",
    "Main model:",
    "Model:",
    "Weak model:",
    "Editor model:",
    "Git repo:",
    "Repo-map:",
    "Added ",
    "Analytics",
    "Detected dumb terminal",
    "https://aider.chat/",
    "HTTPSConnectionPool",
    "Warning",
    "You can skip this check",
    "Use /help",
    "Restored previous conversation",
    "Newer aider version",
)
_MODEL = re.compile(r"^(?:Main model|Model):\s+(\S+)")
_TOKENS = re.compile(r"^Tokens:\s+(.*?)\s+sent,(?:.*?,)?\s+([\d.]+k?)\s+received\.(.*)$")
_COUNT = re.compile(r"([\d.]+)(k?)")
_SESSION_COST = re.compile(r"\$([\d.]+)\s+session")
_ERROR = re.compile(r"^(?:litellm\.)?\w*(?:Error|Exception)\b:?")
_SPECIAL = re.compile(
    r"^[ \t]*(?:"
    + r"Tokens:\s+(?P<sent>[^\n]*?)\s+sent,(?:[^\n]*?,)?\s+(?P<received>[\d.]+k?)\s+received\."
    + r"(?P<rest>[^\n]*)|"
    + "|".join(re.escape(prefix) for prefix in (*_BANNER, "Tokens:"))
    + r"|(?:litellm\.)?\w*(?:Error|Exception)\b)[^\n]*$",
    re.MULTILINE,
)
"""A line that is not reply text (banner, token count, error): found over a whole block at once,
so the reply between them costs no Python per line; a token count's figures are read by the
same match (it comes once a message)."""


_BLANK_LINE = re.compile(r"^[^\S\n]*$", re.MULTILINE)


def _count(text: str) -> int:
    """593 -> 593, 1.2k -> 1200."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    match = _COUNT.match(text)
    if match is None:
        return 0
    value = float(match.group(1))
    return int(value * 1000) if match.group(2) else int(value)


class AiderExecutor(Executor):
    name = "aider"
    binary = "aider"
    install = "pip install aider-chat"

    def invocation(self, request: AgentRequest) -> Invocation:
        # --message runs one request and exits; --yes-always answers every question; no pretty
        # output, update check, analytics or model warnings in a headless run.
        argv = ["aider", "--message", request.prompt, "--yes-always", "--no-pretty"]
        argv += ["--no-check-update", "--analytics-disable", "--no-show-model-warnings"]
        if request.model:
            argv += ["--model", request.model]
        argv += list(request.args)
        return Invocation(tuple(argv))

    def parser(self) -> StreamParser:
        return AiderParser()


class AiderParser(LineParser):
    def __init__(self) -> None:
        super().__init__()
        self._reply: list[str] = []
        """The current message's reply, as texts of whole lines."""
        self._last_reply: str | None = None
        """The last whole message's reply (only the last one is the result: memory stays
        bounded however long the session)."""
        self._tokens = (0, 0)
        self._cost: float | None = None
        self._error: AgentError | None = None
        self._said_anything = False

    def feed(self, data: bytes) -> list[AgentEvent]:
        block = self._whole_lines(data)
        if block is None:
            return self._overflow()
        text = block.decode("utf-8", "replace")
        if "\r" in text:
            text = text.replace("\r\n", "\n")
        out: list[AgentEvent] = []
        start = 0
        for match in _SPECIAL.finditer(text):
            out += self._reply_text(text[start : match.start()])
            if match.group("sent") is not None:
                self._said_anything = True
                out += self._usage(match["sent"], match["received"], match["rest"])
            else:
                out += self.parse_line(match.group(0))
            start = match.end()
        out += self._reply_text(text[start:])
        return out

    def _reply_text(self, segment: str) -> list[AgentEvent]:
        """Lines of the reply, as one text (blank lines left out, as a line parser does)."""
        if not segment or segment.isspace():
            return []
        text = segment.strip("\n")
        if _BLANK_LINE.search(text):  # else the text is already what the lines would join to
            text = "\n".join(line for line in text.split("\n") if line.strip())
        self._said_anything = True
        self._reply.append(text)
        return [AssistantText(text)]

    def parse_line(self, line: str) -> list[AgentEvent]:
        self._said_anything = True
        stripped = line.strip()
        if stripped.startswith("Tokens:"):  # once a message: the most frequent special line
            tokens = _TOKENS.match(stripped)
            if tokens:
                return self._usage(*tokens.groups())
        model = _MODEL.match(stripped)
        if model:
            return [SessionStarted("", model.group(1)), RawLine(line)]
        if stripped.startswith(_BANNER):
            return [RawLine(line)]
        if _ERROR.match(stripped):
            self._error = AgentError(stripped, looks_rate_limited(stripped), retry_after(stripped))
            return [self._error]
        self._reply.append(line)
        return [AssistantText(line)]

    def _usage(self, sent: str, received: str, rest: str) -> list[AgentEvent]:
        self._tokens = (self._tokens[0] + _count(sent), self._tokens[1] + _count(received))
        cost = _SESSION_COST.search(rest) if "session" in rest else None
        if cost:
            self._cost = float(cost.group(1))
        if self._reply:
            self._last_reply = "\n".join(self._reply)
            self._reply = []
        return [Usage(self._tokens[0], self._tokens[1], self._cost)]

    def finish(self) -> list[AgentEvent]:
        if self._reply:
            self._last_reply = "\n".join(self._reply)
        if self._error is not None and self._last_reply is None:
            return [FinalResult(self._error.message, True, self._error.rate_limited)]
        if not self._said_anything:
            return []
        return [FinalResult(self._last_reply or "")]
