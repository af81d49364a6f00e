"""A fake model server for the real agent CLIs: Anthropic Messages, OpenAI Responses, OpenAI Chat
Completions and Gemini, streamed the way the real services stream them (server-sent events).

Scripted by markers in the conversation, the same rule for every protocol:
1. a tool's output is in the conversation -> "FAKE_DONE: tool output was: <output>";
2. the prompt has `RUN_TOOL[: cmd]` and a shell tool is offered -> a call of that tool;
3. otherwise -> "FAKE_REPLY: hello from the fake model".

A best-of-N judge's prompt (it holds `<candidates>`) gets `{"winner", "reasons"}` naming the
first candidate whose block (result or diff) has `FAKE_PREFERRED`, else the first one.

An auditor's prompt (it holds `<worker-result>`) gets a JSON verdict: DONE, or RETRY on audit #1
when the request says `FAKE_RETRY_FIRST`, or the verdict named by `FAKE_VERDICT:<V>`; an auditor
is never asked to run a tool. Where the CLI offers a structured-output tool (claude's
`StructuredOutput`, qwen's `structured_output`) the verdict is a call of that tool. With
`FAKE_UNREADABLE_FIRST` the auditor first answers in prose that names no verdict object, until
the conversation holds the format reminder ("could not be read").

Markers that change the reply (only in a main turn, one that offers tools; side calls such as a
title or a classifier get a plain answer):
- `FAKE_HTTP_ERROR:<code>`: that status with an error body (429 adds `Retry-After: 1`); this one
  applies to every request.
- `FAKE_RATE_LIMIT:<wait>` (e.g. `FAKE_RATE_LIMIT:2 hours`): 429, "Please try again in <wait>.",
  no Retry-After header.
- `FAKE_RATE_LIMIT_AFTER_TOOL:<wait>`: the first request that carries a tool's output gets that
  429 (once per server), the later ones go on: a limit in the middle of the work.
- `FAKE_RATE_LIMIT_ON_<PROTOCOL>:<wait>` (anthropic, responses, chat, gemini): that 429 on that
  protocol only (one agent out of quota while another goes on).
- `FAKE_LOOP_TOOLS`: call the shell tool again and again, whatever came back (a runaway).
- `FAKE_BIG:<bytes>`: the final answer is that long (numbered lines, then `FAKE_BIG_END`).
- `FAKE_DELTAS:<n>`: the final answer comes in n pieces; after the first, the server waits for
  `gate` (set by the test once it has seen that piece) for up to `gate_timeout` seconds, and
  records in `gate_results` whether the gate opened (True) or the wait timed out (False).
- `FAKE_THINK`: a thinking block before the answer, where the protocol has one.
- `FAKE_SLOW:<seconds>`: hold the reply that long, or until the server stops.
- `FAKE_CUT`: start the stream, then close the connection in the middle.
- `CALL_TOOL:<name> <json>`: call the tool of that name (an MCP tool, say) with those arguments,
  when the request offers it.

Run standalone with `python -m tests.fakes.model_server [PORT]` to try a CLI by hand.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

INPUT_TOKENS = 12
OUTPUT_TOKENS = 7
REPLY = "FAKE_REPLY: hello from the fake model"
UNREADABLE = "**Verdict:** RETRY — missing test"
"""What an auditor says under FAKE_UNREADABLE_FIRST: no verdict object."""
THINKING = "FAKE_THOUGHT: first I think about it.\nThen I think some more."
_ERROR = re.compile(r"FAKE_HTTP_ERROR:(\d{3})")
_SLOW = re.compile(r"FAKE_SLOW:(\d+(?:\.\d+)?)")
_TOOL = re.compile(r"RUN_TOOL(?::\s*([^\n]+))?")
_WAIT = r"(\d+(?:\.\d+)?\s+[a-z]+)"
_LIMIT = re.compile(r"FAKE_RATE_LIMIT:" + _WAIT)
_LIMIT_AFTER_TOOL = re.compile(r"FAKE_RATE_LIMIT_AFTER_TOOL:" + _WAIT)
_BIG = re.compile(r"FAKE_BIG:(\d+)")
_CALL = re.compile(r"CALL_TOOL:(\S+)(?:[ \t]+(\{[^\n]*\}))?")
_DELTAS = re.compile(r"FAKE_DELTAS:(\d+)")
SHELL_TOOLS: tuple[str, ...] = ("Bash", "exec_command", "shell_command", "shell")
SHELL_TOOLS += ("run_shell_command", "bash", "run_commands", "execute_command", "run_shell")
STRUCTURED_TOOLS = ("StructuredOutput", "structured_output")
REMINDER = "could not be read"


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


def big_text(size: int) -> str:
    """`size` characters of numbered lines, ending in FAKE_BIG_END."""
    lines: list[str] = []
    total = 0
    n = 0
    end = "FAKE_BIG_END"
    while total + len(end) < size:
        n += 1
        line = f"FAKE_BIG line {n:07d} " + "x" * 50 + "\n"
        lines.append(line)
        total += len(line)
    return "".join(lines) + end


@dataclass
class Reply:
    """What to answer, whatever the protocol: an error, a tool call or text (in pieces)."""

    status: int | None = None
    """An HTTP error status (then `message` and `headers` say the rest)."""
    message: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    tool: str | None = None
    """The name of the tool to call (then `args`)."""
    args: dict[str, Any] = field(default_factory=dict)
    text: str = ""
    pieces: int = 1
    """Stream the text in this many deltas (gated after the first, see FAKE_DELTAS)."""
    thinking: str = ""
    slow: float = 0.0
    cut: bool = False

    def deltas(self) -> list[str]:
        if self.pieces <= 1 or not self.text:
            return [self.text]
        size = max(len(self.text) // self.pieces, 1)
        out = [self.text[i * size : (i + 1) * size] for i in range(self.pieces - 1)]
        return [*out, self.text[(self.pieces - 1) * size :]]


def shell_args(tool: str, command: str) -> dict[str, Any]:
    """The arguments each CLI's shell tool takes."""
    if tool == "exec_command":
        return {"cmd": command}
    if tool == "shell":
        return {"command": ["bash", "-lc", command]}
    if tool == "run_commands":
        return {"commands": [command]}
    if tool == "shell_command":
        return {"command": command}
    return {"command": command, "description": "Run a shell command"}


