"""A small agent over any OpenAI-compatible Chat Completions endpoint (see `direct`): it streams
each reply, offers the model three tools (run a shell command, read a file, write a file, all in
its working directory: the task's directory or worktree), runs the calls the model makes and
sends their results back, until the model answers without a call. Everything it does is printed
as NDJSON activity events, so a local model (Ollama, vLLM, llama.cpp's server) does real work
under the same budgets, loop and display as every agent CLI.

    python -m oneshot_tui.agents.direct_client --base-url URL --model M [--system S] -- PROMPT

The key, if any, is read from $ONESHOT_DIRECT_API_KEY and sent as a bearer token; it is never
printed. HTTP goes through httpx (timeouts, connection retries, error bodies) and httpx-sse
(the event stream). Exit 0 when the task ended with an answer, 1 when it did not (HTTP error, no
connection, a stream cut short, too many turns), 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import urllib.parse
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from oneshot_tui.agents.base import summarize_input, tool_output
from oneshot_tui.agents.limits import header_seconds, looks_rate_limited, retry_after
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
    to_data,
)

if TYPE_CHECKING:
    import httpx

KEY_ENV = "ONESHOT_DIRECT_API_KEY"
MAX_OUTPUT = 20_000
"""Characters of a tool's output sent back to the model (its start and end)."""

TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "run_shell",
            "description": "Run a shell command (/bin/sh -c) in the working directory; returns "
            "its exit code and output.",
            "parameters": {
                "type": "object",
                "properties": {"command": {"type": "string", "description": "the command"}},
                "required": ["command"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "read_file",
            "description": "Read a text file, by a path relative to the working directory.",
            "parameters": {
                "type": "object",
                "properties": {"path": {"type": "string"}},
                "required": ["path"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "write_file",
            "description": "Write a text file (created or replaced), by a path relative to the "
            "working directory.",
            "parameters": {
                "type": "object",
                "properties": {"path": {"type": "string"}, "content": {"type": "string"}},
                "required": ["path", "content"],
            },
        },
    },
]

SYSTEM = (
    "You are a coding agent working in the directory {cwd}. Use the tools to inspect and change "
    "files and to run commands (tests, builds); paths are relative to that directory. When the "
    "task is done, answer with a short summary of what you did, without calling a tool."
)


def emit(event: AgentEvent) -> None:
    sys.stdout.write(json.dumps(to_data(event), ensure_ascii=False) + "\n")
    sys.stdout.flush()


def fail(message: str, *, rate_limited: bool = False, wait: float | None = None) -> int:
    emit(AgentError(message, rate_limited, wait))
    emit(FinalResult(message, True, rate_limited))
    return 1


def redact(url: str) -> str:
    """The URL without a user:password part, for messages."""
    parts = urllib.parse.urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    return url


class StreamError(Exception):
    """The stream said it failed (an error object in it), or it ended before the reply did."""


class Turn:
    """One streamed reply: its text (shown as it arrives), its tool calls and its usage."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.thinking: list[str] = []
        self.calls: dict[int, dict[str, str]] = {}
        self.finished = False
        self.usage: tuple[int, int] | None = None

    def chunk(self, data: dict[str, Any]) -> None:
        if isinstance(data.get("error"), dict | str):
            error = data["error"]
            message = error.get("message", str(error)) if isinstance(error, dict) else error
            raise StreamError(str(message))
        for choice in data.get("choices") or []:
            delta = choice.get("delta") or {}
            thought = delta.get("reasoning_content") or delta.get("reasoning")
            if isinstance(thought, str) and thought:
                self.thinking.append(thought)
                emit(TextDelta(thought, thinking=True))
            if delta.get("content"):
                piece = str(delta["content"])
                self.text.append(piece)
                emit(TextDelta(piece))
            for call in delta.get("tool_calls") or []:
                slot = self.calls.setdefault(
                    int(call.get("index", 0)), {"id": "", "name": "", "args": ""}
                )
                function = call.get("function") or {}
                slot["id"] = slot["id"] or str(call.get("id") or "")
                slot["name"] += str(function.get("name") or "")
                slot["args"] += str(function.get("arguments") or "")
            if choice.get("finish_reason"):
                self.finished = True
        usage = data.get("usage")
        if isinstance(usage, dict):
            self.usage = (
                int(usage.get("prompt_tokens") or 0),
                int(usage.get("completion_tokens") or 0),
            )

    def close(self) -> None:
        """The reply is whole: its thinking and text as one piece each."""
        if self.thinking:
            emit(Thinking("".join(self.thinking)))
        text = "".join(self.text)
        if text.strip():
            emit(AssistantText(text))


class Workspace:
    """The tools, run in the working directory (paths may not leave it)."""

    def __init__(self, root: Path, timeout: float) -> None:
        self.root = root.resolve()
        self.timeout = timeout

    def path(self, given: str) -> Path:
        target = (self.root / given).resolve()
        if target != self.root and self.root not in target.parents:
            raise ValueError(f"{given}: outside the working directory")
        return target

    def call(self, name: str, args: dict[str, Any]) -> tuple[bool, str]:
        try:
            if name == "run_shell":
                return self.shell(str(args["command"]))
            if name == "read_file":
                return True, self.path(str(args["path"])).read_text(errors="replace")
            if name == "write_file":
                target = self.path(str(args["path"]))
                target.parent.mkdir(parents=True, exist_ok=True)
                content = str(args.get("content", ""))
                target.write_text(content)
                return True, f"wrote {len(content)} characters to {args['path']}"
        except (KeyError, TypeError) as exc:
            return False, f"bad arguments for {name}: {exc}"
        except (OSError, ValueError) as exc:
            return False, str(exc)
        return False, f"no such tool: {name}"

    def shell(self, command: str) -> tuple[bool, str]:
        try:
            done = subprocess.run(
                ["/bin/sh", "-c", command],
                cwd=self.root,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            out = (exc.stdout or b"").decode(errors="replace")
            return False, f"timed out after {self.timeout:g}s\n{out}"
        out = done.stdout.decode(errors="replace")
        if done.returncode != 0:
            return False, f"exit code {done.returncode}\n{out}"
        return True, out


def clip(text: str, limit: int = MAX_OUTPUT) -> str:
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n… [{len(text) - limit} characters left out] …\n{text[-half:]}"


def body_for(args: argparse.Namespace, messages: list[dict[str, Any]]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": args.model,
        "messages": messages,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if not args.no_tools:
        body["tools"] = TOOLS
    if args.max_tokens:
        body["max_tokens"] = args.max_tokens
    if args.temperature is not None:
        body["temperature"] = args.temperature
    if args.json_schema:
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "answer", "schema": json.loads(args.json_schema)},
        }
    return body


def _error_detail(response: httpx.Response) -> str:
    try:
        raw = response.read().decode("utf-8", "replace")
    except Exception:  # a body that cannot be read: the status says enough
        raw = ""
    detail = raw.strip()
    try:
        payload = json.loads(raw)
        error = payload.get("error", payload) if isinstance(payload, dict) else payload
        detail = str(error.get("message", error) if isinstance(error, dict) else error)
    except ValueError:
        pass
    return detail or response.reason_phrase


def _why(exc: Exception) -> str:
    """ "Connection refused", not "[Errno 111] Connection refused"."""
    text = str(exc) or type(exc).__name__
    return re.sub(r"^\[Errno -?\d+\]\s*", "", text)


def events(response: httpx.Response) -> Iterator[str]:
    from httpx_sse import EventSource

    for sse in EventSource(response).iter_sse():
        yield sse.data


def stream_turn(
    client: httpx.Client, url: str, args: argparse.Namespace, messages: list[dict[str, Any]]
) -> Turn | int:
    """One reply, streamed; an exit code when it failed (the failure already printed)."""
    import httpx

    where = redact(args.base_url)
    turn = Turn()
    done = False
    try:
        with client.stream("POST", url, json=body_for(args, messages)) as response:
            if response.status_code >= 400:
                detail = _error_detail(response)
                message = f"HTTP {response.status_code}: {detail}"[:1000]
                wait = header_seconds(response.headers.get("Retry-After"))
                if wait is None:
                    wait = retry_after(message)
                limited = response.status_code == 429 or looks_rate_limited(message)
                return fail(message, rate_limited=limited, wait=wait)
            for data in events(response):
                if data.strip() == "[DONE]":
                    done = True
                    break
                try:
                    chunk = json.loads(data)
                except ValueError:
                    emit(RawLine(data))  # kept, like any line a parser does not understand
                    continue
                if isinstance(chunk, dict):
                    turn.chunk(chunk)
    except StreamError as exc:
        turn.close()
        message = str(exc)
        return fail(message, rate_limited=looks_rate_limited(message), wait=retry_after(message))
    except httpx.ConnectError as exc:
        return fail(f"cannot reach {where}: {_why(exc)}")
    except httpx.TimeoutException as exc:
        turn.close()
        return fail(f"no answer from {where} in time: {_why(exc)}")
    except (httpx.HTTPError, OSError) as exc:
        turn.close()
        return fail(f"the stream from {where} broke off: {_why(exc)}")
    if not (done or turn.finished):
        turn.close()
        return fail(f"the stream from {where} ended before the reply was complete")
    turn.close()
    return turn


def run(args: argparse.Namespace, key: str | None) -> int:
    import httpx

    headers = {"Accept": "text/event-stream"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    timeout = httpx.Timeout(args.timeout, connect=min(args.timeout, 30.0))
    transport = httpx.HTTPTransport(retries=2)  # connection attempts only: limits are ours
    workspace = Workspace(Path.cwd(), args.tool_timeout)
    messages: list[dict[str, Any]] = []
    system = args.system or SYSTEM.format(cwd=workspace.root)
    if not args.no_tools or args.system:
        messages.append({"role": "system", "content": system})
    messages.append({"role": "user", "content": args.prompt})
    emit(SessionStarted(str(uuid.uuid4()), args.model))
    url = args.base_url.rstrip("/") + "/chat/completions"
    used = (0, 0)
    with httpx.Client(headers=headers, timeout=timeout, transport=transport) as client:
        for _ in range(args.max_turns):
            turn = stream_turn(client, url, args, messages)
            if isinstance(turn, int):
                return turn
            if turn.usage is not None:
                used = (used[0] + turn.usage[0], used[1] + turn.usage[1])
                emit(Usage(*used))
            text = "".join(turn.text)
            if not turn.calls:
                emit(FinalResult(text))
                return 0
            calls = [turn.calls[i] for i in sorted(turn.calls)]
            for call in calls:
                call["id"] = call["id"] or f"call_{uuid.uuid4().hex[:12]}"
            messages.append(
                {
                    "role": "assistant",
                    "content": text or None,
                    "tool_calls": [
                        {
                            "id": c["id"],
                            "type": "function",
                            "function": {"name": c["name"], "arguments": c["args"] or "{}"},
                        }
                        for c in calls
                    ],
                }
            )
            for call in calls:
                emit(ToolCall(call["name"] or "?", summarize_input(call["args"]), call["id"]))
                try:
                    arguments = json.loads(call["args"] or "{}")
                except ValueError:
                    arguments = None
                if isinstance(arguments, dict):
                    ok, output = workspace.call(call["name"], arguments)
                else:
                    ok, output = False, f"the arguments are not a JSON object: {call['args']!r}"
                emit(ToolResult(ok, tool_output(ok, output), call["id"]))
                messages.append(
                    {"role": "tool", "tool_call_id": call["id"], "content": clip(output)}
                )
    return fail(f"no answer after {args.max_turns} turns (--max-turns)")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    doc = __doc__ or ""
    parser = argparse.ArgumentParser(prog="direct_client", description=doc.split("\n")[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--system", help="the system message (default: a coding agent's)")
    parser.add_argument("--max-tokens", type=int)
    parser.add_argument("--temperature", type=float)
    parser.add_argument("--timeout", type=float, default=600, help="seconds per network read")
    parser.add_argument("--max-turns", type=int, default=100, help="model replies at most")
    parser.add_argument("--tool-timeout", type=float, default=600, help="seconds per command")
    parser.add_argument("--no-tools", action="store_true", help="chat only: offer no tools")
    parser.add_argument("--json-schema", help="a JSON Schema the final answer must fit")
    parser.add_argument("prompt")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return run(args, os.environ.get(KEY_ENV) or None)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
