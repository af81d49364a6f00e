"""How states, times and exits look: one table of colours and labels for every widget."""

from __future__ import annotations

import math
import time

from rich.text import Text

from oneshot_tui.core.record import record
from oneshot_tui.core.report import duration, exit_text
from oneshot_tui.core.states import TaskState
from oneshot_tui.ui.model import TaskInfo


@record
class StateLook:
    label: str
    icon: str
    colour: str
    """A Rich colour, readable on dark and light themes."""


STATE_LOOKS: dict[TaskState, StateLook] = {
    TaskState.CREATED: StateLook("queued", "◌", "#9e9e9e"),
    TaskState.RUNNING: StateLook("running", "●", "#4ec94e"),
    TaskState.IDLE: StateLook("idle", "◐", "#e5c14a"),
    TaskState.INTERRUPTED: StateLook("interrupted", "■", "#d77be0"),
    TaskState.COMPLETED: StateLook("completed", "✔", "#5fafff"),
    TaskState.FAILED: StateLook("failed", "✘", "#ff5f5f"),
}

STATE_ORDER = (
    TaskState.RUNNING,
    TaskState.IDLE,
    TaskState.CREATED,
    TaskState.COMPLETED,
    TaskState.FAILED,
    TaskState.INTERRUPTED,
)


def look(state: TaskState) -> StateLook:
    return STATE_LOOKS[state]


def badge(state: TaskState) -> Text:
    """The state as a coloured block: ` RUNNING `."""
    entry = STATE_LOOKS[state]
    return Text(f" {entry.label} ", style=f"#101010 on {entry.colour}")


def end_text(info: TaskInfo) -> str:
    """`exit 0`, `exit 3`, `SIGKILL`; empty while the task has not ended."""
    if not info.state.ended or (info.exit_code is None and info.signal is None):
        return ""
    shown = exit_text(info.exit_code, info.signal)
    return shown if info.signal is not None else f"exit {shown}"


def timing_text(info: TaskInfo, now: float) -> str:
    """Elapsed time, plus how long it has been silent when idle."""
    elapsed = info.elapsed(now)
    if elapsed is None:
        return ""
    text = duration(elapsed)
    if info.state is TaskState.IDLE:
        silent = info.silent_for(now)
        if silent is not None:
            # Two times side by side read alike ("idle 20s · silent 20s"): say which is which.
            text = f"up {text} · silent for {duration(silent)}"
    return text


def short_path(path: str, home: str) -> str:
    """A path with the home directory written as ~."""
    if home and (path == home or path.startswith(home.rstrip("/") + "/")):
        return "~" + path[len(home.rstrip("/")) :]
    return path


def phase_text(info: TaskInfo) -> str:
    """A running loop's step: `worker 2/3`, `auditor 2/3`; empty otherwise."""
    loop = info.loop
    if loop is None or not loop.role or info.state.ended or info.state is TaskState.CREATED:
        return ""
    return f"{loop.role} {loop.iteration}/{loop.max_iterations}"


def short_phase(info: TaskInfo) -> str:
    """The same for the task list, where room is short: `w2/3`, `a2/3`."""
    text = phase_text(info)
    return f"{text[0]}{text.split(' ', 1)[1]}" if text else ""


def retry_text(info: TaskInfo, now: float) -> str:
    """A rate-limit pause as a countdown: `retry 1/3 in 12s` (then `retrying…`)."""
    retry = info.retry
    if retry is None or info.state.ended:
        return ""
    left = retry.resume_at - now
    which = f"{retry.retry}/{retry.retries}" if retry.retries else f"{retry.retry or ''}".strip()
    word = "restart" if retry.restart else "retry"
    label = f"agent retries {which}".rstrip() if retry.by_agent else f"{word} {which}"
    if left <= 0:
        return f"{label}: retrying…"
    # Whole seconds, rounded up: a countdown that reads "0.4s" or "in 0s" while waiting is noise.
    shown = f"{math.ceil(left)}s" if left < 60 else duration(left)
    return f"{label} in {shown}"


def countdown(info: TaskInfo, now: float) -> str:
    """A restart policy's wait, short for the task list: `⏳4s`; empty otherwise."""
    retry = info.retry
    if retry is None or not retry.restart or info.state is not TaskState.CREATED:
        return ""
    left = max(retry.resume_at - now, 0.0)
    return f"⏳{math.ceil(left)}s" if left < 60 else f"⏳{duration(left)}"


def when(ts: float) -> str:
    """A wall-clock time in local time, to the minute: `2027-01-16 09:30`."""
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def describe(exc: BaseException) -> str:
    """An error as one line for a notification."""
    return str(exc) or type(exc).__name__
