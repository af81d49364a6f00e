"""How states, times and exits look: one table of colours and labels for every widget."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text

from oneshot_tui.core.report import duration, exit_text
from oneshot_tui.core.states import TaskState
from oneshot_tui.ui.model import TaskInfo


@dataclass(frozen=True, slots=True)
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
            text += f" · silent {duration(silent)}"
    return text


def short_path(path: str, home: str) -> str:
    """A path with the home directory written as ~."""
    if home and (path == home or path.startswith(home.rstrip("/") + "/")):
        return "~" + path[len(home.rstrip("/")) :]
    return path