Turn = tuple[str, str]
"""("user", text) or ("tool", output), in the conversation's order."""


def plan(
    server: FakeModelServer,
    conversation: Any,
    turns: list[Turn],
    tools: list[str],
    protocol: str = "",
) -> Reply:
    """The reply to one request (protocol-independent). Only the latest user message and the
    tool outputs after it decide the step: a resumed session's earlier turns do not."""
    texts = list(_strings(conversation))
    joined = "\n".join(texts)
    last_user = max((i for i, (kind, _) in enumerate(turns) if kind == "user"), default=-1)
    outputs = [text for kind, text in turns[last_user + 1 :] if kind == "tool"]
    tool_output = outputs[-1] if outputs else None
    prompt_texts = [turns[last_user][1]] if last_user >= 0 else texts
    slow = _SLOW.search(joined)
    reply = Reply(slow=float(slow.group(1)) if slow else 0.0, cut="FAKE_CUT" in joined)
    error = _ERROR.search(joined)
    if error:
        code = int(error.group(1))
        reply.status, reply.message = code, f"fake error {code}"
        reply.headers = {"Retry-After": "1"} if code == 429 else {}
        return reply
    main_turn = bool(tools)
    if main_turn and (limit := _LIMIT.search(joined)):
        reply.status = 429
        reply.message = f"Rate limit reached. Please try again in {limit.group(1).strip()}."
        return reply
    on_protocol = re.search(f"FAKE_RATE_LIMIT_ON_{protocol.upper()}:" + _WAIT, joined)
    if main_turn and protocol and on_protocol:
        reply.status = 429
        reply.message = f"Rate limit reached. Please try again in {on_protocol.group(1).strip()}."
        return reply
    after_tool = _LIMIT_AFTER_TOOL.search(joined)
    if main_turn and after_tool and tool_output is not None and server.take_once("after_tool"):
        reply.status = 429
        reply.message = f"Rate limit reached. Please try again in {after_tool.group(1).strip()}."
        return reply
    if "FAKE_THINK" in joined and main_turn:
        reply.thinking = THINKING
    shell = next((t for t in SHELL_TOOLS if t in tools), None)
    if "<worker-result>" in joined:
        verdict = _verdict(joined)
        structured = next((t for t in STRUCTURED_TOOLS if t in tools), None)
        if "FAKE_UNREADABLE_FIRST" in joined and REMINDER not in joined:
            reply.text = UNREADABLE
        elif structured is not None and tool_output is None:
            reply.tool, reply.args = structured, verdict
        elif structured is not None:
            reply.text = "verdict given"
        else:
            reply.text = json.dumps(verdict)
        return reply
    if "<candidates>" in joined:
        reply.text = json.dumps(_judgement(joined))
        return reply
    command = None
    for text in prompt_texts:
        named = _CALL.search(text)
        if named and tool_output is None and named.group(1) in tools:
            reply.tool, reply.args = named.group(1), json.loads(named.group(2) or "{}")
            return reply
        match = _TOOL.search(text)
        if match:
            # opencode wraps the prompt in quotes; they are not part of the command.
            command = (match.group(1) or "").strip().strip("\"'").strip() or "echo hi"
    if "FAKE_LOOP_TOOLS" in joined and shell is not None:
        server.loop_calls += 1
        reply.tool = shell
        reply.args = shell_args(shell, f"echo loop {server.loop_calls}")
        return reply
    if tool_output is None and command is not None and shell is not None:
        reply.tool, reply.args = shell, shell_args(shell, command)
        return reply
    if tool_output is not None:
        reply.text = f"FAKE_DONE: tool output was: {_one_line(tool_output)[:2000]}"
    else:
        reply.text = REPLY
    if main_turn and (big := _BIG.search(joined)):
        reply.text = big_text(int(big.group(1)))
    if main_turn and (deltas := _DELTAS.search(joined)):
        reply.pieces = int(deltas.group(1))
        reply.text = " ".join(f"FAKE_DELTA {i + 1} of {reply.pieces}." for i in range(reply.pieces))
    return reply


