"""A past run, read-only: its tasks in the usual list and pane, their output from the log files.

States, exit codes and reasons are the history's; a task's output is the end of its log files
(`history_loader.read_output`), read in a thread worker the first time the task is selected, so
opening a run of 500 tasks reads nothing but the one on screen. Nothing here acts on a process.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.binding import BindingType
from textual.message import Message

from oneshot_tui.core.report import duration, exit_text
from oneshot_tui.store.history_data import RunStatus
from oneshot_tui.ui.format import describe, short_path, when
from oneshot_tui.ui.history_loader import LogPart, RecordedRun, fill, read_output, recorded_model
from oneshot_tui.ui.keys import PAST_RUN_BINDINGS
from oneshot_tui.ui.messages import LiveRequested
from oneshot_tui.ui.model import TaskInfo
from oneshot_tui.ui.screens.tasks import TasksScreen
from oneshot_tui.ui.widgets.status_bar import StatusBar

READING = "(reading the log…)"


class HistoryRunScreen(TasksScreen):
    BINDINGS: ClassVar[list[BindingType]] = PAST_RUN_BINDINGS

    @dataclass
    class OutputRead(Message):
        task_id: str
        parts: list[LogPart]

    def __init__(self, recorded: RecordedRun, now: Callable[[], float]) -> None:
        super().__init__(recorded_model(recorded), now)
        self.recorded = recorded
        self._read: set[str] = set()
        """Tasks whose logs have been asked for (read, or being read)."""

    @property
    def run_id(self) -> str:
        return self.recorded.run.id

    def make_status_bar(self) -> StatusBar:
        run = self.recorded.run
        log_dir = short_path(run.log_dir, os.path.expanduser("~"))
        bar = StatusBar(self.model, log_dir, slots=False)
        if run.status == RunStatus.FINISHED:
            ended = f"exit {exit_text(run.exit_code, run.signal)}"
        else:
            ended = run.status  # live (another process runs it) or lost
        took = run.duration(self._now())
        # Most telling first: at 80 columns the end of the line is cut.
        facts = ["history", ended, *([duration(took)] if took is not None else [])]
        bar.phase = " · ".join([*facts, when(run.started)])
        return bar

    def selection_changed(self, info: TaskInfo) -> None:
        if info.task_id in self._read:
            return
        self._read.add(info.task_id)
        self.pane.output.empty_text = READING
        self._read_output(info.task_id, self.recorded.logs.get(info.task_id, []))

    @work(thread=True, group="history-output", exit_on_error=False)
    def _read_output(self, task_id: str, attempts: list[tuple[int, Path]]) -> None:
        try:
            parts = read_output(attempts)
        except Exception as exc:  # whatever the file system says, the screen stays up
            parts = [LogPart(1, [], error=f"cannot read the log: {describe(exc)}")]
        self.post_message(self.OutputRead(task_id, parts))

    @on(OutputRead)
    def _output_read(self, message: OutputRead) -> None:
        info = self.model.tasks.get(message.task_id)
        if info is None:
            return
        added = fill(info, message.parts)
        pane = self.pane
        if pane.info is info:
            pane.output.empty_text = "(no output)" if not message.parts else "(empty log)"
            pane.output.lines_added(added)
            pane.output.refresh()

    def action_back(self) -> None:
        """Esc: clear the search first; else back to the list of runs."""
        if self.searching():
            self.action_clear_search()
        else:
            self.dismiss(None)

    def action_live(self) -> None:
        self.post_message(LiveRequested())
