"""Plain-text formatting of results, shared by the headless summary and the TUI's exit summary.

What came from outside (names, reasons, paths) is shown escaped, one line each (`one_line`).
"""

from __future__ import annotations

import os
import signal
import unicodedata
from collections.abc import Sequence

from oneshot_tui.core.events import TaskResult
from oneshot_tui.core.printable import one_line


def duration(seconds: float | None) -> str:
    """1.2s, 42s, 3m04s, 2h05m."""
    if seconds is None:
        return "-"
    if seconds < 10:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def exit_text(exit_code: int | None, sig: int | None) -> str:
    if sig is not None:
        try:
            return signal.Signals(sig).name
        except ValueError:
            return f"signal {sig}"
    return "-" if exit_code is None else str(exit_code)


SUMMARY_HEADERS = ("TASK", "STATE", "EXIT", "TIME", "TRIES", "LOG")
AGENT_HEADERS = ("TOKENS", "COST", "TOOLS")
"""Columns added (before LOG) when some task is an agent task."""
WORKTREE_HEADERS = ("TASK", "BRANCH", "CHANGES", "WORKTREE")
"""The table of worktree tasks, under the summary: what each changed, and where."""


def usage_cells(result: TaskResult) -> tuple[str, str, str]:
    t = result.totals
    if t is None:
        return ("-", "-", "-")
    from oneshot_tui.core.activity import cost, tokens  # agent tasks only

    return (tokens(t.tokens), "-" if t.cost_usd is None else cost(t.cost_usd), str(t.tool_calls))


def summary_headers(results: Sequence[TaskResult]) -> tuple[str, ...]:
    if any(r.totals is not None for r in results):
        return (*SUMMARY_HEADERS[:-1], *AGENT_HEADERS, SUMMARY_HEADERS[-1])
    return SUMMARY_HEADERS


def summary_rows(results: Sequence[TaskResult], log_dir: str = "") -> list[tuple[str, ...]]:
    """One row per task; with `log_dir`, the logs in it are shown by file name only."""
    agents = any(r.totals is not None for r in results)
    return [
        (
            one_line(r.task_id),
            str(r.state),
            exit_text(r.exit_code, r.signal),
            duration(r.duration),
            str(r.attempts),
            *(usage_cells(r) if agents else ()),
            one_line(_log_cell(r.log_path, log_dir)),
        )
        for r in results
    ]


def _log_cell(path: str | None, log_dir: str) -> str:
    if not path:
        return "-"
    return os.path.basename(path) if log_dir and os.path.dirname(path) == log_dir else path


def cell_width(text: str) -> int:
    """Terminal cells `text` takes: wide characters (CJK, most emoji) two, combining marks and
    zero-width joiners none (stdlib only: the headless summary loads no Rich)."""
    cells = 0
    for char in text:
        if unicodedata.combining(char) or char in "\u200b\u200c\u200d\ufe0f":
            continue
        cells += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return cells


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Left-aligned columns separated by two spaces, aligned by cells (a wide emoji in a name
    does not shift its row); the last column is not padded."""
    widths = [
        max(cell_width(h), *(cell_width(row[i]) for row in rows)) for i, h in enumerate(headers)
    ]
    lines = []
    for row in (tuple(headers), *rows):
        cells = [
            cell + " " * (w - cell_width(cell)) for cell, w in zip(row[:-1], widths, strict=False)
        ]
        lines.append("  ".join([*cells, row[-1]]))
    return lines


def log_dir_of(results: Sequence[TaskResult]) -> str:
    """The one directory every task's log is in ("" when they are not all in one)."""
    dirs = {os.path.dirname(r.log_path) for r in results if r.log_path}
    return dirs.pop() if len(dirs) == 1 else ""


def worktree_rows(results: Sequence[TaskResult]) -> list[tuple[str, ...]]:
    """Branch, commits and diff stat of each task that ran in a worktree."""
    return [
        (one_line(r.task_id), w.branch, w.changes_text(), one_line(w.worktree.path))
        for r in results
        if (w := r.worktree) is not None
    ]


def summary_lines(results: Sequence[TaskResult]) -> list[str]:
    # The log directory once, under the table: full paths made every row wrap at 80 columns.
    log_dir = log_dir_of(results)
    lines = render_table(summary_headers(results), summary_rows(results, log_dir))
    if log_dir:
        lines.append(f"logs in {log_dir}/")
    # A completed task has a reason worth a line only when its log is gone (deleted mid-run).
    reasons = [
        (r.task_id, r.reason)
        for r in results
        if r.reason and (r.state != "completed" or r.log_path is None)
    ]
    for task_id, reason in reasons:
        lines.append(f"  {one_line(task_id)}: {one_line(reason)}")
    worktrees = worktree_rows(results)
    if worktrees:
        lines.extend(["", *render_table(WORKTREE_HEADERS, worktrees)])
    return lines


def verdict_line(run_id: str, exit_code: int, sig: int | None) -> str:
    """The summary's last line: `run ID: all tasks completed` or `run ID: exit 1`."""
    verdict = "all tasks completed" if exit_code == 0 else f"exit {exit_code}"
    if sig is not None:
        verdict += f" (stopped by {exit_text(None, sig)})"
    return f"run {run_id}: {verdict}"
