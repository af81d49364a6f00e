"""What runs cost and how they went, over a window of the history: the figures behind `stats`
and the TUI's stats screen.

One SQL pass over the window's runs joined with their tasks does it (the runs by their start
index, the tasks by their primary key), grouped in SQL by day, agent, model, run or task; a
second, cheaper one sums the runs themselves (wall time, counted once however they are grouped).
Every figure comes from the columns the live recorder keeps up to date, so a live run counts as
far as it has got.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping

from oneshot_tui.core.record import record

GROUPINGS: Mapping[str, str] = {
    "day": "date(runs.started, 'unixepoch', 'localtime')",
    "agent": "COALESCE(tasks.executor, CASE WHEN tasks.kind = 'command' THEN '(command)' END)",
    "model": "tasks.model",
    "run": "runs.id",
    "task": "tasks.name",
}
"""`--by` -> the SQL expression a task row is grouped by (NULL: not known, shown as "-")."""

VERDICTS = ("DONE", "RETRY", "IMPOSSIBLE")

_ENDED = "('completed', 'failed', 'interrupted')"

_FIGURES = f"""
    COUNT(DISTINCT runs.id) AS runs,
    COUNT(tasks.name) AS tasks,
    TOTAL(tasks.state = 'completed') AS completed,
    TOTAL(tasks.state = 'failed') AS failed,
    TOTAL(tasks.state = 'interrupted') AS interrupted,
    TOTAL(tasks.state NOT IN {_ENDED}) AS unfinished,
    TOTAL(tasks.attempts) AS attempts,
    TOTAL(tasks.restarts) AS restarts,
    TOTAL(tasks.retries) AS retries,
    TOTAL(tasks.duration) AS task_seconds,
    SUM(tasks.cpu_seconds) AS cpu_seconds,
    TOTAL(tasks.kind != 'command') AS agent_tasks,
    TOTAL(tasks.input_tokens) AS input_tokens,
    TOTAL(tasks.output_tokens) AS output_tokens,
    SUM(CASE WHEN NOT COALESCE(tasks.cost_estimated, 0) THEN tasks.cost_usd END) AS cost_measured,
    SUM(CASE WHEN tasks.cost_estimated THEN tasks.cost_usd END) AS cost_estimated,
    TOTAL(tasks.tool_calls) AS tool_calls,
    TOTAL(tasks.kind = 'loop') AS loops,
    TOTAL(tasks.iterations) AS iterations,
    {", ".join(f"TOTAL(tasks.verdict = '{v}') AS verdict_{v}" for v in VERDICTS)},
    MIN(runs.started) AS first_start
