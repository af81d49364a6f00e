"""The task list's columns: what each row shows, and which columns go first when it is narrow.

A row reads ` ● name  activity  tokens cost ↻N exit  time  state`. The columns are the same for
every row (so they line up), chosen once per paint from the list's width and what the tasks have:
a column nobody has a value for takes no room, and when room runs out the least telling ones go
first (`PRIORITY`); the name keeps at least `NAME_MIN` cells and is cut in the middle, so
`a-very-long-task-1` and `-2` stay apart. Pure: Rich text in, no widget.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from rich.cells import cell_len
from rich.text import Text

from oneshot_tui.core.activity import cost, tokens
from oneshot_tui.core.printable import one_line
from oneshot_tui.core.record import record
from oneshot_tui.core.report import duration, exit_text
from oneshot_tui.core.states import TaskState
from oneshot_tui.ui.format import countdown, look, short_phase
from oneshot_tui.ui.model import TaskInfo

NAME_MIN = 8
"""Cells a name keeps before a column is dropped for it."""
NAME_FULL = 16
"""Cells a name gets (when it needs them) before the less telling columns."""
ACTIVITY_MIN = 8
"""Below this, an agent's activity says too little to be worth its room."""
MUTED = "#8a8a8a"


def middle_ellipsis(text: str, width: int) -> str:
    """`text` in at most `width` cells, cut in the middle: `a-very…task-1`."""
    if cell_len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    keep = width - 1
    head, tail = (keep + 1) // 2, keep // 2
    # By cells, not characters: a wide character counts twice.
    start = ""
    for char in text:
        if cell_len(start + char) > head:
            break
        start += char
    end = ""
    for char in reversed(text):
        if cell_len(char + end) > tail:
            break
        end = char + end
    return pad(f"{start}…{end}", width)


def end_ellipsis(text: str, width: int) -> str:
    """`text` in at most `width` cells, cut at its end (an activity reads from its start)."""
    if cell_len(text) <= width:
        return text
    kept = ""
    for char in text:
        if cell_len(kept + char) > width - 1:
            break
        kept += char
    return kept + "…"


def pad(text: str, width: int, right: bool = False) -> str:
    """`text` padded with blanks to `width` cells (by cells: `str.ljust` counts characters)."""
    blanks = " " * max(width - cell_len(text), 0)
    return blanks + text if right else text + blanks


NEEDS_MARK = "!"
"""A task that needs its user (failed, denied a tool, waiting at a prompt): tmux's bell mark."""
NEEDS_STYLE = "bold black on yellow"


def mark_text(info: TaskInfo) -> str:
    """The per-row mark just after the state icon (one cell): `!` when the task needs its user;
    the column takes room only when some row has one."""
    return NEEDS_MARK if info.needs else ""


def name_text(info: TaskInfo) -> str:
    """The name as shown: printable on one line (a name may hold an escape sequence or a
    newline), a best-of-N replica indented under its judge (`  #2`), a folded group's judge
    with how many replicas it hides (`fix +3`)."""
    name = one_line(info.task_id)
    if info.group and name != info.group and name.startswith(info.group):
        name = "  " + name[len(info.group) :]
    if info.folded:
        name += f" +{info.folded}"  # the replicas folded under it (space unfolds)
    return name


def extra_text(info: TaskInfo, now: float) -> str:
    """A restart policy's countdown (`⏳4s`), a best-of-N winner (🏆) or loser (`lost`)."""
    parts = [countdown(info, now)]
    if info.winner and info.winner == info.task_id:
        parts.append("🏆")
    elif info.lost:
        parts.append("lost")
    return " ".join(p for p in parts if p)


def restarts_text(info: TaskInfo) -> str:
    """`↻N`: the attempts after the first that were restarts, not a conversation's turns (a
    message starts an attempt too)."""
    restarts = info.attempt - max(info.turns, 1)
    return f"↻{restarts}" if restarts > 0 else ""


def exit_cell(info: TaskInfo, short: bool = False) -> str:
    """`exit 1`, `SIGKILL` (short: `1`, `KILL`); empty while running, for a task stopped before
    it started, and for a completed task's `exit 0` (its ✔ says it)."""
    if not info.state.ended or (info.exit_code is None and info.signal is None):
        return ""
    if info.state is TaskState.COMPLETED and info.exit_code == 0 and info.signal is None:
        return ""
    shown = exit_text(info.exit_code, info.signal)
    if info.signal is not None:
        return shown.removeprefix("SIG") if short else shown
    return shown if short else f"exit {shown}"


def time_text(info: TaskInfo, now: float) -> str:
    """Elapsed while it runs, total once it ended; empty while queued."""
    elapsed = info.elapsed(now)
    return "" if elapsed is None else duration(elapsed)


def tokens_text(info: TaskInfo) -> str:
    totals = info.totals
    if totals is None or not totals.tokens:
        return ""
    return ("~" if totals.estimated else "") + tokens(totals.tokens)


def cost_text(info: TaskInfo) -> str:
    totals = info.totals
    if totals is None or totals.cost_usd is None:
        return ""
    return ("~" if totals.estimated else "") + cost(totals.cost_usd)


