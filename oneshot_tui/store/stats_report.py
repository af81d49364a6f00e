"""Stats as people and programs read them: JSON, and plain-text lines aligned by terminal cells.
Shared by `oneshot-tui stats` and the TUI's stats screen."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from oneshot_tui.core.activity import cost, tokens
from oneshot_tui.core.cells import cell_width, pad
from oneshot_tui.core.report import duration
from oneshot_tui.store.stats import Figures, Stats


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


# -- JSON ------------------------------------------------------------------------------------------


def figures_json(f: Figures) -> dict[str, Any]:
    doc = asdict(f)
    doc.pop("first_start")
    doc["ended"] = f.ended
    doc["success_rate"] = f.success_rate
    doc["tokens"] = f.tokens
    doc["cost_usd"] = f.cost
    return doc


def stats_json(stats: Stats) -> dict[str, Any]:
    total = stats.total
    return {
        "since": stats.since,
        "until": stats.until,
        "by": stats.by,
        "window_seconds": stats.span,
        "run_seconds": stats.run_seconds,
        "total": figures_json(total),
        "burn": {
            "cost_usd_per_hour": stats.per_hour(total.cost),
            "tokens_per_hour": stats.per_hour(total.tokens),
            "cpu_seconds_per_hour": stats.per_hour(total.cpu_seconds),
        },
        "groups": [figures_json(g) for g in stats.groups],
    }


# -- text ------------------------------------------------------------------------------------------


def _cost(value: float | None) -> str:
    return "-" if value is None else cost(value)


def _tokens(value: float | None) -> str:
    return "-" if value is None else tokens(int(value))


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}%"


def summary_pairs(stats: Stats) -> list[tuple[str, str]]:
    """The window's figures as (label, value) lines, the same in the CLI and the TUI."""
    f = stats.total
    states = f.states
    pairs = [
        ("runs", str(f.runs)),
        (
            "tasks",
            f"{f.tasks}: {states['completed']} completed, {states['failed']} failed, "
            f"{states['interrupted']} interrupted, {states['unfinished']} not ended",
        ),
        ("success rate", _percent(f.success_rate)),
        ("attempts", f"{f.attempts} ({f.restarts} restarts, {f.retries} retries after limits)"),
        ("wall time", f"{duration(stats.run_seconds)} runs, {duration(f.task_seconds)} tasks"),
        ("CPU time", duration(f.cpu_seconds)),
    ]
    if f.agent_tasks:
        pairs += [
            ("agent tasks", str(f.agent_tasks)),
            ("tokens", f"{_tokens(f.input_tokens)} in, {_tokens(f.output_tokens)} out"),
            (
                "cost",
                f"{_cost(f.cost)} ({_cost(f.cost_measured)} reported, "
                f"{_cost(f.cost_estimated)} estimated)",
            ),
            ("tool calls", str(f.tool_calls)),
        ]
    if f.loops:
        verdicts = ", ".join(f"{n} {v}" for v, n in f.verdicts.items())
        pairs.append(("loops", f"{f.loops}: {f.iterations} iterations; verdicts {verdicts}"))
    rate = stats.per_hour(f.cost)
    burn = [f"{_cost(rate)}/h" if rate is not None else ""]
    tok_rate = stats.per_hour(f.tokens) if f.agent_tasks else None
    if tok_rate is not None:
        burn.append(f"{_tokens(tok_rate)} tok/h")
    cpu_rate = stats.per_hour(f.cpu_seconds)
    if cpu_rate is not None:
        burn.append(f"{duration(cpu_rate)} CPU/h")
    burn_text = ", ".join(b for b in burn if b) or "-"
    pairs.append(("burn rate", f"{burn_text} over {duration(stats.span)}"))
    return pairs


GROUP_HEADERS = (
    "RUNS",
    "TASKS",
    "OK",
    "FAILED",
    "SUCCESS",
    "RESTARTS",
    "RETRIES",
    "TIME",
    "CPU",
    "IN",
    "OUT",
    "COST",
    "EST",
    "TOOLS",
    "ITER",
)


def group_row(f: Figures) -> tuple[str, ...]:
    return (
        "-" if f.key is None else f.key,
        str(f.runs),
        str(f.tasks),
        str(f.states["completed"]),
        str(f.states["failed"]),
        _percent(f.success_rate),
        str(f.restarts),
        str(f.retries),
        duration(f.task_seconds),
        duration(f.cpu_seconds),
        _tokens(f.input_tokens),
        _tokens(f.output_tokens),
        _cost(f.cost_measured),
        _cost(f.cost_estimated),
        str(f.tool_calls),
        str(f.iterations),
    )


def aligned(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A table by terminal cells (a task named in CJK stays in line): the first column on the
    left, the figures on the right."""
    table = [tuple(headers), *map(tuple, rows)]
    widths = [max(cell_width(row[i]) for row in table) for i in range(len(headers))]
    return [
        "  ".join(
            pad(cell, width, right=i > 0)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in table
    ]


def stats_lines(stats: Stats) -> list[str]:
    start = "the first run" if stats.since is None else _when(stats.since)
    lines = [f"from {start} to {_when(stats.until)}", ""]
    pairs = summary_pairs(stats)
    width = max(len(label) for label, _ in pairs)
    lines += [f"{pad(label, width)}  {value}" for label, value in pairs]
    if stats.by is not None:
        lines.append("")
        lines += aligned((stats.by.upper(), *GROUP_HEADERS), [group_row(g) for g in stats.groups])
    return lines


def totals_line(f: Figures) -> str:
    """One run's totals on one line (the TUI's history list): what is known, most telling
    first, e.g. `3 tasks: 2 completed, 1 failed · 67% · 1.2k in / 300 out tok · $0.012`."""
    states = f.states
    done = ", ".join(
        f"{n} {state if state != 'unfinished' else 'not ended'}" for state, n in states.items() if n
    )
    parts = [f"{f.tasks} task{'s' if f.tasks != 1 else ''}" + (f": {done}" if done else "")]
    if f.success_rate is not None:
        parts.append(_percent(f.success_rate))
    if f.restarts or f.retries:
        parts.append(f"{f.restarts} restarts, {f.retries} retries")
    parts.append(f"{duration(f.task_seconds)} tasks")
    # Not the CPU time: the stats screen has it (measured, it is never the same twice, and a
    # screenshot of this line is compared with the last one).
    if f.agent_tasks:
        parts.append(f"{_tokens(f.input_tokens)} in / {_tokens(f.output_tokens)} out tok")
        if f.cost is not None:
            estimate = "~" if f.cost_estimated else ""
            parts.append(estimate + _cost(f.cost))
        parts.append(f"{f.tool_calls} tool{'s' if f.tool_calls != 1 else ''}")
    if f.loops:
        parts.append(f"{f.iterations} iterations")
    return " · ".join(parts)
