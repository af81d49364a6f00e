"""A fake model server for the real agent CLIs: Anthropic Messages, OpenAI Responses, OpenAI Chat
Completions and Gemini, streamed the way the real services stream them (server-sent events).

Scripted by markers in the conversation, the same rule for every protocol:
1. a tool's output is in the conversation -> "FAKE_DONE: tool output was: <output>";
2. the prompt has `RUN_TOOL[: cmd]` and a shell tool is offered -> a call of that tool;
3. otherwise -> "FAKE_REPLY: hello from the fake model".
An auditor's prompt (it holds `<worker-result>`) gets a JSON verdict: DONE, or RETRY on audit #1
when the request says `FAKE_RETRY_FIRST`, or the verdict named by `FAKE_VERDICT:<V>`; an auditor
is never asked to run a tool. Markers that change the reply: `FAKE_HTTP_ERROR:<code>` (that status with an error body; 429 adds
`Retry-After: 1`), `FAKE_SLOW:<seconds>` (hold the reply that long, or until the server stops),
`FAKE_CUT` (start the stream, then close the connection in the middle). Anthropic only:
`CALL_TOOL:<name> <json>` calls the tool of that name (an MCP tool, say) with those arguments.

Run standalone with `python -m tests.fakes.model_server [PORT]` to try a CLI by hand.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

INPUT_TOKENS = 12
OUTPUT_TOKENS = 7
REPLY = "FAKE_REPLY: hello from the fake model"
_ERROR = re.compile(r"FAKE_HTTP_ERROR:(\d{3})")
_SLOW = re.compile(r"FAKE_SLOW:(\d+(?:\.\d+)?)")
_TOOL = re.compile(r"RUN_TOOL(?::\s*([^\n]+))?")
_CALL = re.compile(r"CALL_TOOL:(\S+)(?:[ \t]+(\{[^\n]*\}))?")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _one_line(text: str) -> str:
    return " | ".join(line.strip() for line in text.strip().splitlines() if line.strip())


class Script:
    """What to answer, read from one request's conversation (protocol-independent)."""

    def __init__(self, conversation: Any, tool_output: str | None) -> None:
        texts = list(_strings(conversation))
        joined = "\n".join(texts)
        error = _ERROR.search(joined)
        slow = _SLOW.search(joined)
        self.error = int(error.group(1)) if error else None
        self.slow = float(slow.group(1)) if slow else 0.0
        self.cut = "FAKE_CUT" in joined
        self.tool_output = tool_output
        self.tool_command: str | None = None
        self.call: tuple[str, dict[str, Any]] | None = None
        """A named tool to call, with its arguments (`CALL_TOOL:`)."""
        self.verdict: str | None = None
        if "<worker-result>" in joined:
            forced = re.search(r"FAKE_VERDICT:([A-Z]+)", joined)
            if forced:
                self.verdict = forced.group(1)
            elif "FAKE_RETRY_FIRST" in joined and re.search(r"audit #1\b", joined):
                self.verdict = "RETRY"
            else:
                self.verdict = "DONE"
            texts = []  # the request (with its RUN_TOOL) is quoted to the auditor, not for it
        for text in texts:
            named = _CALL.search(text)
            if named:
                self.call = (named.group(1), json.loads(named.group(2) or "{}"))
            match = _TOOL.search(text)
            if match:
                # opencode wraps the prompt in quotes; they are not part of the command.
                command = (match.group(1) or "").strip().strip("\"'").strip()
                self.tool_command = command or "echo hi"

    def final_text(self) -> str:
        if self.verdict is not None:
            feedback = "add a line saying FIXED" if self.verdict == "RETRY" else "fake audit"
            return json.dumps({"verdict": self.verdict, "feedback": feedback})
        if self.tool_output is not None:
            return f"FAKE_DONE: tool output was: {_one_line(self.tool_output)}"
        return REPLY


