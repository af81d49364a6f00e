"""Bus events as text: `NAME | line` on stdout, transitions and a summary on stderr.

On a terminal, a line still being written (a `\\r` progress bar, a PTY task's cursor line) is
shown as it is now on a status line of its own at the bottom, `NAME | 42%`, redrawn as it changes
and cleared before anything else is written; a finished line with `\\r` rewrites in it is printed
as its final state, so the bar never overwrites its `NAME |` prefix."""

from __future__ import annotations

from collections.abc import Sequence
from typing import BinaryIO, TextIO

from oneshot_tui.core.events import (
    Event,
    JudgeVerdict,
    LiveLines,
    Output,
    RetryScheduled,
    RunFinished,
    StateChanged,
    TaskAdded,
    TaskExited,
    TaskReady,
    TaskWaiting,
    WorktreeReady,
)
from oneshot_tui.core.printable import one_line
from oneshot_tui.core.report import summary_lines, verdict_line
from oneshot_tui.runner.output import latest_state

_CLEAR_LINE = "\r\x1b[K"

_PALETTE = (36, 33, 32, 35, 34, 91, 96, 93, 92, 95, 94)
_STATE_COLOURS = {
    "running": 32,
    "idle": 33,
    "interrupted": 35,
    "completed": 34,
    "failed": 31,
    "created": 2,
}


