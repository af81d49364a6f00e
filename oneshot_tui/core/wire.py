"""Bus events on the wire: one JSON object per event, the schema of `run --json`, `events` and a
live run's control socket (documented, versioned, in docs/protocol.md). Encoding and decoding are
tables with one entry per event type, so a new event is one encoder and one decoder, and
`decode(encode(e))` gives `e` back (tests/unit/test_wire.py). Readers ignore events and keys they
do not know.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict
from typing import Any

from oneshot_tui.core.activity import ACTIVITY_STREAM, AgentTotals
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
from oneshot_tui.core.states import TaskState
from oneshot_tui.core.worktree import DiffStat, WorktreeInfo, WorktreeSummary

Fields = dict[str, Any]
Obj = Mapping[str, Any]

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_quote: Callable[[str], str] = json.encoder.encode_basestring
"""A JSON string literal (C-accelerated): output lines are encoded by hand around it."""


# -- pieces shared by several events ----------------------------------------------------------


def totals_json(totals: AgentTotals | None) -> Fields | None:
    return None if totals is None else asdict(totals)


def _totals(data: Any) -> AgentTotals | None:
    return None if not isinstance(data, Mapping) else AgentTotals(**_known(AgentTotals, data))


def worktree_json(info: WorktreeInfo) -> Fields:
    return asdict(info)


def _worktree(obj: Obj) -> WorktreeInfo:
    return WorktreeInfo(**_known(WorktreeInfo, obj))


def worktree_result_json(summary: WorktreeSummary | None) -> Fields | None:
    """A worktree summary: the worktree's fields, then what changed in it."""
    if summary is None:
        return None
    data = asdict(summary)
    return {**data.pop("worktree"), **data}


def _worktree_result(obj: Obj | None) -> WorktreeSummary | None:
    if not isinstance(obj, Mapping):
        return None
    stats = {k: DiffStat(**obj[k]) for k in ("committed", "uncommitted", "total") if obj.get(k)}
    return WorktreeSummary(
        _worktree(obj),
        obj.get("final_commit"),
        obj.get("commits", 0),
        error=obj.get("error", ""),
        **stats,
    )


def _known(cls: type, data: Obj) -> Fields:
    names = cls.__dataclass_fields__  # type: ignore[attr-defined]
    return {k: v for k, v in data.items() if k in names}


def result_json(r: TaskResult) -> Fields:
    return {
        "task": r.task_id,
        "state": str(r.state),
        "exit_code": r.exit_code,
        "signal": r.signal,
        "attempts": r.attempts,
        "duration": None if r.duration is None else round(r.duration, 3),
        "log": r.log_path,
        "reason": r.reason,
        "totals": totals_json(r.totals),
        "worktree": worktree_result_json(r.worktree),
        "attention": r.attention,
    }


def _result(obj: Obj) -> TaskResult:
    return TaskResult(
        obj["task"],
        TaskState(obj["state"]),
        obj.get("exit_code"),
        obj.get("signal"),
        obj.get("attempts", 0),
        obj.get("duration"),
        obj.get("log"),
        obj.get("reason", ""),
        _totals(obj.get("totals")),
        _worktree_result(obj.get("worktree")),
        obj.get("attention", ""),
    )


# -- the tables ------------------------------------------------------------------------------

Encoder = Callable[[Any], Fields]
Decoder = Callable[[Obj], Event]

