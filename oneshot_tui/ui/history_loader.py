"""Past runs for the history screens: what the history says, and the ends of their log files.

Plain functions, no widgets: they do file and SQLite I/O, so the screens call them from thread
workers, never on the UI's thread. A log is never read whole: only its last `TAIL_BYTES` (and of
those the last `scrollback` lines), so a 1 GB log costs what a 4 MB one does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from oneshot_tui.core.activity import AgentTotals
from oneshot_tui.runner.output import LineSplitter
from oneshot_tui.store.history import History
from oneshot_tui.store.history_data import RunRecord, TaskRecord
from oneshot_tui.store.stats import Figures, Stats
from oneshot_tui.ui.buffer import LineBuffer
from oneshot_tui.ui.model import RunModel, TaskInfo

TAIL_BYTES = 4 * 1024 * 1024
"""At most this much of a task's logs (all attempts together) is read to show its output."""
PAST_SCROLLBACK = 10_000
"""Lines of a past task kept in its pane (the live default scrollback)."""


def list_runs_with_totals(
    data_dir: Path, limit: int, now: float
) -> tuple[list[RunRecord], dict[str, Figures]]:
    """The most recent runs, newest first (empty if there is no history yet), and each one's
    totals (tokens, cost, ...): one more query, over the window the runs span.

    Raises `HistoryError` if the file exists but cannot be read."""
    with History.open(data_dir) as reader:
        runs = reader.list_runs(limit)
        if not runs:
            return runs, {}
        stats = reader.stats(since=min(r.started for r in runs), until=now, by="run")
    return runs, {g.key: g for g in stats.groups if g.key is not None}


def load_stats(data_dir: Path, since: float | None, until: float, by: str | None) -> Stats:
    """The stats of a window, as `oneshot-tui stats` reads them."""
    with History.open(data_dir) as reader:
        return reader.stats(since=since, until=until, by=by)


@dataclass(frozen=True, slots=True)
class RecordedRun:
    """One run as the history recorded it."""

    run: RunRecord
    tasks: list[TaskRecord]
    logs: dict[str, list[tuple[int, Path]]] = field(default_factory=dict)
    """Task name -> (attempt number, log file) for each attempt that started, in order."""


def load_run(data_dir: Path, run_id: str) -> RecordedRun:
    """The run, its tasks and their log files. Raises `HistoryError` (and `RunNotFound`)."""
    with History.open(data_dir) as reader:
        run = reader.run(run_id)
        tasks = reader.tasks(run_id)
        logs: dict[str, list[tuple[int, Path]]] = {}
        for attempt in reader.attempts(run_id):
            if attempt.log_path is not None:
                logs.setdefault(attempt.task, []).append((attempt.attempt, attempt.log_path))
    return RecordedRun(run, tasks, logs)


def agent_line(task: TaskRecord) -> str:
    """`claude sonnet · 2 iterations · verdict DONE`: what the history knows of an agent task."""
    agent = task.agent
    parts = [" ".join(p for p in (agent.executor, agent.model) if p)]
    if agent.iterations:
        parts.append(f"{agent.iterations} iteration{'s' if agent.iterations != 1 else ''}")
    if agent.verdict:
        parts.append(f"verdict {agent.verdict}")
    return " · ".join(p for p in parts if p)


def recorded_model(recorded: RecordedRun, scrollback: int = PAST_SCROLLBACK) -> RunModel:
    """A `RunModel` of the run's tasks in their recorded final states (output comes later,
    from `read_output`, task by task)."""
    model = RunModel(lambda _task_id: scrollback)
    model.run_id, model.log_dir = recorded.run.id, recorded.run.log_dir
    for task in recorded.tasks:
        info = model.add(task.name, task.command, task.kind)
        info.loop = None  # the history keeps the final verdict only (shown as activity)
        info.state, info.reason = task.state, task.reason
        info.exit_code, info.signal, info.duration = task.exit_code, task.signal, task.duration
        info.attempt = max(task.attempts, 1)
        info.started_ts, info.ended_ts = task.started, task.ended
        info.log_path = task.log_path or ""
        info.activity = agent_line(task)
        agent = task.agent
        if agent.input_tokens is not None or agent.output_tokens is not None:
            info.totals = AgentTotals(
                agent.input_tokens or 0, agent.output_tokens or 0, agent.cost_usd
            )
    return model


@dataclass(frozen=True, slots=True)
class LogPart:
    """The end of one attempt's log."""

    attempt: int
    lines: list[str]
    skipped: int = 0
    """Bytes at the start of the file not read (not shown)."""
    error: str = ""
    """Why the log could not be read (it is missing, say); then `lines` is empty."""


def read_tail(path: Path, max_bytes: int) -> tuple[list[str], int]:
    """The display lines in the last `max_bytes` of a log, and how many bytes came before them.

    The lines are split as the live pane splits them (`LineSplitter`); a line cut by the start
    of the window is dropped whole, so every line shown is a whole line.
    """
    with path.open("rb") as f:
        size = f.seek(0, 2)
        start = max(size - max_bytes, 0)
        f.seek(start)
        data = f.read(size - start)
    skipped = start
    if start > 0:
        cut = data.find(b"\n")
        if cut >= 0:  # else the window is the end of one very long line: show that much
            skipped, data = start + cut + 1, data[cut + 1 :]
    splitter = LineSplitter()
    text, count = splitter.feed(data)
    lines = text.split("\n") if count else []
    rest, more = splitter.flush()  # a last line without a newline (a run still writing, a crash)
    if more:
        lines.append(rest)
    return lines, skipped


def read_output(
    attempts: list[tuple[int, Path]], max_bytes: int = TAIL_BYTES, max_lines: int = PAST_SCROLLBACK
) -> list[LogPart]:
    """The ends of a task's logs, oldest attempt first, within one budget of bytes and lines:
    the newest attempt is read first, older ones get what is left."""
    parts: list[LogPart] = []
    bytes_left, lines_left = max_bytes, max_lines
    for index in range(len(attempts) - 1, -1, -1):
        number, path = attempts[index]
        if bytes_left <= 0 or lines_left <= 0:
            first = attempts[0][0]
            older = f"attempt {number}" if index == 0 else f"attempts {first}-{number}"
            parts.append(LogPart(number, [], error=f"{older} not shown (see the logs)"))
            break
        try:
            size = path.stat().st_size
            lines, skipped = read_tail(path, bytes_left)
        except OSError as exc:
            parts.append(LogPart(number, [], error=f"cannot read {path}: {exc.strerror or exc}"))
            continue
        if len(lines) > lines_left:
            lines = lines[-lines_left:]
        bytes_left -= size - skipped
        lines_left -= len(lines)
        parts.append(LogPart(number, lines, skipped))
    parts.reverse()
    return parts


def fill(info: TaskInfo, parts: list[LogPart]) -> int:
    """Put the log parts into the task's (empty) buffer, with the same dividers as a live pane;
    returns the lines added."""
    buffer: LineBuffer = info.buffer
    first = True
    for part in parts:
        if not first or part.attempt > 1:
            buffer.add_marker("attempt", f"attempt {part.attempt}")
        first = False
        if part.error:
            buffer.add_marker("missed", part.error)
        elif part.skipped:
            buffer.add_marker("missed", f"{part.skipped:,} earlier bytes not shown (see the log)")
        buffer.append(part.lines)
    return buffer.end