_CANDIDATE = re.compile(r'<candidate name="([^"]+)">(.*?)</candidate>', re.DOTALL)


def _judgement(joined: str) -> dict[str, str]:
    candidates = _CANDIDATE.findall(joined)
    preferred = [name for name, body in candidates if "FAKE_PREFERRED" in body]
    if preferred:
        return {"winner": preferred[0], "reasons": "its diff has FAKE_PREFERRED"}
    first = candidates[0][0] if candidates else ""
    return {"winner": first, "reasons": "no candidate stood out: the first"}


def _verdict(joined: str) -> dict[str, str]:
    forced = re.search(r"FAKE_VERDICT:([A-Z]+)", joined)
    if forced:
        verdict = forced.group(1)
    elif "FAKE_RETRY_FIRST" in joined and re.search(r"audit #1\b", joined):
        verdict = "RETRY"
    else:
        verdict = "DONE"
    feedback = "add a line saying FIXED" if verdict == "RETRY" else "fake audit"
    return {"verdict": verdict, "feedback": feedback}


class FakeModelServer:
    """Serve on 127.0.0.1 (a free port by default) in a background thread."""

    def __init__(self, port: int = 0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.holding = threading.Event()
        """Set while a FAKE_SLOW reply is being held."""
        self.gate = threading.Event()
        """Set by a test to let a FAKE_DELTAS reply go on after its first piece."""
        self.gate_timeout = 30.0
        self.gate_results: list[bool] = []
        self.loop_calls = 0
        self._once: set[str] = set()
        self._lock = threading.Lock()
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
        self.gate.set()
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

    def take_once(self, key: str) -> bool:
        """True the first time `key` is asked for, False after."""
        with self._lock:
            if key in self._once:
                return False
            self._once.add(key)
            return True

    def wait_gate(self) -> None:
        opened = self.gate.wait(self.gate_timeout) and not self._stopping.is_set()
        self.gate_results.append(opened)

    def main_requests(self) -> list[dict[str, Any]]:
        """Requests that offered tools (an agent's turns, not its side calls)."""
        return [r for r in self.requests if r["tools"]]


def _handler_for(server: FakeModelServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        fake = server

    return Handler


def _new_id(prefix: str) -> str:
    return f"{prefix}_{time.monotonic_ns():x}"


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
        try:
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
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away (stopped by a test): nothing to answer

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

    def _prelude(self, reply: Reply) -> bool:
        """Delay and error injection; True if the reply has been sent already."""
        if reply.slow:
            self.fake.hold(reply.slow)
        if reply.status is not None:
            kind = "rate_limit_error" if reply.status == 429 else "api_error"
            self._json(
                reply.status,
                {
                    "type": "error",
                    "error": {"type": kind, "message": reply.message, "code": reply.status},
                },
                reply.headers,
            )
            return True
        return False

    def _pieces(self, reply: Reply) -> Iterator[str]:
        """The text's deltas, gated after the first."""
        for i, piece in enumerate(reply.deltas()):
            if i == 1:
                self.fake.wait_gate()
            elif i > 1:
                time.sleep(0.05)
            yield piece

    def _cut(self) -> None:
        """Close the connection in the middle of a stream."""
        self.wfile.flush()
        self.close_connection = True
        self.connection.shutdown(2)

    # -- Anthropic Messages ----------------------------------------------------------------------

    def _anthropic(self, body: dict[str, Any]) -> None:
        turns: list[Turn] = []
        for message in body.get("messages", []):
            content = message.get("content")
            if message.get("role") != "user":
                continue
            if isinstance(content, str):
                turns.append(("user", content))
                continue
            said = []
            for block in content or []:
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    turns.append(("tool", "\n".join(_strings(block.get("content", "")))))
                elif isinstance(block, dict) and block.get("type") == "text":
                    said.append(str(block.get("text", "")))
            if said:
                turns.append(("user", "\n".join(said)))
        reply = plan(self.fake, body.get("messages"), turns, _tool_names(body), "anthropic")
        if self._prelude(reply):
            return
        model = body.get("model") or "fake-model"
        msg_id = _new_id("msg")
        blocks: list[dict[str, Any]] = []
        if reply.thinking:
            blocks.append({"type": "thinking", "thinking": reply.thinking, "signature": "fake"})
        if reply.tool is not None:
            blocks.append(
                {
                    "type": "tool_use",
                    "id": _new_id("toolu"),
                    "name": reply.tool,
                    "input": reply.args,
                }
            )
        else:
            blocks.append({"type": "text", "text": reply.text})
        stop_reason = "tool_use" if reply.tool is not None else "end_turn"
        usage = {
            "input_tokens": INPUT_TOKENS,
            "output_tokens": OUTPUT_TOKENS,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        }
        message = {
            "id": msg_id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": blocks,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": usage,
        }
        if not body.get("stream"):
            self._json(200, message)
            return
        self._start_stream()
        start = {
            **message,
            "content": [],
            "stop_reason": None,
            "usage": {**usage, "output_tokens": 1},
        }
        self._event({"type": "message_start", "message": start}, "message_start")
        for index, block in enumerate(blocks):
            kind = block["type"]
            deltas: Iterator[dict[str, Any]] | list[dict[str, Any]]
            if kind == "tool_use":
                opened = {**block, "input": {}}
                deltas = [{"type": "input_json_delta", "partial_json": json.dumps(block["input"])}]
            elif kind == "thinking":
                opened = {"type": "thinking", "thinking": "", "signature": ""}
                deltas = [
                    {"type": "thinking_delta", "thinking": block["thinking"]},
                    {"type": "signature_delta", "signature": "fake"},
                ]
            else:
                opened = {"type": "text", "text": ""}
                deltas = ({"type": "text_delta", "text": p} for p in self._pieces(reply))
            self._event(
                {"type": "content_block_start", "index": index, "content_block": opened},
                "content_block_start",
            )
            if reply.cut:
                return self._cut()
            for delta in deltas:
                self._event(
                    {"type": "content_block_delta", "index": index, "delta": delta},
                    "content_block_delta",
                )
            self._event({"type": "content_block_stop", "index": index}, "content_block_stop")
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
        turns: list[Turn] = []
        for item in body.get("input", []) or []:
            if not isinstance(item, dict):
                continue
            if item.get("type") == "function_call_output":
                given = item.get("output")
                turns.append(("tool", given if isinstance(given, str) else json.dumps(given)))
            elif item.get("role") == "user":
                turns.append(("user", "\n".join(_strings(item.get("content")))))
        reply = plan(self.fake, body.get("input"), turns, _tool_names(body), "responses")
        if self._prelude(reply):
            return
        model = body.get("model") or "fake-model"
        seq = iter(range(1_000_000))
        response: dict[str, Any] = {
            "id": _new_id("resp"),
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
        output: list[dict[str, Any]] = []
        index = 0
        if reply.thinking:
            item = {
                "type": "reasoning",
                "id": _new_id("rs"),
                "summary": [{"type": "summary_text", "text": reply.thinking}],
            }
            emit("response.output_item.added", output_index=index, item={**item, "summary": []})
            emit("response.output_item.done", output_index=index, item=item)
            output.append(item)
            index += 1
        if reply.tool is not None:
            item = {
                "type": "function_call",
                "id": _new_id("fc"),
                "call_id": _new_id("call"),
                "name": reply.tool,
                "arguments": json.dumps(reply.args),
                "status": "completed",
            }
            emit("response.output_item.added", output_index=index, item={**item, "arguments": ""})
            if reply.cut:
                return self._cut()
            emit("response.output_item.done", output_index=index, item=item)
        else:
            item_id = _new_id("msg")
            empty = {"type": "message", "id": item_id, "role": "assistant", "content": []}
            emit(
                "response.output_item.added",
                output_index=index,
                item={**empty, "status": "in_progress"},
            )
            part = {"type": "output_text", "text": "", "annotations": []}
            where = {"item_id": item_id, "output_index": index, "content_index": 0}
            emit("response.content_part.added", **where, part=part)
            if reply.cut:
                return self._cut()
            for piece in self._pieces(reply):
                emit("response.output_text.delta", **where, delta=piece)
            emit("response.output_text.done", **where, text=reply.text)
            item = {**empty, "status": "completed", "content": [{**part, "text": reply.text}]}
            emit("response.output_item.done", output_index=index, item=item)
        output.append(item)
        usage = {
            "input_tokens": INPUT_TOKENS,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": OUTPUT_TOKENS,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": INPUT_TOKENS + OUTPUT_TOKENS,
        }
        done = {**response, "status": "completed", "output": output, "usage": usage}
        emit("response.completed", response=done)

    # -- OpenAI Chat Completions -----------------------------------------------------------------

    def _chat(self, body: dict[str, Any]) -> None:
        turns: list[Turn] = []
        for said in body.get("messages", []) or []:
            if isinstance(said, dict) and said.get("role") == "tool":
                turns.append(("tool", "\n".join(_strings(said.get("content", "")))))
            elif isinstance(said, dict) and said.get("role") == "user":
                turns.append(("user", "\n".join(_strings(said.get("content", "")))))
        reply = plan(self.fake, body.get("messages"), turns, _tool_names(body), "chat")
        if self._prelude(reply):
            return
        model = body.get("model") or "fake-model"
        chunk_id = _new_id("chatcmpl")
        created = int(time.time())

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {
                "id": chunk_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }

        usage = {
            "prompt_tokens": INPUT_TOKENS,
            "completion_tokens": OUTPUT_TOKENS,
            "total_tokens": INPUT_TOKENS + OUTPUT_TOKENS,
        }
        call_id = _new_id("call")
        if not body.get("stream"):
            if reply.tool is not None:
                message: dict[str, Any] = {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": call_id,
                            "type": "function",
                            "function": {"name": reply.tool, "arguments": json.dumps(reply.args)},
                        }
                    ],
                }
            else:
                message = {"role": "assistant", "content": reply.text}
            finish = "tool_calls" if reply.tool is not None else "stop"
            result = {
                "id": chunk_id,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": usage,
            }
            self._json(200, result)
            return
        self._start_stream()
        self._event(chunk({"role": "assistant", "content": ""}))
        if reply.cut:
            self._event(chunk({"content": "FAKE_PARTIAL: this reply is cut"}))
            return self._cut()
        if reply.thinking:
            self._event(chunk({"reasoning_content": reply.thinking}))
        if reply.tool is not None:
            opened = {"index": 0, "id": call_id, "type": "function"}
            self._event(
                chunk(
                    {"tool_calls": [{**opened, "function": {"name": reply.tool, "arguments": ""}}]}
                )
            )
            arguments = json.dumps(reply.args)
            self._event(chunk({"tool_calls": [{"index": 0, "function": {"arguments": arguments}}]}))
            self._event(chunk({}, "tool_calls"))
        else:
            for piece in self._pieces(reply):
                self._event(chunk({"content": piece}))
            self._event(chunk({}, "stop"))
        if (body.get("stream_options") or {}).get("include_usage"):
            self._event({**chunk({}), "choices": [], "usage": usage})
        self._event("[DONE]")

    # -- Gemini ----------------------------------------------------------------------------------

    def _gemini(self, body: dict[str, Any], *, stream: bool) -> None:
        turns: list[Turn] = []
        for content in body.get("contents", []) or []:
            if content.get("role") != "user":
                continue
            said = []
            for part in content.get("parts", []) or []:
                if isinstance(part, dict) and "functionResponse" in part:
                    turns.append(
                        ("tool", "\n".join(_strings(part["functionResponse"].get("response"))))
                    )
                elif isinstance(part, dict) and "text" in part:
                    said.append(str(part["text"]))
            if said:
                turns.append(("user", "\n".join(said)))
        config = body.get("generationConfig") or {}
        tools = _tool_names(body)
        reply = plan(self.fake, body.get("contents"), turns, tools, "gemini")
        if self._prelude(reply):
            return
        model = self.path.split("/models/", 1)[-1].split(":", 1)[0]
        usage = {
            "promptTokenCount": INPUT_TOKENS,
            "candidatesTokenCount": OUTPUT_TOKENS,
            "totalTokenCount": INPUT_TOKENS + OUTPUT_TOKENS,
        }

        def response(parts: list[dict[str, Any]], final: bool) -> dict[str, Any]:
            candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
            out: dict[str, Any] = {
                "candidates": [candidate],
                "modelVersion": model or "fake-model",
                "responseId": response_id,
            }
            if final:
                candidate["finishReason"] = "STOP"
                out["usageMetadata"] = usage
            return out

        response_id = _new_id("resp")
        thought = [{"text": reply.thinking, "thought": True}] if reply.thinking else []
        if config.get("responseMimeType") == "application/json":
            pieces: list[list[dict[str, Any]]] = [[{"text": json.dumps(_fit(config))}]]
        elif reply.tool is not None:
            pieces = [[*thought, {"functionCall": {"name": reply.tool, "args": reply.args}}]]
        elif not stream:
            pieces = [[*thought, {"text": reply.text}]]
        else:
            pieces = [[{"text": p}] for p in reply.deltas()]
            if thought:
                pieces.insert(0, thought)
        if not stream:
            self._json(200, response([p for group in pieces for p in group], True))
            return
        self._start_stream()
        if reply.cut:
            self.wfile.write(b'data: {"candidates": [{"content": ')
            return self._cut()
        texts = 0
        for i, parts in enumerate(pieces):
            if any("text" in p and not p.get("thought") for p in parts):
                texts += 1
                if texts == 2:
                    self.fake.wait_gate()
                elif texts > 2:
                    time.sleep(0.05)
            self._event(response(parts, i == len(pieces) - 1))


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
