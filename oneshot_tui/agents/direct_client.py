"""Stream one Chat Completions reply and print it as NDJSON activity events (see `direct`).

    python -m oneshot_tui.agents.direct_client --base-url URL --model M [--system S] -- PROMPT

The key, if any, is read from $ONESHOT_DIRECT_API_KEY and sent as a bearer token; it is never
printed. Exit 0 when the reply arrived whole, 1 when it did not (HTTP error, no connection, a
stream cut short), 2 on bad arguments. Stdlib only: it starts fast.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Sequence
from typing import Any

from oneshot_tui.agents.base import summarize_input
from oneshot_tui.agents.limits import looks_rate_limited, retry_after
from oneshot_tui.core.activity import (
    AgentError,
    AgentEvent,
    AssistantText,
    FinalResult,
    RawLine,
    SessionStarted,
    ToolCall,
    Usage,
    to_data,
)

KEY_ENV = "ONESHOT_DIRECT_API_KEY"


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


class Reply:
    """The reply as it streams in: text split into lines as they complete, tool calls, usage."""

    def __init__(self) -> None:
        self.session = False
        self.text: list[str] = []
        self.pending = ""
        self.calls: dict[int, dict[str, str]] = {}
        self.finished = False

    def chunk(self, data: dict[str, Any]) -> None:
        if not self.session:
            self.session = True
            emit(SessionStarted(str(data.get("id") or uuid.uuid4()), str(data.get("model", ""))))
        if isinstance(data.get("error"), dict | str):
            error = data["error"]
            message = error.get("message", str(error)) if isinstance(error, dict) else error
            raise StreamError(str(message))
        for choice in data.get("choices") or []:
            delta = choice.get("delta") or {}
            if delta.get("content"):
                self.add_text(str(delta["content"]))
            for call in delta.get("tool_calls") or []:
                slot = self.calls.setdefault(int(call.get("index", 0)), {"name": "", "args": ""})
                function = call.get("function") or {}
                slot["name"] += str(function.get("name") or "")
                slot["args"] += str(function.get("arguments") or "")
            if choice.get("finish_reason"):
                self.finished = True
                self.flush()  # the reply is whole: show it before the usage that follows
        usage = data.get("usage")
        if isinstance(usage, dict):
            emit(
                Usage(
                    int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
                )
            )

    def add_text(self, piece: str) -> None:
        self.text.append(piece)
        self.pending += piece
        *lines, self.pending = self.pending.split("\n")
        for line in lines:
            emit(AssistantText(line))

    def flush(self) -> None:
        if self.pending:
            emit(AssistantText(self.pending))
            self.pending = ""
        for call in self.calls.values():
            emit(ToolCall(call["name"] or "?", summarize_input(call["args"])))
        self.calls.clear()


class StreamError(Exception):
    pass


def request_for(args: argparse.Namespace, key: str | None) -> urllib.request.Request:
    messages = [{"role": "user", "content": args.prompt}]
    if args.system:
        messages.insert(0, {"role": "system", "content": args.system})
    body: dict[str, Any] = {
        "model": args.model,
        "messages": messages,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if args.max_tokens:
        body["max_tokens"] = args.max_tokens
    if args.temperature is not None:
        body["temperature"] = args.temperature
    headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    url = args.base_url.rstrip("/") + "/chat/completions"
    return urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")


def http_error(exc: urllib.error.HTTPError) -> int:
    try:
        raw = exc.read().decode("utf-8", "replace")
    except OSError:
        raw = ""
    detail = raw.strip()
    try:
        payload = json.loads(raw)
        error = payload.get("error", payload) if isinstance(payload, dict) else payload
        detail = str(error.get("message", error) if isinstance(error, dict) else error)
    except ValueError:
        pass
    message = f"HTTP {exc.code}: {detail or exc.reason}"[:1000]
    header = exc.headers.get("Retry-After") if exc.headers else None
    wait = float(header) if header and header.strip().isdigit() else retry_after(message)
    limited = exc.code == 429 or looks_rate_limited(message)
    return fail(message, rate_limited=limited, wait=wait)


def stream(args: argparse.Namespace, key: str | None) -> int:
    where = redact(args.base_url)
    try:
        response = urllib.request.urlopen(request_for(args, key), timeout=args.timeout)
    except urllib.error.HTTPError as exc:
        return http_error(exc)
    except urllib.error.URLError as exc:
        return fail(f"cannot reach {where}: {getattr(exc.reason, 'strerror', None) or exc.reason}")
    except (OSError, http.client.HTTPException) as exc:
        return fail(f"cannot reach {where}: {exc}")
    reply = Reply()
    done = False
    try:
        with response:
            for raw in response:
                line = raw.decode("utf-8", "replace").strip()
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    done = True
                    break
                try:
                    chunk = json.loads(data)
                except ValueError:
                    emit(RawLine(data))  # kept, like any line a parser does not understand
                    continue
                if isinstance(chunk, dict):
                    reply.chunk(chunk)
    except StreamError as exc:
        reply.flush()
        message = str(exc)
        return fail(message, rate_limited=looks_rate_limited(message), wait=retry_after(message))
    except (OSError, http.client.HTTPException) as exc:
        reply.flush()
        return fail(f"the stream from {where} broke off: {exc or type(exc).__name__}")
    reply.flush()
    if not (done or reply.finished):
        return fail(f"the stream from {where} ended before the reply was complete")
    emit(FinalResult("".join(reply.text)))
    return 0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="direct_client", description=__doc__.split("\n")[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--system", help="a system message before the prompt")
    parser.add_argument("--max-tokens", type=int)
    parser.add_argument("--temperature", type=float)
    parser.add_argument("--timeout", type=float, default=600, help="seconds per network read")
    parser.add_argument("prompt")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return stream(args, os.environ.get(KEY_ENV) or None)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