def _paint(text: str, code: int, on: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if on else text


class TextPrinter:
    """Whole lines only, in the order each task wrote them, prefixed with the task's name."""

    def __init__(
        self,
        out: BinaryIO,
        err: TextIO,
        names: Sequence[str],
        *,
        colour_out: bool = False,
        colour_err: bool = False,
        plain: bool = False,
        live: bool = False,
        width: int = 80,
    ) -> None:
        self._out = out
        self._live = live
        """stdout is a terminal: unfinished lines on a status line, `\\r` rewrites resolved."""
        self._cols = max(width, 20)
        self._status: tuple[str, str] | None = None
        """The status line: (task, its text), if a task is writing a line."""
        self._status_shown = False
        self._err = err
        self._colour_out = colour_out
        self._colour_err = colour_err
        self._plain = plain
        """One task on a console (`oneshot`): lines without a name prefix, no transitions, and
        a one-line result instead of the table."""
        self._names: list[str] = list(names)
        self._width = max((len(one_line(n)) for n in self._names), default=0)
        self._prefixes: dict[str, str] = {}
        self.finished: RunFinished | None = None

    def _prefix(self, task_id: str) -> str:
        if self._plain:
            return ""
        prefix = self._prefixes.get(task_id)
        if prefix is None:
            if task_id not in self._names:
                self._names.append(task_id)
            colour = _PALETTE[self._names.index(task_id) % len(_PALETTE)]
            label = _paint(one_line(task_id).ljust(self._width), colour, self._colour_out)
            prefix = self._prefixes[task_id] = f"{label} | "
        return prefix

    def handle(self, events: Sequence[Event]) -> None:
        parts: list[str] = []
        for event in events:
            if type(event) is Output:
                if event.missed:
                    name = one_line(event.task_id)
                    self._note(f"{name}: {event.missed} lines not shown (see its log)")
                if event.lines:
                    prefix = self._prefix(event.task_id)
                    text = event.text
                    if self._live and "\r" in text:
                        text = "\n".join(latest_state(line) for line in text.split("\n"))
                    self._clear_status(parts)
                    parts.append(prefix + text.replace("\n", "\n" + prefix) + "\n")
            elif type(event) is LiveLines:
                if self._live:
                    self._show_status(event, parts)
            elif isinstance(event, StateChanged):
                self._flush(parts)
                self._transition(event)
            elif isinstance(event, TaskAdded):
                if len(one_line(event.task_id)) > self._width:
                    self._width = len(one_line(event.task_id))
                    self._prefixes.clear()
                if event.task_id not in self._names:
                    self._names.append(event.task_id)
            elif isinstance(event, WorktreeReady):
                self._flush(parts)
                self._worktree(event)
            elif isinstance(event, (TaskWaiting, TaskReady, RetryScheduled, JudgeVerdict)):
                self._flush(parts)
                self._pipeline(event)
            elif isinstance(event, TaskExited):
                pass  # the transition line and the summary say it all
            elif isinstance(event, RunFinished):
                self._flush(parts)
                self.finished = event
                self._summary(event)
        self._flush(parts)

    def _flush(self, parts: list[str]) -> None:
        if self._status is not None and not self._status_shown:
            parts.append(self._status[1])  # the status line stays last
            self._status_shown = True
        if parts:
            self._out.write("".join(parts).encode("utf-8", "surrogateescape"))
            self._out.flush()
            parts.clear()

    def _clear_status(self, parts: list[str]) -> None:
        """Take the status line off the screen (`_flush` draws it again, below)."""
        if self._status_shown:
            parts.append(_CLEAR_LINE)
            self._status_shown = False

    def _show_status(self, event: LiveLines, parts: list[str]) -> None:
        line = next((line for line in reversed(event.lines) if line.strip()), "")
        if not line:
            if self._status is not None and self._status[0] == event.task_id:
                self._clear_status(parts)
                self._status = None
            return
        # Cut to the terminal's width: a status line that wraps cannot be cleared.
        room = max(self._cols - len(self._prefix(event.task_id)), 1)
        visible = latest_state(line)
        self._clear_status(parts)
        self._status = (event.task_id, self._prefix(event.task_id) + visible[:room] + "\x1b[0m")

    def _note(self, text: str) -> None:
        shown = self._status_shown and self._status is not None
        if shown:
            # The status line is on the same terminal: cleared first, drawn again after.
            self._out.write(_CLEAR_LINE.encode())
            self._out.flush()
        self._err.write(text + "\n")
        self._err.flush()
        if shown and self._status is not None:
            self._out.write(self._status[1].encode("utf-8", "surrogateescape"))
            self._out.flush()

    def _transition(self, event: StateChanged) -> None:
        if self._plain:
            return
        target = _paint(event.target, _STATE_COLOURS.get(event.target, 0), self._colour_err)
        reason = f" ({one_line(event.reason)})" if event.reason else ""
        attempt = f" [attempt {event.attempt}]" if event.attempt > 1 else ""
        name = one_line(event.task_id)
        self._note(f"{name}: {event.source} -> {target}{attempt}{reason}")

    def _pipeline(self, event: TaskWaiting | TaskReady | RetryScheduled | JudgeVerdict) -> None:
        """What a pipeline's task waits for, that it is ready, and a restart's wait."""
        if self._plain:
            return
        name = one_line(event.task_id)
        if isinstance(event, TaskWaiting):
            if event.on:
                self._note(f"{name}: waiting for {event.on}")
        elif isinstance(event, TaskReady):
            self._note(f"{name}: ready ({event.reason})")
        elif isinstance(event, JudgeVerdict):
            gone = f"; removed {', '.join(event.removed)}" if event.removed else ""
            self._note(f"{name}: winner {event.winner} ({event.reasons}){gone}")
        elif event.restart:
            self._note(f"{name}: restart {event.retry}/{event.retries} in {event.delay:g}s")

    def _worktree(self, event: WorktreeReady) -> None:
        w = event.worktree
        prefix = "" if self._plain else f"{one_line(event.task_id)}: "
        if event.reused:
            self._note(f"{prefix}worktree {w.path} again (branch {w.branch})")
        else:
            base = f"{w.base_ref or 'detached HEAD'} at {w.base_commit[:10]}"
            self._note(f"{prefix}worktree {w.path} (branch {w.branch}, from {base})")

    def _summary(self, event: RunFinished) -> None:
        if self._plain:
            for r in event.results:
                mark = "✔" if r.state == "completed" else "✘"
                self._note(f"{mark} {r.state}: {one_line(r.reason)}  (log: {r.log_path})")
                if r.worktree is not None:
                    w = r.worktree
                    self._note(f"  branch {w.branch}: {w.changes_text()} ({w.worktree.path})")
            return
        lines = summary_lines(event.results)
        verdict = verdict_line(event.run_id, event.exit_code, event.signal)
        self._note("\n".join(["", *lines, verdict]))