"""
# TOTAL (a float, 0.0 over no rows) for counts; SUM (NULL over no values) where "unknown" must
# not read as zero: CPU time a platform did not report, a cost no agent gave.


@record
class Figures:
    """The figures of one group of tasks (or of the whole window)."""

    key: str | None
    """The group: a day, agent, model, run id or task name; None for the whole window or a
    task whose agent or model is not known."""
    runs: int
    tasks: int
    states: dict[str, int]
    """completed, failed, interrupted, unfinished (still running or queued, or never started)."""
    attempts: int
    restarts: int
    """New attempts started by `restart` (by the user, the idle policy, a lost node)."""
    retries: int
    """Pauses before trying again after a rate or usage limit."""
    task_seconds: float
    """Wall time of the tasks, summed (a task's last attempt)."""
    cpu_seconds: float | None
    """CPU time of the tasks' processes, summed (None: none was measured)."""
    agent_tasks: int
    input_tokens: int
    output_tokens: int
    cost_measured: float | None
    """Cost the agents reported (None: none did)."""
    cost_estimated: float | None
    """Cost estimated from tokens and a price table where an agent reported none."""
    tool_calls: int
    loops: int
    iterations: int
    verdicts: dict[str, int]
    """Loop tasks by their last verdict."""
    first_start: float | None = None

    @property
    def ended(self) -> int:
        return self.tasks - self.states["unfinished"]

    @property
    def success_rate(self) -> float | None:
        """Completed tasks over tasks that ended (None: none has)."""
        return self.states["completed"] / self.ended if self.ended else None

    @property
    def cost(self) -> float | None:
        if self.cost_measured is None and self.cost_estimated is None:
            return None
        return (self.cost_measured or 0.0) + (self.cost_estimated or 0.0)

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@record
class Stats:
    """A window of the history: its totals, its groups, and how fast it spent."""

    since: float | None
    """Start of the window (None: the whole history)."""
    until: float
    """When the figures were read (the end of the window)."""
    by: str | None
    total: Figures
    groups: tuple[Figures, ...] = ()
    run_seconds: float = 0.0
    """Wall time of the runs themselves, summed (a live run up to `until`)."""

    @property
    def span(self) -> float:
        """Seconds the burn rate is taken over: from the window's start (or, for the whole
        history, its first run) to `until`."""
        start = self.since if self.since is not None else self.total.first_start
        return max(self.until - start, 0.0) if start is not None else 0.0

    def per_hour(self, amount: float | None) -> float | None:
        """`amount` spread over the window, per hour (None when there is no window yet)."""
        span = self.span
        if amount is None or span <= 0:
            return None
        return amount * 3600.0 / span


def _figures(row: sqlite3.Row, key: str | None) -> Figures:
    def count(name: str) -> int:
        return int(row[name] or 0)

    return Figures(
        key=key,
        runs=count("runs"),
        tasks=count("tasks"),
        states={s: count(s) for s in ("completed", "failed", "interrupted", "unfinished")},
        attempts=count("attempts"),
        restarts=count("restarts"),
        retries=count("retries"),
        task_seconds=float(row["task_seconds"] or 0.0),
        cpu_seconds=row["cpu_seconds"],
        agent_tasks=count("agent_tasks"),
        input_tokens=count("input_tokens"),
        output_tokens=count("output_tokens"),
        cost_measured=row["cost_measured"],
        cost_estimated=row["cost_estimated"],
        tool_calls=count("tool_calls"),
        loops=count("loops"),
        iterations=count("iterations"),
        verdicts={v: count(f"verdict_{v}") for v in VERDICTS},
        first_start=row["first_start"],
    )


def read_stats(
    conn: sqlite3.Connection | None,
    *,
    since: float | None,
    until: float,
    by: str | None = None,
    run_id: str | None = None,
) -> Stats:
    """The figures of the runs started since `since` (`run_id`: only that run's); `until` is
    when they are read (a live run's wall time runs to it; the burn rate is over since..until).
    `conn` reads rows by name (sqlite3.Row); None is an empty history."""
    if by is not None and by not in GROUPINGS:
        raise ValueError(f"cannot group by {by!r}: one of {', '.join(GROUPINGS)}")
    # `until` is not a bound: a run that started "later" (another host's clock) still counts.
    where: list[str] = ["1"]
    params: list[float | str] = []
    if since is not None:
        where.append("runs.started >= ?")
        params.append(since)
    if run_id is not None:
        where.append("runs.id = ?")
        params.append(run_id)
    condition = " AND ".join(where)
    joined = f"FROM runs LEFT JOIN tasks ON tasks.run_id = runs.id WHERE {condition}"
    if conn is None:
        return Stats(since, until, by, _figures_of_nothing())
    total = _figures(conn.execute(f"SELECT {_FIGURES} {joined}", params).fetchone(), None)
    run_seconds = conn.execute(
        f"SELECT TOTAL(COALESCE(ended, MAX(?, started)) - started) FROM runs WHERE {condition}",
        [until, *params],
    ).fetchone()[0]
    groups: tuple[Figures, ...] = ()
    if by is not None:
        key = GROUPINGS[by]
        rows = conn.execute(
            f"SELECT {key} AS key, {_FIGURES} {joined} GROUP BY 1 ORDER BY 1", params
        ).fetchall()
        groups = tuple(
            _figures(row, None if row["key"] is None else str(row["key"])) for row in rows
        )
    return Stats(since, until, by, total, groups, float(run_seconds))


def _figures_of_nothing() -> Figures:
    return Figures(
        key=None,
        runs=0,
        tasks=0,
        states=dict.fromkeys(("completed", "failed", "interrupted", "unfinished"), 0),
        attempts=0,
        restarts=0,
        retries=0,
        task_seconds=0.0,
        cpu_seconds=None,
        agent_tasks=0,
        input_tokens=0,
        output_tokens=0,
        cost_measured=None,
        cost_estimated=None,
        tool_calls=0,
        loops=0,
        iterations=0,
        verdicts=dict.fromkeys(VERDICTS, 0),
    )
