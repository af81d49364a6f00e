"""Parser throughput: each executor's stream parser on a 64 MB transcript of its own CLI's shape,
with a message per round (a text, a tool call, its result, the usage so far), fed in 64 KiB
chunks as the runner reads them.

    python bench/parsers.py [--mb 64] [--only claude,codex] [--repeat 3]

Prints MB/s per parser (CPU time of this process, the best of the repeats) and the events it
made. Target: every parser at
50 MB/s or more. The lines follow the real transcripts in tests/agents/transcripts (ids made
unique per round, as a long session has them): claude's used to add up every message's usage
again on each assistant line, which made it quadratic in the number of messages.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from oneshot_tui.agents import executor
from oneshot_tui.core.activity import to_data

CHUNK = 65536
SESSION = "4a5ad26d-6ad4-4af6-bb5b-37e1ca4fbf1c"
TEXT = "I will look at the failing test and run it again to see what changed in round {i}."
OUTPUT = "collected 12 items\\n\\ntests/test_api.py ....F.......\\n1 failed, 11 passed in 0.42s"


def _j(obj: object) -> str:
    return json.dumps(obj, separators=(",", ":"))


def claude_rounds(qwen: bool = False) -> tuple[list[str], Callable[[int], list[str]], list[str]]:
    head = [
        _j(
            {
                "type": "system",
                "subtype": "init",
                "cwd": "/home/user/project",
                "session_id": SESSION,
                "tools": ["Bash", "Edit", "Read"],
                "model": "claude-opus-4-8",
            }
        )
    ]

    def usage(i: int) -> dict[str, int]:
        return {
            "input_tokens": 12 + i,
            "output_tokens": 7,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 1000 + i,
        }

    def round_(i: int) -> list[str]:
        msg = {"id": f"msg_{i:08x}", "type": "message", "role": "assistant", "model": "m"}
        text = {**msg, "content": [{"type": "text", "text": TEXT.format(i=i)}], "usage": usage(i)}
        call = {
            **msg,
            "content": [
                {
                    "type": "tool_use",
                    "id": f"toolu_{i:08x}",
                    "name": "Bash",
                    "input": {"command": f"pytest -x tests/test_api.py -k case_{i}"},
                }
            ],
            "usage": usage(i),
        }
        result = {
            "role": "user",
            "content": [
                {
                    "tool_use_id": f"toolu_{i:08x}",
                    "type": "tool_result",
                    "content": OUTPUT,
                    "is_error": False,
                }
            ],
        }
        extra = {"parent_tool_use_id": None, "session_id": SESSION, "uuid": f"u-{i:08x}"}
        return [
            _j({"type": "assistant", "message": text, **extra}),
            _j({"type": "assistant", "message": call, **extra}),
            _j({"type": "user", "message": result, **extra}),
        ]

    tail = [
        _j(
            {
                "type": "result",
                "subtype": "success",
                "is_error": False,
                "result": "done",
                "total_cost_usd": 1.0,
                "usage": usage(0),
                "permission_denials": [],
                **({"structured_result": None} if qwen else {}),
            }
        )
    ]
    return head, round_, tail


def codex_rounds() -> tuple[list[str], Callable[[int], list[str]], list[str]]:
    head = [_j({"type": "thread.started", "thread_id": SESSION}), _j({"type": "turn.started"})]

    def round_(i: int) -> list[str]:
        cmd = f"/bin/bash -lc 'pytest -x tests/test_api.py -k case_{i}'"
        started = {
            "id": f"item_{i}",
            "type": "command_execution",
            "command": cmd,
            "aggregated_output": "",
            "exit_code": None,
            "status": "in_progress",
        }
        done = {**started, "aggregated_output": OUTPUT, "exit_code": 0, "status": "completed"}
        message = {"id": f"item_m{i}", "type": "agent_message", "text": TEXT.format(i=i)}
        return [
            _j({"type": "item.started", "item": started}),
            _j({"type": "item.completed", "item": done}),
            _j({"type": "item.completed", "item": message}),
        ]

    usage = {"input_tokens": 24, "cached_input_tokens": 0, "output_tokens": 14}
    return head, round_, [_j({"type": "turn.completed", "usage": usage})]


def gemini_rounds() -> tuple[list[str], Callable[[int], list[str]], list[str]]:
    ts = "2026-11-29T05:52:35.358Z"
    head = [_j({"type": "init", "timestamp": ts, "session_id": SESSION, "model": "gemini-2.5"})]

    def round_(i: int) -> list[str]:
        tool_id = f"run_shell_command__run_shell_command_{i}_0"
        return [
            _j(
                {
                    "type": "message",
                    "timestamp": ts,
                    "role": "assistant",
                    "content": TEXT.format(i=i),
                    "delta": True,
                }
            ),
            _j(
                {
                    "type": "tool_use",
                    "timestamp": ts,
                    "tool_name": "run_shell_command",
                    "tool_id": tool_id,
                    "parameters": {"command": f"pytest -k case_{i}", "description": "Run"},
                }
            ),
            _j(
                {
                    "type": "tool_result",
                    "timestamp": ts,
                    "tool_id": tool_id,
                    "status": "success",
                    "output": OUTPUT,
                }
            ),
        ]

    stats = {"total_tokens": 38, "input_tokens": 24, "output_tokens": 14, "tool_calls": 1}
    tail = [_j({"type": "result", "timestamp": ts, "status": "success", "stats": stats})]
    return head, round_, tail


def opencode_rounds() -> tuple[list[str], Callable[[int], list[str]], list[str]]:
    def part(i: int, **fields: object) -> dict[str, object]:
        return {"id": f"prt_{i:08x}", "messageID": f"msg_{i:08x}", "sessionID": SESSION, **fields}

    def round_(i: int) -> list[str]:
        base = {"timestamp": 1795931569461 + i, "sessionID": SESSION}
        state = {
            "status": "completed",
            "input": {"command": f"pytest -k case_{i}", "description": "Run"},
            "output": OUTPUT,
            "metadata": {"exit": 0, "truncated": False},
            "title": f"pytest -k case_{i}",
        }
        tokens = {
            "total": 19,
            "input": 12,
            "output": 7,
            "reasoning": 0,
            "cache": {"write": 0, "read": 0},
        }
        return [
            _j({"type": "step_start", **base, "part": part(i, type="step-start")}),
            _j({"type": "text", **base, "part": part(i, type="text", text=TEXT.format(i=i))}),
            _j(
                {
                    "type": "tool_use",
                    **base,
                    "part": part(i, type="tool", tool="bash", callID=f"call_{i}", state=state),
                }
            ),
            _j(
                {
                    "type": "step_finish",
                    **base,
                    "part": part(i, type="step-finish", reason="tool-calls", tokens=tokens, cost=0),
                }
            ),
        ]

    tail = [
        _j(
            {
                "type": "step_finish",
                "timestamp": 1,
                "sessionID": SESSION,
                "part": part(0, type="step-finish", reason="stop", tokens={}, cost=0),
            }
        )
    ]
    return [], round_, tail


def cline_rounds() -> tuple[list[str], Callable[[int], list[str]], list[str]]:
    ts = "2026-11-29T05:52:35.358Z"
    head = [
        _j(
            {
                "ts": ts,
                "type": "hook_event",
                "hookEventName": "agent_start",
                "agentId": "agent_1",
                "taskId": SESSION,
                "parentAgentId": None,
            }
        )
    ]

    def round_(i: int) -> list[str]:
        text = TEXT.format(i=i)

        def ev(**event: object) -> str:
            return _j({"ts": ts, "type": "agent_event", "event": event})

        return [
            ev(type="content_start", contentType="text", text=text, accumulated=text),
            ev(type="content_end", contentType="text", text=text),
            ev(
                type="content_start",
                contentType="tool",
                toolCallId=f"call_{i}",
                toolName="run_commands",
                input={"commands": [f"pytest -k case_{i}"]},
            ),
            ev(
                type="content_end",
                contentType="tool",
                toolCallId=f"call_{i}",
                toolName="run_commands",
                output=[{"query": f"pytest -k case_{i}", "result": OUTPUT, "success": True}],
            ),
            ev(
                type="usage",
                inputTokens=12,
                outputTokens=7,
                totalInputTokens=12 * i,
                totalOutputTokens=7 * i,
                totalCost=0,
            ),
        ]

    usage = {"inputTokens": 1, "outputTokens": 1, "totalCost": 0}
    tail = [_j({"ts": ts, "type": "run_result", "finishReason": "completed", "usage": usage})]
    return head, round_, tail


def aider_rounds() -> tuple[list[str], Callable[[int], list[str]], list[str]]:
    head = ["Aider v0.86.2", "Model: openai/fake-model with whole edit format", "Git repo: none"]

    def round_(i: int) -> list[str]:
        return [
            TEXT.format(i=i),
            "tests/test_api.py",
            "```python",
            f"def test_case_{i}():",
            "    assert parse('') == []",
            "```",
            f"Tokens: {593 + i} sent, 9 received. Cost: $0.01 message, ${i / 100:.2f} session.",
        ]

    return head, round_, []


def direct_rounds() -> tuple[list[str], Callable[[int], list[str]], list[str]]:
    from oneshot_tui.core.activity import (
        AssistantText,
        FinalResult,
        SessionStarted,
        TextDelta,
        ToolCall,
        ToolResult,
        Usage,
    )

    def line(event: object) -> str:
        return json.dumps(to_data(event), ensure_ascii=False)  # type: ignore[arg-type]

    head = [line(SessionStarted(SESSION, "llama3.2"))]

    def round_(i: int) -> list[str]:
        text = TEXT.format(i=i)
        return [
            line(TextDelta(text)),
            line(AssistantText(text)),
            line(ToolCall("run_shell", f"pytest -k case_{i}", f"call_{i}")),
            line(ToolResult(True, OUTPUT, f"call_{i}")),
            line(Usage(12 * i, 7 * i)),
        ]

    return head, round_, [line(FinalResult("done"))]


SHAPES: dict[str, Callable[[], tuple[list[str], Callable[[int], list[str]], list[str]]]] = {
    "claude": claude_rounds,
    "codex": codex_rounds,
    "gemini": gemini_rounds,
    "qwen": lambda: claude_rounds(qwen=True),
    "opencode": opencode_rounds,
    "cline": cline_rounds,
    "aider": aider_rounds,
    "direct": direct_rounds,
}


def transcript(agent: str, size: int) -> tuple[bytes, int]:
    """About `size` bytes of `agent`'s stream, and how many rounds it holds."""
    head, round_, tail = SHAPES[agent]()
    parts = [line + "\n" for line in head]
    total = sum(map(len, parts))
    rounds = 0
    while total < size:
        lines = [line + "\n" for line in round_(rounds)]
        parts.extend(lines)
        total += sum(map(len, lines))
        rounds += 1
    parts.extend(line + "\n" for line in tail)
    return "".join(parts).encode(), rounds