ENCODERS: dict[type, tuple[str, Encoder]] = {
    TaskAdded: (
        "task_added",
        lambda e: {
            "command": e.command,
            "kind": e.kind,
            "cwd": e.cwd,
            "scrollback": e.scrollback,
            **({"group": e.group} if e.group else {}),  # best of N only
            "pty": e.pty,
        },
    ),
    LiveLines: ("live", lambda e: {"attempt": e.attempt, "lines": list(e.lines)}),
    OutputTail: (
        "output_tail",
        lambda e: {"attempt": e.attempt, "lines": list(e.lines), "last_output": e.last_output_ts},
    ),
    StateChanged: (
        "state",
        lambda e: {
            "attempt": e.attempt,
            "reason": e.reason,
            "from": str(e.source),
            "to": str(e.target),
            "transition": e.event,
        },
    ),
    ProcessStarted: (
        "process",
        lambda e: {
            "attempt": e.attempt,
            "pid": e.pid,
            "log": e.log_path,
            "label": e.label,
            **({"node": e.node} if e.node else {}),  # only for a process on a cluster node
        },
    ),
    Activity: (
        "activity",
        lambda e: {
            "attempt": e.attempt,
            "kind": e.kind,
            "text": e.text,
            "data": e.data,
            "label": e.label,
        },
    ),
    TotalsChanged: ("totals", lambda e: {"attempt": e.attempt, **asdict(e.totals)}),
    RetryScheduled: (
        "retry",
        lambda e: {
            "attempt": e.attempt,
            "delay": e.delay,
            "resume_at": round(e.resume_at, 6),
            "reason": e.reason,
            "retry": e.retry,
            "retries": e.retries,
            "by_agent": e.by_agent,
            **({"restart": True} if e.restart else {}),  # a restart policy's wait
        },
    ),
    MessageSent: (
        "message",
        lambda e: {
            "attempt": e.attempt,
            "id": e.message_id,
            "text": e.text,
            "state": e.state,
        },
    ),
    AttentionChanged: (
        "attention",
        lambda e: {"attempt": e.attempt, "needed": e.needed, "reason": e.reason},
    ),
    TaskWaiting: ("waiting", lambda e: {"attempt": e.attempt, "on": e.on}),
    TaskReady: ("ready", lambda e: {"attempt": e.attempt, "reason": e.reason}),
    JudgeVerdict: (
        "judge_verdict",
        lambda e: {
            "attempt": e.attempt,
            "winner": e.winner,
            "reasons": e.reasons,
            "losers": list(e.losers),
            "removed": list(e.removed),
        },
    ),
    AgentChosen: (
        "agent",
        lambda e: {
            "attempt": e.attempt,
            "agent": e.agent,
            "previous": e.previous,
            "reason": e.reason,
        },
    ),
    LoopPhase: (
        "loop_phase",
        lambda e: {
            "attempt": e.attempt,
            "oneshot_id": e.oneshot_id,
            "role": e.role,
            "iteration": e.iteration,
            "max_iterations": e.max_iterations,
        },
    ),
    LoopVerdict: (
        "verdict",
        lambda e: {
            "attempt": e.attempt,
            "oneshot_id": e.oneshot_id,
            "iteration": e.iteration,
            "verdict": e.verdict,
            "feedback": e.feedback,
            "well_formed": e.well_formed,
            "answer": e.answer,
        },
    ),
    WorktreeReady: (
        "worktree",
        lambda e: {"attempt": e.attempt, "reused": e.reused, **worktree_json(e.worktree)},
    ),
    WorktreeFinished: (
        "worktree_result",
        lambda e: {"attempt": e.attempt, **(worktree_result_json(e.summary) or {})},
    ),
    TaskExited: (
        "exit",
        lambda e: {
            "exit_code": e.exit_code,
            "signal": e.signal,
            "state": str(e.state),
            "attempt": e.attempt,
            "duration": round(e.duration, 3),
            "reason": e.reason,
            "totals": totals_json(e.totals),
            "attention": e.attention,
            "cpu_seconds": None if e.cpu_seconds is None else round(e.cpu_seconds, 3),
        },
    ),
    RunStarted: (
        "run_started",
        lambda e: {
            "tasks": list(e.task_ids),
            "log_dir": e.log_dir,
            "max_concurrent": e.max_concurrent,
        },
    ),
    RunFinished: (
        "run_finished",
        lambda e: {
            "exit_code": e.exit_code,
            "signal": e.signal,
            "results": [result_json(r) for r in e.results],
        },
    ),
}

