"""The parsers on the real transcripts of each CLI (tests/agents/transcripts, recorded from the
real CLIs against a fake model server), on their known traps, and on broken input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oneshot_tui.agents import EXECUTORS, executor
from oneshot_tui.core.activity import (
    AgentError,
    AgentEvent,
    AssistantText,
    FinalResult,
    RawLine,
    SessionStarted,
    TextDelta,
    ToolCall,
    ToolResult,
    Usage,
    describe,
    from_data,
    to_data,
)
from oneshot_tui.core.spec import AGENTS

TRANSCRIPTS = Path(__file__).parent / "transcripts"
ALL = sorted(p.name for p in TRANSCRIPTS.glob("*.out"))


def agent_of(name: str) -> str:
    return name.split("-", 1)[0]


def parse(agent: str, data: bytes, chunks: list[int] | None = None) -> list[AgentEvent]:
    parser = executor(agent).parser()
    events: list[AgentEvent] = []
    if chunks is None:
        events += parser.feed(data)
    else:
        start = 0
        for cut in [*sorted(chunks), len(data)]:
            events += parser.feed(data[start:cut])
            start = cut
    return events + parser.close()


def transcript(name: str) -> bytes:
    return (TRANSCRIPTS / name).read_bytes()


E = TypeVar("E")


def of(events: list[AgentEvent], cls: type[E]) -> list[E]:
    return [e for e in events if isinstance(e, cls)]


def test_every_agent_has_an_executor() -> None:
    assert set(EXECUTORS) == set(AGENTS)


@pytest.mark.parametrize("name", ALL)
def test_each_transcript_gives_a_session_a_result_and_usage(name: str) -> None:
    events = parse(agent_of(name), transcript(name))
    assert len(of(events, SessionStarted)) == 1
    results = of(events, FinalResult)
    assert len(results) == 1 and not results[0].is_error
    assert results[0].text.startswith(("FAKE_REPLY", "FAKE_DONE"))
    assert isinstance(events[-1], FinalResult)
    usage = of(events, Usage)[-1]
    assert usage.input_tokens > 0 and usage.output_tokens > 0
    assert not of(events, AgentError)
    # Nothing of a JSON transcript is left unparsed; aider's banner is plain text by nature.
    raw = of(events, RawLine)
    assert not raw if agent_of(name) != "aider" else raw


@pytest.mark.parametrize("name", [n for n in ALL if n.endswith("-tool.out")])
def test_tool_transcripts_give_the_call_and_its_result(name: str) -> None:
    events = parse(agent_of(name), transcript(name))
    calls, results = of(events, ToolCall), of(events, ToolResult)
    assert len(calls) == 1 and len(results) == 1
    assert calls[0].summary.startswith("echo hi")
    assert events.index(calls[0]) < events.index(results[0])
    if agent_of(name) == "opencode":  # opencode quoted the prompt: bash failed on `echo hi"`
        assert not results[0].ok and "unexpected EOF" in results[0].output
    else:
        assert results[0].ok and results[0].output == "hi"


def test_claude_reads_as_lines() -> None:
    events = parse("claude", transcript("claude-tool.out"))
    lines = [describe(e) for e in events if describe(e)]
    assert lines == [
        "● session 4a5ad26d-6ad4-4af6-bb5b-37e1ca4fbf1c  claude-opus-4-8[1m]",
        "I will run a command.",
        "▸ Bash  echo hi",
        "◂ ok  hi",
        "FAKE_DONE: tool output was: hi",
        "✓ result FAKE_DONE: tool output was: hi",
    ]
    assert of(events, Usage)[-1] == Usage(24, 14, 0.00047)


def test_claude_counts_a_message_once_though_each_block_repeats_its_usage() -> None:
    events = parse("claude", transcript("claude-tool.out"))
    before_result = of(events, Usage)[:-1]
    assert before_result[-1].input_tokens == 24  # two messages of 12, not three blocks


def test_claude_error_with_subtype_success_is_an_error() -> None:
    line = {
        "type": "result",
        "subtype": "success",
        "is_error": True,
        "api_error_status": 400,
        "result": "API Error: 400 bad request",
        "usage": {"input_tokens": 0, "output_tokens": 0},
    }
    [_, result] = parse("claude", json.dumps(line).encode() + b"\n")
    assert result == FinalResult("API Error: 400 bad request", True, False)


def test_claude_429_is_a_rate_limit() -> None:
    line = {
        "type": "result",
        "subtype": "success",
        "is_error": True,
        "api_error_status": 429,
        "result": "API Error: Request rejected (429) · fake error 429",
    }
    assert parse("claude", json.dumps(line).encode())[-1] == FinalResult(
        str(line["result"]), True, True
    )


def test_claude_usage_limit_text_is_a_rate_limit() -> None:
    line = {
        "type": "result",
        "subtype": "success",
        "is_error": True,
        "result": "Claude AI usage limit reached|1795935600",
    }
    assert parse("claude", json.dumps(line).encode())[-1].rate_limited  # type: ignore[union-attr]


def test_qwen_api_error_reported_as_success_is_an_error() -> None:
    line = {
        "type": "result",
        "subtype": "success",
        "is_error": False,
        "result": "[API Error: 429 Too Many Requests]",
    }
    result = parse("qwen", json.dumps(line).encode())[-1]
    assert result == FinalResult("[API Error: 429 Too Many Requests]", True, True)


def test_gemini_error_result() -> None:
    line = {
        "type": "result",
        "status": "error",
        "error": {"type": "unknown", "message": "[API Error: fake error 429]\nPlease wait"},
        "stats": {"input_tokens": 0, "output_tokens": 0},
    }
    result = parse("gemini", json.dumps(line).encode())[-1]
    assert isinstance(result, FinalResult) and result.is_error and result.rate_limited


def test_gemini_passes_each_delta_on_at_once_then_the_whole_text() -> None:
    lines = [
        {"type": "message", "role": "assistant", "content": "Hel", "delta": True},
        {"type": "message", "role": "assistant", "content": "lo", "delta": True},
        {"type": "result", "status": "success", "stats": {"input_tokens": 1, "output_tokens": 2}},
    ]
    parser = executor("gemini").parser()
    first = json.dumps(lines[0]).encode() + b"\n"
    assert parser.feed(first) == [TextDelta("Hel")]  # not held until the next event
    rest = b"".join(json.dumps(x).encode() + b"\n" for x in lines[1:])
    assert parser.feed(rest) + parser.close() == [
        TextDelta("lo"),
        AssistantText("Hello"),
        Usage(1, 2),
        FinalResult("Hello"),
    ]


def test_codex_turn_failed_is_an_error_result() -> None:
    lines = [
        {"type": "thread.started", "thread_id": "t1"},
        {"type": "error", "message": "unexpected status 400 Bad Request: fake error 400"},
        {"type": "turn.failed", "error": {"message": "unexpected status 400: fake error 400"}},
    ]
    data = b"".join(json.dumps(x).encode() + b"\n" for x in lines)
    events = parse("codex", data)
    assert isinstance(events[1], AgentError)
    assert events[-1] == FinalResult("unexpected status 400: fake error 400", True, False)


def test_opencode_has_no_result_event_so_one_is_made_at_the_end() -> None:
    data = transcript("opencode-text.out")
    parser = executor("opencode").parser()
    events = parser.feed(data)
    assert not of(events, FinalResult)
    assert parser.close() == [FinalResult("FAKE_REPLY: hello from the fake model")]


def test_opencode_error_ends_in_an_error_result() -> None:
    line = {
        "type": "error",
        "sessionID": "ses_1",
        "error": {"name": "APIError", "data": {"message": "fake error 429", "statusCode": 429}},
    }
    events = parse("opencode", json.dumps(line).encode() + b"\n")
    assert events == [
        SessionStarted("ses_1", ""),
        AgentError("fake error 429", True, None),
        FinalResult("fake error 429", True, True),
    ]


def test_opencode_cut_short_is_not_a_success() -> None:
    data = transcript("opencode-tool.out").splitlines(keepends=True)[:3]
    result = parse("opencode", b"".join(data))[-1]
    assert isinstance(result, FinalResult) and result.is_error


def test_aider_text_gives_model_usage_and_reply() -> None:
    events = parse("aider", transcript("aider-text.out"))
    assert of(events, SessionStarted) == [SessionStarted("", "openai/fake-model")]
    assert of(events, AssistantText) == [AssistantText("FAKE_REPLY: hello from the fake model")]
    assert of(events, Usage) == [Usage(593, 9, None)]


def test_aider_reads_thousands_and_session_cost() -> None:
    line = (
        b"Tokens: 2.3k sent, 1.1k cache write, 120 received. Cost: $0.01 message, $0.03 session.\n"
    )
    assert of(parse("aider", line), Usage) == [Usage(2300, 120, 0.03)]


def test_aider_keeps_the_last_reply_not_every_reply_of_a_long_session() -> None:
    import tracemalloc

    parser = executor("aider").parser()
    message = (b"x" * 999 + b"\n") * 2 + b"Tokens: 9 sent, 9 received.\n"
    tracemalloc.start()
    try:
        for i in range(5_000):  # 10 MB of replies
            parser.feed(message.replace(b"x" * 4, b"%04d" % i, 1))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000
    result = parser.close()[-1]
    assert isinstance(result, FinalResult) and result.text.startswith("4999")
    assert len(result.text) == 999 * 2 + 1


@pytest.mark.parametrize("agent", AGENTS)
def test_garbage_is_kept_as_raw_text_and_never_fatal(agent: str) -> None:
    data = (
        b"not json at all\n"
        b'{"type": "assistant", "message": 5}\n'
        b'{"type": "no-such-event"}\n'
        b"[1, 2, 3]\n"
        b'{"truncated": \n'
        b"\xff\xfe binary \x00 junk\n"
    )
    events = parse(agent, data)
    texts = [e.text for e in events if isinstance(e, RawLine | AssistantText)]
    assert "not json at all" in "\n".join(texts).splitlines()  # aider's reply comes in blocks
    assert any("binary" in t for t in texts)


def test_a_long_line_without_newline_is_passed_on_in_pieces() -> None:
    from oneshot_tui.agents.base import MAX_LINE_BYTES

    parser = executor("claude").parser()
    events = parser.feed(b"x" * (MAX_LINE_BYTES + 1))
    assert len(events) == 1 and isinstance(events[0], RawLine)


@pytest.mark.parametrize("name", ALL)
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_any_split_gives_the_same_events(name: str, data: st.DataObject) -> None:
    raw = transcript(name)
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=12))
    assert parse(agent_of(name), raw, cuts) == parse(agent_of(name), raw)


@pytest.mark.parametrize("name", ALL)
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_a_truncated_stream_gives_a_prefix_of_the_events(name: str, data: st.DataObject) -> None:
    raw = transcript(name)
    end = data.draw(st.integers(0, len(raw)))
    agent = agent_of(name)
    parser = executor(agent).parser()
    fed = parser.feed(raw[:end])
    full = parse(agent, raw)
    assert fed == full[: len(fed)]
    parser.close()  # a partial last line and a made-up result: no exception


@pytest.mark.parametrize(
    "event",
    [
        SessionStarted("s", "m"),
        AssistantText("hi"),
        ToolCall("Bash", "echo hi", "t1"),
        ToolResult(False, "boom", "t1"),
        Usage(1, 2, 0.5),
        Usage(1, 2),
        FinalResult("done", True, True),
        AgentError("slow down", True, 3.0),
        RawLine("x", "stderr"),
    ],
)
def test_events_round_trip_through_data(event: AgentEvent) -> None:
    assert from_data(json.loads(json.dumps(to_data(event)))) == event


def test_malformed_data_is_not_an_event() -> None:
    assert from_data({"type": "usage", "input_tokens": "many", "output_tokens": 1}) is None
    assert from_data({"type": "nope"}) is None
    assert from_data({"type": "text"}) is None


# -- issue 15: what the parsers read around the answer ----------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("Please try again in 2 hours.", 7200.0),
        ("try again in 4 days", 345600.0),
        ("retry after 30s", 30.0),
        ("Try again in 2 minutes", 120.0),
        ("rate limited; retry after 1.5 seconds", 1.5),
        ("usage limit reached, resets in 1h 30m", 5400.0),
        ("try again in 500ms", 0.5),
        ("retry after 12", 12.0),
        ("Rate limit reached", None),
    ],
)
def test_a_wait_is_read_with_its_unit(text: str, seconds: float | None) -> None:
    from oneshot_tui.agents.limits import retry_after

    assert retry_after(text) == seconds


def test_claude_denials_retries_thinking_and_deltas_are_read() -> None:
    from oneshot_tui.core.activity import RetryNotice, Thinking, ToolDenied

    lines = [
        {
            "type": "system",
            "subtype": "api_retry",
            "attempt": 2,
            "max_retries": 10,
            "retry_delay_ms": 4000,
            "error_status": 429,
            "error": "rate_limit",
        },
        {"type": "stream_event", "event": {"type": "message_start", "message": {"id": "m1"}}},
        {
            "type": "stream_event",
            "event": {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "thinking_delta", "thinking": "hm"},
            },
        },
        {
            "type": "stream_event",
            "event": {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "text_delta", "text": "Hel"},
            },
        },
        {
            "type": "assistant",
            "message": {
                "id": "m1",
                "content": [
                    {"type": "thinking", "thinking": "hm"},
                    {"type": "text", "text": "Hello"},
                ],
                "usage": {"input_tokens": 10, "output_tokens": 1},
            },
        },
        {"type": "stream_event", "event": {"type": "message_delta", "usage": {"output_tokens": 9}}},
        {
            "type": "result",
            "subtype": "success",
            "is_error": False,
            "result": "Hello",
            "total_cost_usd": 0.01,
            "usage": {"input_tokens": 10, "output_tokens": 9},
            "permission_denials": [
                {
                    "tool_name": "Write",
                    "tool_use_id": "t1",
                    "tool_input": {"file_path": "/etc/x", "content": "y"},
                }
            ],
        },
    ]
    data = b"".join(json.dumps(x).encode() + b"\n" for x in lines)
    events = parse("claude", data)
    assert events[0] == RetryNotice("HTTP 429: rate_limit", 4.0, 2, 10)
    assert TextDelta("hm", thinking=True) in events and TextDelta("Hel") in events
    assert Thinking("hm") in events and AssistantText("Hello") in events
    usages = of(events, Usage)
    assert (usages[0].output_tokens, usages[1].output_tokens) == (1, 9)  # the message's final
    assert of(events, ToolDenied) == [ToolDenied("Write", "/etc/x", "t1")]
    assert events[-1] == FinalResult("Hello")


def test_claude_counts_each_message_once_however_many_lines_it_has() -> None:
    parser = executor("claude").parser()
    for i in range(3):
        for block in (
            {"type": "text", "text": "x"},
            {"type": "tool_use", "id": f"t{i}", "name": "Bash", "input": {}},
        ):
            msg = {
                "id": f"m{i}",
                "content": [block],
                "usage": {"input_tokens": 10, "output_tokens": 5},
            }
            parser.feed(json.dumps({"type": "assistant", "message": msg}).encode() + b"\n")
    line = {
        "type": "assistant",
        "message": {"id": "m3", "content": [], "usage": {"input_tokens": 1, "output_tokens": 1}},
    }
    assert parser.feed(json.dumps(line).encode() + b"\n") == [Usage(31, 16)]


def test_codex_reasoning_and_its_own_reconnect_notices() -> None:
    from oneshot_tui.core.activity import RetryNotice, Thinking

    lines = [
        {"type": "item.completed", "item": {"id": "r", "type": "reasoning", "text": "thinking"}},
        {"type": "error", "message": "Reconnecting... 2/5 (stream disconnected)"},
    ]
    data = b"".join(json.dumps(x).encode() + b"\n" for x in lines)
    events = parse("codex", data)
    assert events[0] == Thinking("thinking")
    assert isinstance(events[1], RetryNotice) and (events[1].attempt, events[1].attempts) == (2, 5)


def test_gemini_reads_its_retry_notice_on_stderr() -> None:
    from oneshot_tui.core.activity import RetryNotice

    parser = executor("gemini").parser()
    line = b"Attempt 1 failed: Rate limit reached. Retrying after 2500ms...\n"
    [notice] = parser.feed_stderr(line)
    assert isinstance(notice, RetryNotice) and notice.delay == 2.5 and notice.attempt == 1
    assert parser.feed_stderr(b"YOLO mode is enabled.\n") == [
        RawLine("YOLO mode is enabled.", "stderr")
    ]


def test_cline_errors_read_as_their_message_not_a_dict_with_a_stack() -> None:
    error = {
        "ts": "t",
        "type": "agent_event",
        "event": {
            "type": "error",
            "error": {
                "name": "Error",
                "message": "Rate limit reached. Please try again in 2 hours.",
                "stack": "Error: Rate limit reached.\n    at execute (/$bunfs/root/chunk.js:1:2)",
            },
        },
    }
    [event] = parse("cline", json.dumps(error).encode() + b"\n")
    assert isinstance(event, AgentError)
    assert event.message == "Rate limit reached. Please try again in 2 hours."
    assert event.rate_limited and event.retry_after == 7200.0
    # Its top-level error line (on stderr) is read too.
    parser = executor("cline").parser()
    top = b'{"ts":"t","type":"error","message":"JSON output mode requires a prompt"}\n'
    assert parser.feed_stderr(top) == [AgentError("JSON output mode requires a prompt")]


def test_a_failed_tools_error_is_shown_whole_and_parallel_results_name_their_call() -> None:
    result = ToolResult(False, "Exit code 2\nE   assert 1 == 2\nFAILED tests/test_a.py::test_b")
    assert (describe(result) or "").splitlines() == [
        "◂ error  Exit code 2",
        "    E   assert 1 == 2",
        "    FAILED tests/test_a.py::test_b",
    ]
    call = ToolCall("Bash", "pytest -x", "c1")
    assert describe(ToolResult(True, "ok", "c1"), call=call) == "◂ ok  [Bash  pytest -x]  ok"


def test_the_error_lines_of_stderr_leave_out_stack_frames_and_noise() -> None:
    from oneshot_tui.agents.base import error_lines

    stderr = [
        "WARNING: proceeding, even though we could not create PATH aliases",
        "Error: database is locked",
        "    at open (/$bunfs/root/db.js:1:1)",
        "    at main (/$bunfs/root/index.js:2:2)",
        "bye",
    ]
    assert error_lines(stderr) == "Error: database is locked"
    assert error_lines(["all went fine", "then it stopped"]) == "all went fine | then it stopped"