class FakeModelServer:
    """Serve on 127.0.0.1 (a free port by default) in a background thread."""

    def __init__(self, port: int = 0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.holding = threading.Event()
        """Set while a FAKE_SLOW reply is being held."""
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeModelServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> FakeModelServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def hold(self, seconds: float) -> None:
        self.holding.set()
        try:
            self._stopping.wait(seconds)
        finally:
            self.holding.clear()


def _handler_for(server: FakeModelServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        fake = server

    return Handler


class _Handler(BaseHTTPRequestHandler):
    fake: FakeModelServer
    protocol_version = "HTTP/1.0"  # one reply per connection, closed at its end: no chunking

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_HEAD(self) -> None:
        self.send_response(200)
        self.end_headers()

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            self._json(200, {"object": "list", "data": [{"id": "fake-model", "object": "model"}]})
        else:
            self._json(200, {})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            body = {}
        path = self.path.split("?", 1)[0]
        self.fake.requests.append(
            {
                "method": "POST",
                "path": self.path,
                "model": body.get("model"),
                "tools": _tool_names(body),
                "stream": body.get("stream"),
                "authorization": self.headers.get("Authorization"),
                "body": body,
            }
        )
        if path.endswith("/messages"):
            self._anthropic(body)
        elif path.endswith("/messages/count_tokens"):
            self._json(200, {"input_tokens": INPUT_TOKENS})
        elif path.endswith("/responses"):
            self._responses(body)
        elif path.endswith("/chat/completions"):
            self._chat(body)
        elif ":streamGenerateContent" in path:
            self._gemini(body, stream=True)
        elif ":generateContent" in path:
            self._gemini(body, stream=False)
        elif ":countTokens" in path:
            self._json(200, {"totalTokens": INPUT_TOKENS})
        else:
            self._json(404, {"error": {"type": "not_found", "message": f"no route {path}"}})

    # -- plumbing --------------------------------------------------------------------------------

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()

    def _event(self, data: Any, name: str | None = None) -> None:
        text = data if isinstance(data, str) else json.dumps(data)
        head = f"event: {name}\n" if name else ""
        self.wfile.write(f"{head}data: {text}\n\n".encode())
        self.wfile.flush()

    def _prelude(self, script: Script) -> bool:
        """Delay and error injection; True if the reply has been sent already."""
        if script.slow:
            self.fake.hold(script.slow)
        if script.error is not None:
            headers = {"Retry-After": "1"} if script.error == 429 else {}
            kind = "rate_limit_error" if script.error == 429 else "api_error"
            message = f"fake error {script.error}"
            self._json(
                script.error,
                {
                    "type": "error",
                    "error": {"type": kind, "message": message, "code": script.error},
                },
                headers,
            )
            return True
        return False

    def _cut(self) -> None:
        """Close the connection in the middle of a stream."""
        self.wfile.flush()
        self.close_connection = True
        self.connection.shutdown(2)

    # -- Anthropic Messages ----------------------------------------------------------------------

    def _anthropic(self, body: dict[str, Any]) -> None:
        tool_output = None
        for message in body.get("messages", []):
            content = message.get("content")
            if isinstance(content, list):
                for block in content:
                    if isinstance(block, dict) and block.get("type") == "tool_result":
                        tool_output = "\n".join(_strings(block.get("content", "")))
        script = Script(body.get("messages"), tool_output)
        if self._prelude(script):
            return
        names = _tool_names(body)
        call = script.tool_output is None and script.tool_command is not None and "Bash" in names
        named = script.call if script.tool_output is None else None
        model = body.get("model") or "fake-model"
        msg_id = f"msg_{time.monotonic_ns():x}"
        if named is not None and named[0] in names:
            call = True
            block = {
                "type": "tool_use",
                "id": f"toolu_{time.monotonic_ns():x}",
                "name": named[0],
                "input": named[1],
            }
        elif call:
            block = {
                "type": "tool_use",
                "id": f"toolu_{time.monotonic_ns():x}",
                "name": "Bash",
                "input": {"command": script.tool_command, "description": "Run a shell command"},
            }
        else:
            block = {"type": "text", "text": script.final_text()}
        stop_reason = "tool_use" if call else "end_turn"
        usage = {
            "input_tokens": INPUT_TOKENS,
            "output_tokens": OUTPUT_TOKENS,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        }
        if not body.get("stream"):
            message = {
                "id": msg_id,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [block],
                "stop_reason": stop_reason,
                "stop_sequence": None,
                "usage": usage,
            }
            self._json(200, message)
            return
        self._start_stream()
        start: dict[str, Any] = {
            "id": msg_id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {**usage, "output_tokens": 1},
        }
        self._event({"type": "message_start", "message": start}, "message_start")
        if call:
            opened = {**block, "input": {}}
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        else:
            opened = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": block["text"]}
        self._event(
            {"type": "content_block_start", "index": 0, "content_block": opened},
            "content_block_start",
        )
        if script.cut:
            return self._cut()
        self._event(
            {"type": "content_block_delta", "index": 0, "delta": delta}, "content_block_delta"
        )
        self._event({"type": "content_block_stop", "index": 0}, "content_block_stop")
        self._event(
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": OUTPUT_TOKENS},
            },
            "message_delta",
        )
        self._event({"type": "message_stop"}, "message_stop")

    # -- OpenAI Responses ------------------------------------------------------------------------

    def _responses(self, body: dict[str, Any]) -> None:
        tool_output = None
        for item in body.get("input", []) or []:
            if isinstance(item, dict) and item.get("type") == "function_call_output":
                output = item.get("output")
                tool_output = output if isinstance(output, str) else json.dumps(output)
        script = Script(body.get("input"), tool_output)
        if self._prelude(script):
            return
        names = _tool_names(body)
        tool = next((n for n in ("exec_command", "shell_command", "shell") if n in names), None)
        call = script.tool_output is None and script.tool_command is not None and tool is not None
        model = body.get("model") or "fake-model"
        resp_id = f"resp_{time.monotonic_ns():x}"
        seq = iter(range(1_000_000))
        response: dict[str, Any] = {
            "id": resp_id,
            "object": "response",
            "created_at": int(time.time()),
            "model": model,
            "status": "in_progress",
            "output": [],
        }
        self._start_stream()

        def emit(kind: str, **fields: Any) -> None:
            self._event({"type": kind, "sequence_number": next(seq), **fields}, kind)

        emit("response.created", response=response)
        if call:
            command = script.tool_command or "echo hi"
            args: dict[str, Any]
            if tool == "exec_command":
                args = {"cmd": command}
            elif tool == "shell":
                args = {"command": ["bash", "-lc", command]}
            else:
                args = {"command": command}
            item = {
                "type": "function_call",
                "id": f"fc_{time.monotonic_ns():x}",
                "call_id": f"call_{time.monotonic_ns():x}",
                "name": tool,
                "arguments": json.dumps(args),
                "status": "completed",
            }
            emit("response.output_item.added", output_index=0, item={**item, "arguments": ""})
            if script.cut:
                return self._cut()
            emit("response.output_item.done", output_index=0, item=item)
        else:
            text = script.final_text()
            item_id = f"msg_{time.monotonic_ns():x}"
            empty = {"type": "message", "id": item_id, "role": "assistant", "content": []}
            emit(
                "response.output_item.added",
                output_index=0,
                item={**empty, "status": "in_progress"},
            )
            part = {"type": "output_text", "text": "", "annotations": []}
            emit(
                "response.content_part.added",
                item_id=item_id,
                output_index=0,
                content_index=0,
                part=part,
            )
            if script.cut:
                return self._cut()
            emit(
                "response.output_text.delta",
                item_id=item_id,
                output_index=0,
                content_index=0,
                delta=text,
            )
            emit(
                "response.output_text.done",
                item_id=item_id,
                output_index=0,
                content_index=0,
                text=text,
            )
            item = {**empty, "status": "completed", "content": [{**part, "text": text}]}
            emit("response.output_item.done", output_index=0, item=item)
        usage = {
            "input_tokens": INPUT_TOKENS,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": OUTPUT_TOKENS,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": INPUT_TOKENS + OUTPUT_TOKENS,
        }
        done = {**response, "status": "completed", "output": [item], "usage": usage}
        emit("response.completed", response=done)

    # -- OpenAI Chat Completions -----------------------------------------------------------------

    def _chat(self, body: dict[str, Any]) -> None:
        tool_output = None
        for message in body.get("messages", []) or []:
            if isinstance(message, dict) and message.get("role") == "tool":
                tool_output = "\n".join(_strings(message.get("content", "")))
        script = Script(body.get("messages"), tool_output)
        if self._prelude(script):
            return
        names = _tool_names(body)
        tool = next(
            (
                n
                for n in ("run_shell_command", "bash", "run_commands", "execute_command")
                if n in names
            ),
            None,
        )
        call = script.tool_output is None and script.tool_command is not None and tool is not None
        model = body.get("model") or "fake-model"
        chunk_id = f"chatcmpl-{time.monotonic_ns():x}"
        created = int(time.time())

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {
                "id": chunk_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }

        command = script.tool_command or "echo hi"
        if tool == "run_commands":
            args: dict[str, Any] = {"commands": [command]}
        else:
            args = {"command": command, "description": "Run a shell command"}
        usage = {
            "prompt_tokens": INPUT_TOKENS,
            "completion_tokens": OUTPUT_TOKENS,
            "total_tokens": INPUT_TOKENS + OUTPUT_TOKENS,
        }
        if not body.get("stream"):
            if call:
                message = {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": f"call_{time.monotonic_ns():x}",
                            "type": "function",
                            "function": {"name": tool, "arguments": json.dumps(args)},
                        }
                    ],
                }
            else:
                message = {"role": "assistant", "content": script.final_text()}
            reply = {
                "id": chunk_id,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "finish_reason": "tool_calls" if call else "stop",
                    }
                ],
                "usage": usage,
            }
            self._json(200, reply)
            return
        self._start_stream()
        self._event(chunk({"role": "assistant", "content": ""}))
        if script.cut:
            self._event(chunk({"content": "FAKE_PARTIAL: this reply is cut"}))
            return self._cut()
        if call:
            call_id = f"call_{time.monotonic_ns():x}"
            opened = {"index": 0, "id": call_id, "type": "function"}
            self._event(
                chunk({"tool_calls": [{**opened, "function": {"name": tool, "arguments": ""}}]})
            )
            self._event(
                chunk({"tool_calls": [{"index": 0, "function": {"arguments": json.dumps(args)}}]})
            )
            self._event(chunk({}, "tool_calls"))
        else:
            self._event(chunk({"content": script.final_text()}))
            self._event(chunk({}, "stop"))
        if (body.get("stream_options") or {}).get("include_usage"):
            self._event({**chunk({}), "choices": [], "usage": usage})
        self._event("[DONE]")

    # -- Gemini ----------------------------------------------------------------------------------

    def _gemini(self, body: dict[str, Any], *, stream: bool) -> None:
        tool_output = None
        for content in body.get("contents", []) or []:
            for part in content.get("parts", []) or []:
                if isinstance(part, dict) and "functionResponse" in part:
                    tool_output = "\n".join(_strings(part["functionResponse"].get("response")))
        script = Script(body.get("contents"), tool_output)
        if self._prelude(script):
            return
        config = body.get("generationConfig") or {}
        names = _tool_names(body)
        call = (
            script.tool_output is None
            and script.tool_command is not None
            and "run_shell_command" in names
        )
        if config.get("responseMimeType") == "application/json":
            parts: list[dict[str, Any]] = [{"text": json.dumps(_fit(config))}]
        elif call:
            args = {"command": script.tool_command, "description": "Run a shell command"}
            parts = [{"functionCall": {"name": "run_shell_command", "args": args}}]
        else:
            parts = [{"text": script.final_text()}]
        model = self.path.split("/models/", 1)[-1].split(":", 1)[0]
        reply = {
            "candidates": [
                {"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}
            ],
            "usageMetadata": {
                "promptTokenCount": INPUT_TOKENS,
                "candidatesTokenCount": OUTPUT_TOKENS,
                "totalTokenCount": INPUT_TOKENS + OUTPUT_TOKENS,
            },
            "modelVersion": model or "fake-model",
            "responseId": f"resp_{time.monotonic_ns():x}",
        }
        if not stream:
            self._json(200, reply)
            return
        self._start_stream()
        if script.cut:
            self.wfile.write(b'data: {"candidates": [{"content": ')
            return self._cut()
        self._event(reply)


def _fit(config: dict[str, Any]) -> dict[str, Any]:
    """An object that fits a side call's JSON schema (Gemini's model classifier)."""
    schema = config.get("responseJsonSchema") or config.get("responseSchema") or {}
    out: dict[str, Any] = {}
    for name, prop in (schema.get("properties") or {}).items():
        kind = str(prop.get("type", "string")).lower()
        if prop.get("enum"):
            out[name] = prop["enum"][0]
        elif kind in ("integer", "number"):
            out[name] = 1
        elif kind == "boolean":
            out[name] = False
        else:
            out[name] = "simple"
    return out


def _tool_names(body: dict[str, Any]) -> list[str]:
    names: list[str] = []
    for tool in body.get("tools", []) or []:
        if not isinstance(tool, dict):
            continue
        if isinstance(tool.get("function"), dict):
            names.append(str(tool["function"].get("name")))
        elif "functionDeclarations" in tool:
            names.extend(str(d.get("name")) for d in tool["functionDeclarations"] or [])
        elif "name" in tool:
            names.append(str(tool["name"]))
    return names


if __name__ == "__main__":
    import sys

    with FakeModelServer(int(sys.argv[1]) if len(sys.argv) > 1 else 8765) as fake:
        print(fake.url, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