DECODERS: dict[str, Decoder] = {
    "task_added": lambda o: TaskAdded(
        o["task"],
        o["ts"],
        o.get("command", ""),
        o.get("kind", "command"),
        o.get("cwd"),
        o.get("scrollback", 10_000),
        o.get("group", ""),
        bool(o.get("pty", False)),
    ),
    "live": lambda o: LiveLines(o["task"], o.get("attempt", 1), o["ts"], tuple(o["lines"])),
    "output_tail": lambda o: OutputTail(
        o["task"], o.get("attempt", 1), o["ts"], tuple(o["lines"]), o.get("last_output")
    ),
    "state": lambda o: StateChanged(
        o["task"],
        o.get("attempt", 1),
        TaskState(o["from"]),
        TaskState(o["to"]),
        o["ts"],
        o.get("reason", ""),
        o.get("transition", ""),
    ),
    "process": lambda o: ProcessStarted(
        o["task"],
        o.get("attempt", 1),
        o["pid"],
        o["ts"],
        o.get("log", ""),
        o.get("label", ""),
        o.get("node", ""),
    ),
    "output": lambda o: (
        Output(o["task"], o.get("attempt", 1), o.get("stream", "stdout"), o["line"], 1, o["ts"])
        if "line" in o
        else Output(
            o["task"],
            o.get("attempt", 1),
            o.get("stream", "stdout"),
            o["text"],
            o["count"],
            o["ts"],
            o.get("missed", 0),
        )
    ),
    "output_missed": lambda o: Output(
        o["task"], o.get("attempt", 1), o.get("stream", "stdout"), "", 0, o["ts"], o["lines"]
    ),
    "activity": lambda o: Activity(
        o["task"],
        o.get("attempt", 1),
        o["ts"],
        o["kind"],
        o.get("text", ""),
        dict(o.get("data") or {}),
        o.get("label", ""),
    ),
    "totals": lambda o: TotalsChanged(
        o["task"], o.get("attempt", 1), o["ts"], AgentTotals(**_known(AgentTotals, o))
    ),
    "retry": lambda o: RetryScheduled(
        o["task"],
        o.get("attempt", 1),
        o["ts"],
        o["delay"],
        o["resume_at"],
        o.get("reason", ""),
        o.get("retry", 1),
        o.get("retries", 1),
        o.get("by_agent", False),
        o.get("restart", False),
    ),
    "message": lambda o: MessageSent(
        o["task"], o.get("attempt", 1), o["ts"], o["id"], o["text"], o["state"]
    ),
    "attention": lambda o: AttentionChanged(
        o["task"], o.get("attempt", 1), o["ts"], o["needed"], o.get("reason", "")
    ),
    "waiting": lambda o: TaskWaiting(o["task"], o.get("attempt", 1), o["ts"], o.get("on", "")),
    "ready": lambda o: TaskReady(o["task"], o.get("attempt", 1), o["ts"], o.get("reason", "")),
    "judge_verdict": lambda o: JudgeVerdict(
        o["task"],
        o.get("attempt", 1),
        o["ts"],
        o["winner"],
        o.get("reasons", ""),
        tuple(o.get("losers", ())),
        tuple(o.get("removed", ())),
    ),
    "agent": lambda o: AgentChosen(
        o["task"],
        o.get("attempt", 1),
        o["ts"],
        o["agent"],
        o.get("previous", ""),
        o.get("reason", ""),
    ),
    "loop_phase": lambda o: LoopPhase(
        o["task"],
        o.get("attempt", 1),
        o["ts"],
        o.get("oneshot_id", ""),
        o["role"],
        o["iteration"],
        o["max_iterations"],
    ),
    "verdict": lambda o: LoopVerdict(
        o["task"],
        o.get("attempt", 1),
        o["ts"],
        o.get("oneshot_id", ""),
        o["iteration"],
        o["verdict"],
        o.get("feedback", ""),
        o.get("well_formed", True),
        o.get("answer", ""),
    ),
    "worktree": lambda o: WorktreeReady(
        o["task"], o.get("attempt", 1), o["ts"], _worktree(o), o.get("reused", False)
    ),
    "worktree_result": lambda o: WorktreeFinished(
        o["task"],
        o.get("attempt", 1),
        o["ts"],
        _worktree_result(o),  # type: ignore[arg-type]
    ),
    "exit": lambda o: TaskExited(
        o["task"],
        o.get("attempt", 1),
        o["ts"],
        TaskState(o["state"]),
        o.get("exit_code"),
        o.get("signal"),
        o.get("duration", 0.0),
        o.get("reason", ""),
        _totals(o.get("totals")),
        o.get("attention", ""),
        o.get("cpu_seconds"),
    ),
    "run_started": lambda o: RunStarted(
        o["run"],
        o["ts"],
        o.get("log_dir", ""),
        tuple(o.get("tasks", ())),
        o.get("max_concurrent", 0),
    ),
    "run_finished": lambda o: RunFinished(
        o["run"],
        o["ts"],
        o["exit_code"],
        tuple(_result(r) for r in o.get("results", ())),
        o.get("signal"),
    ),
}


# -- encoding and decoding ---------------------------------------------------------------------


class WireEncoder:
    """Events of one run to JSON lines (no newline at the end of each).

    `batch` (for a client that asked for it, never `--json`) sends an `Output` of many lines as
    one object, `text` (the lines joined by newlines), `count` and `missed`: one JSON string to
    encode and decode instead of one object a line. Such a client (a viewer: the TUI) also gets
    an agent's readable activity lines (stream "activity"), which `--json` leaves out."""

    def __init__(self, run_id: str, *, batch: bool = False) -> None:
        self.run_id = run_id
        self._run = _quote(run_id)
        self._batch = batch

    def encode(self, event: Event) -> Iterator[str]:
        """The event's JSON objects: one, or for `Output` one a line (none for an agent's
        activity lines, which its `activity` events already carry)."""
        if type(event) is Output:
            yield from self._output(event)
            return
        name, encoder = ENCODERS[type(event)]
        task = getattr(event, "task_id", None)
        yield _dumps(
            {
                "ts": round(event.ts, 6),
                "run": self.run_id,
                "task": task,
                "event": name,
                **encoder(event),
            }
        )

    def _output(self, e: Output) -> Iterator[str]:
        if e.stream == ACTIVITY_STREAM and not self._batch:
            return  # `--json` readers have the `activity` events; a viewer gets the lines too
        # By hand: this is the one event of a flood, and `_dumps` of a dict a line costs 5x more.
        head = f'{{"ts":{round(e.ts, 6)!r},"run":{self._run},"task":{_quote(e.task_id)},"event":'
        tail = f',"stream":{_quote(e.stream)},"attempt":{e.attempt}}}'
        if self._batch:
            missed = f',"missed":{e.missed}' if e.missed else ""
            yield f'{head}"output","text":{_quote(e.text)},"count":{e.lines}{missed}{tail}'
            return
        if e.missed:
            yield f'{head}"output_missed","lines":{e.missed}{tail}'
        for line in e.split():
            yield f'{head}"output","line":{_quote(line)}{tail}'


def decode(obj: Obj) -> Event | None:
    """The event a wire object stands for; None for an event this version does not know.

    Raises KeyError, ValueError or TypeError for an object that claims a known event but is not
    one (a reader should say so, not guess)."""
    decoder = DECODERS.get(str(obj.get("event")))
    return None if decoder is None else decoder(obj)