def chunks(data: bytes) -> Iterator[bytes]:
    for start in range(0, len(data), CHUNK):
        yield data[start : start + CHUNK]


def measure(agent: str, data: bytes) -> tuple[float, int]:
    parser = executor(agent).parser()
    pieces = list(chunks(data))
    # CPU time of this process: the machine may be busy with other work, and what is measured
    # is what the parser costs, not what the others took.
    start = time.process_time()
    count = 0
    for piece in pieces:
        count += len(parser.feed(piece))
    count += len(parser.close())
    return time.process_time() - start, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else "")
    parser.add_argument("--mb", type=float, default=64)
    parser.add_argument("--only", help="comma-separated parsers (default: all)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(SHAPES)
    size = int(args.mb * 1024 * 1024)
    print(f"{'parser':<10} {'MB':>6} {'rounds':>8} {'events':>9} {'seconds':>8} {'MB/s':>7}")
    worst = float("inf")
    for name in names:
        data, rounds = transcript(name, size)
        best, events = min(measure(name, data) for _ in range(args.repeat))
        mb = len(data) / 1024 / 1024
        rate = mb / best
        worst = min(worst, rate)
        print(f"{name:<10} {mb:>6.1f} {rounds:>8} {events:>9} {best:>8.2f} {rate:>7.1f}")
    verdict = "ok" if worst >= 50 else "below"
    print(f"slowest: {worst:.1f} MB/s (target >= 50 MB/s: {verdict})")


if __name__ == "__main__":
    main()