def activity_text(info: TaskInfo) -> str:
    """What an agent (or a loop's step) is doing now: `Bash`, `writing`, `w2/3 Edit`."""
    if info.state.ended or info.state is TaskState.CREATED:
        return ""
    return " ".join(part for part in (short_phase(info), info.doing) if part)


def state_text(info: TaskInfo) -> str:
    if info.waiting and info.state is TaskState.CREATED:
        return "waiting"  # for its dependencies (the pane says which), not for a slot
    return look(info.state).label


@record
class Column:
    key: str
    text: Callable[[TaskInfo, float], str]
    right: bool = False
    """Right-aligned (figures)."""
    colour: str = ""
    """A fixed colour; empty: the state's colour for `state`, muted for the rest."""


COLUMNS: dict[str, Column] = {
    "tokens": Column("tokens", lambda i, _n: tokens_text(i), right=True),
    "cost": Column("cost", lambda i, _n: cost_text(i), right=True),
    "restarts": Column("restarts", lambda i, _n: restarts_text(i), right=True, colour="#e5c14a"),
    "exit": Column("exit", lambda i, _n: exit_cell(i)),
    "exit_short": Column("exit_short", lambda i, _n: exit_cell(i, short=True)),
    "extra": Column("extra", extra_text),
    "time": Column("time", time_text, right=True),
    "state": Column("state", lambda i, _n: state_text(i)),
}
"""The fixed-width columns, in the order they are shown (after the name and the activity)."""
PRIORITY = ("time", "exit", "extra", "restarts", "name", "tokens", "cost", "activity", "state")
"""Most telling first: when the room runs out, the last ones go first."""
_WIDEST = {
    "time": 6,
    "exit": 7,
    "exit_short": 4,
    "restarts": 3,
    "extra": 8,
    "tokens": 6,
    "cost": 8,
    "state": 11,
}
"""No cell is wider than this (time: `59m59s`, exit: `SIGTERM`, state: `interrupted`)."""


@record
class Layout:
    """Which columns a paint shows, and how wide each is."""

    width: int
    name: int
    mark: int
    activity: int
    """0: no activity column."""
    widths: dict[str, int]
    """The fixed columns shown, by key, in `COLUMNS` order."""


def plan(tasks: Iterable[TaskInfo], width: int, now: float) -> Layout:
    """The columns that fit in `width` cells for these tasks."""
    name_need = 0
    mark = 0
    need = dict.fromkeys(COLUMNS, 0)
    doing = False
    for info in tasks:
        name_need = max(name_need, cell_len(name_text(info)))
        mark = mark or (1 if mark_text(info) else 0)
        doing = doing or bool(info.kind != "command" or info.loop is not None)
        for key, column in COLUMNS.items():
            if need[key] < _WIDEST[key]:
                need[key] = max(need[key], cell_len(column.text(info, now)))
    if need["time"]:
        need["time"] = _WIDEST["time"]  # the times grow as they run: keep the column still
    # ` ● ` + mark, the name, and one blank at the right edge (nothing touches the border).
    used = 3 + mark + 1
    name_min = min(name_need, NAME_MIN)
    widths: dict[str, int] = {}
    activity = 0
    for key in PRIORITY:
        if key == "name":  # the whole name (up to NAME_FULL) before the figures that follow
            whole = min(name_need, NAME_FULL)
            if used + whole <= width:
                name_min = whole
            continue
        if key == "activity":
            if doing and width - used - name_min - 1 >= ACTIVITY_MIN:
                activity = ACTIVITY_MIN
                used += ACTIVITY_MIN + 1
            continue
        cells = need[key]
        if cells and used + name_min + cells + 1 > width and key == "exit":
            cells, key = need["exit_short"], "exit_short"  # `KILL` for `SIGKILL`, `2` for `exit 2`
        if cells and used + name_min + cells + 1 <= width:
            widths[key] = cells
            used += cells + 1
    rest = max(width - used, 1)
    if activity:  # the name as long as it needs, the activity takes what it leaves
        name = min(name_need, rest)
        activity += rest - name
    else:  # the name takes the slack: the figures line up at the right edge
        name = rest
    ordered = {key: widths[key] for key in COLUMNS if key in widths}
    return Layout(width, name, mark, activity, ordered)


def render_row(info: TaskInfo, layout: Layout, now: float, muted: str = MUTED) -> Text:
    """One row of the list, exactly `layout.width` cells wide."""
    entry = look(info.state)
    row = Text(no_wrap=True, end="")
    row.append(f" {entry.icon} ", style=entry.colour)
    if layout.mark:
        mark = mark_text(info)
        row.append(pad(mark, layout.mark)[: layout.mark], style=NEEDS_STYLE if mark else "")
    row.append(pad(middle_ellipsis(name_text(info), layout.name), layout.name))
    if layout.activity:
        shown = activity_text(info)
        row.append(" ")
        row.append(pad(end_ellipsis(shown, layout.activity), layout.activity), style="cyan")
    for key, cells in layout.widths.items():
        column = COLUMNS[key]
        shown = column.text(info, now)
        cell = pad(middle_ellipsis(shown, cells), cells, right=column.right)
        if key == "state":
            style = entry.colour
        elif key.startswith("exit") and info.state is TaskState.FAILED:
            style = "bold " + entry.colour
        else:
            style = column.colour or muted
        row.append(" ")
        row.append(cell, style=style)
    row.truncate(layout.width, pad=True)
    return row
