"""The wire schema (core/wire.py): every event type has an encoder and a decoder, and decoding
what was encoded gives the same event back (the TUI of a live run and `events` rely on it)."""

from __future__ import annotations

import json
import typing

import pytest

from oneshot_tui.core.activity import AgentTotals
from oneshot_tui.core.events import (
    Activity,
    AgentChosen,
    AttentionChanged,
    Event,
    JudgeVerdict,
    LiveLines,
    LoopPhase,
    LoopVerdict,
    MessageSent,
    Output,
    OutputTail,
    ProcessStarted,
    RetryScheduled,
    RunFinished,
    RunStarted,
    StateChanged,
    TaskAdded,
    TaskExited,
    TaskReady,
    TaskResult,
    TaskWaiting,
    TotalsChanged,
    WorktreeFinished,
    WorktreeReady,
)
from oneshot_tui.core.states import TaskState as S
from oneshot_tui.core.wire import DECODERS, ENCODERS, WireEncoder, decode
from oneshot_tui.core.worktree import DiffStat, WorktreeInfo, WorktreeSummary

TS = 1764612345.123456
INFO = WorktreeInfo("/repo", "/wt/x", "oneshot/r/x", "abc123", "main", "/wt/x/sub")
SUMMARY = WorktreeSummary(
    INFO, "def456", 2, DiffStat(3, 10, 2), DiffStat(1, 1, 0), DiffStat(4, 11, 2)
)
TOTALS = AgentTotals(1200, 340, 0.0123, 4, True, 1)

SAMPLES: list[Event] = [
    TaskAdded("x", TS, "make test", "command", "/src", 500),
    TaskAdded("x#2", TS, "claude fix", "agent", "/src", 500, group="x"),
    TaskAdded("p", TS, "htop", "command", None, 500, pty=True),
    StateChanged("x", 2, S.RUNNING, S.IDLE, TS, "no output for 30s", "went_idle"),
    ProcessStarted("x", 1, 4242, TS, "/logs/x.log", "worker #1", "10.0.0.2"),
    Output("x", 1, "stderr", 'one line, ünïcödé "quoted" \\ \t', 1, TS),
    Output("x", 3, "stdout", "", 0, TS, 17),
    OutputTail("x", 2, TS, ("last", "lines \x1b[31mred\x1b[0m"), TS - 5),
    LiveLines("x", 2, TS, ("downloading \x1b[32m 42%\x1b[0m", "")),
    Activity("x", 1, TS, "tool_call", "▸ Bash  ls", {"name": "Bash", "input": {"cmd": "ls"}}, "w"),
    TotalsChanged("x", 1, TS, TOTALS),
    MessageSent("x", 2, TS, 3, 'also update the docs\n\nand "quote" this', "queued"),
    AttentionChanged("x", 1, TS, True, "2 tool calls denied"),
    RetryScheduled("x", 1, TS, 30.0, TS + 30, "rate limited", 1, 3, True),
    RetryScheduled("x", 2, TS, 4.0, TS + 4, "exit 1", 3, 5, restart=True),
    TaskWaiting("x", 1, TS, "build (completed), db (ready)"),
    TaskReady("x", 1, TS, 'line matched: "listening on :8080"'),
    JudgeVerdict("x", 1, TS, "x#2", "it has the test", ("x#1", "x#3"), ("x#1",)),
    AgentChosen("x", 1, TS, "codex", "claude", "claude: usage limit, wait 2h over 1h"),
    LoopPhase("x", 1, TS, "os-1", "auditor", 2, 3),
    LoopVerdict("x", 1, TS, "os-1", 2, "RETRY", "the format", False, "**Verdict:** RETRY"),
    WorktreeReady("x", 2, TS, INFO, True),
    WorktreeFinished("x", 1, TS, SUMMARY),
    TaskExited("x", 1, TS, S.FAILED, 3, None, 1.25, "exit 3", TOTALS, "2 tool calls denied", 0.375),
    RunStarted("run-1", TS, "/logs", ("x", "y"), 8),
    RunFinished(
        "run-1",
        TS,
        143,
        (
            TaskResult(
                "x",
                S.INTERRUPTED,
                None,
                15,
                2,
                1.5,
                "/logs/x.2.log",
                "stopped",
                TOTALS,
                SUMMARY,
                "denied",
            ),
            TaskResult("y", S.CREATED, None, None, 0, None, None),
        ),
        15,
    ),
]


def test_every_event_type_has_an_encoder_a_decoder_and_a_sample() -> None:
    types = set(typing.get_args(Event))
    assert types == set(ENCODERS) | {Output}
    assert {type(e) for e in SAMPLES} == types
    names = {name for name, _ in ENCODERS.values()} | {"output", "output_missed"}
    assert names == set(DECODERS)


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: type(e).__name__)
def test_decoding_what_was_encoded_gives_the_event_back(event: Event) -> None:
    run = getattr(event, "run_id", "run-1")
    (line,) = WireEncoder(run).encode(event)
    obj = json.loads(line)
    assert list(obj)[:4] == ["ts", "run", "task", "event"]
    assert decode(obj) == event


def test_output_is_one_object_a_line_after_what_was_missed() -> None:
    event = Output("t", 1, "stdout", "a\nb\nc", 3, TS, missed=5)
    objs = [json.loads(line) for line in WireEncoder("r").encode(event)]
    assert [o["event"] for o in objs] == ["output_missed", "output", "output", "output"]
    assert objs[0]["lines"] == 5 and [o["line"] for o in objs[1:]] == ["a", "b", "c"]
    assert [decode(o) for o in objs[1:]] == [Output("t", 1, "stdout", x, 1, TS) for x in "abc"]


def test_a_batching_reader_gets_output_as_one_object() -> None:
    event = Output("t", 2, "stderr", 'a\nb "q"\nc', 3, TS, missed=4)
    (line,) = WireEncoder("r", batch=True).encode(event)
    obj = json.loads(line)
    assert obj["event"] == "output" and obj["count"] == 3 and obj["missed"] == 4
    assert decode(obj) == event


def test_an_agents_display_lines_are_not_repeated_as_output_but_a_viewer_gets_them() -> None:
    lines = Output("t", 1, "activity", "▸ Bash", 1, TS)
    assert list(WireEncoder("r").encode(lines)) == []
    (line,) = WireEncoder("r", batch=True).encode(lines)
    assert decode(json.loads(line)) == lines


def test_unknown_events_decode_to_none_and_a_broken_known_one_raises() -> None:
    assert decode({"event": "from_the_future", "ts": TS}) is None
    with pytest.raises(KeyError):
        decode({"event": "state", "ts": TS, "task": "x"})
