"""The main screen: status bar, task list, the selected task's pane, and the footer of keys.

The screen owns the selection and the keys. A key that acts on a task posts a `TaskCommand` up to
the app (the only holder of the run's connection); a key is greyed out (`check_action` -> None) when
the selected task's state does not allow it. Selecting, zooming, searching and scrolling are the
same for a past run (`TasksScreen`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from textual.binding import BindingType

from oneshot_tui.core.states import TaskState
from oneshot_tui.ui.keys import MAIN_BINDINGS
from oneshot_tui.ui.messages import (
    DetachRequested,
    HistoryRequested,
    MergeRequested,
    QuitRequested,
    TaskCommand,
)
from oneshot_tui.ui.model import Changes, RunModel, TaskInfo
from oneshot_tui.ui.screens.add_task import AddTaskScreen
from oneshot_tui.ui.screens.help import HelpScreen
from oneshot_tui.ui.screens.message import MessageScreen
from oneshot_tui.ui.screens.tasks import TasksScreen
from oneshot_tui.ui.screens.verdicts import VerdictScreen
from oneshot_tui.ui.widgets.status_bar import StatusBar


class MainScreen(TasksScreen):
    BINDINGS: ClassVar[list[BindingType]] = MAIN_BINDINGS

    _DYNAMIC: ClassVar[tuple[str, ...]] = (
        "interrupt",
        "kill",
        "restart",
        "continue_task",
        "message",
        "type_into",
        "interrupt_idle",
        "next_needing",
        "verdicts",
        "diff",
        "merge",
        "search",
        "search_step",
        "clear_search",
    )

    def __init__(self, model: RunModel, now: Callable[[], float], data_dir: str) -> None:
        super().__init__(model, now)
        self._data_dir = data_dir
        self.stopping = False
        """Set by the app once the run is being stopped: restart is no longer possible."""

    def make_status_bar(self) -> StatusBar:
        return StatusBar(self.model, self._data_dir)

    # -- updates from the app --------------------------------------------------------------------

    def apply(self, changes: Changes, in_use: int, phase: str) -> None:
        """Show what a batch of events changed."""
        bar = self.status_bar
        bar.in_use, bar.phase = in_use, phase
        task_list, pane = self.task_list, self.pane
        if changes.rows or changes.added:
            self.follow_filter()
        if changes.added:
            task_list.sync()
            if pane.info is None:
                self._select(self.selected)
        for task_id in changes.rows:
            task_list.refresh_task(task_id)
        shown = pane.info.task_id if pane.info is not None else None
        if shown is not None:
            if shown in changes.rows:
                pane.refresh_title()
                if pane.typing and pane.info is not None and not pane.info.state.active:
                    pane.stop_typing()  # its process ended: nothing takes the keys any more
            added = changes.output.get(shown)
            if added or shown in changes.live:
                pane.output.lines_added(added or 0)
                if pane.info is not None and pane.info.view.search is not None:
                    pane.title_bar.refresh()  # the match count grew
        if changes.rows or changes.run or changes.added:
            bar.refresh()
            self._refresh_keys()

    def apply_phase(self, phase: str) -> None:
        """The run's phase changed without an event (a quit began)."""
        self.status_bar.phase = phase
        self.status_bar.refresh()
        self._refresh_keys()

    def selection_changed(self, info: TaskInfo) -> None:
        if info.needs:  # looked at: the engine clears its mark (every client sees it go)
            self.post_message(TaskCommand("seen", info.task_id))

    def action_next_needing(self) -> None:
        """Select the next task that needs its user, after the selected one (wrapping)."""
        order, needing = self.model.order, set(self.model.needing())
        for step in range(1, len(order) + 1):
            index = (self.selected + step) % len(order)
            if order[index] in needing:
                self._select(index)
                return
        self.notify("no task needs you", timeout=3)

    # -- commands for the engine (through the app) -----------------------------------------------

    def _command(self, command: str) -> None:
        info = self.selected_info
        if info is not None:
            self.post_message(TaskCommand(command, info.task_id))

    def action_interrupt(self) -> None:
        self._command("interrupt")

    def action_kill(self) -> None:
        self._command("kill")

    def action_restart(self) -> None:
        self._command("restart")

    def action_continue_task(self) -> None:
        self._command("continue")

    def action_message(self) -> None:
        info = self.selected_info
        if info is None:
            return
        task_id = info.task_id

        def written(text: str | None) -> None:
            if text:
                self.post_message(TaskCommand("send", task_id, text=text))

        running = info.state.active or info.state is TaskState.CREATED
        self.app.push_screen(MessageScreen(task_id, running), callback=written)

    def action_type_into(self) -> None:
        if self.check_action("type_into", ()) is True:
            self.pane.start_typing()

    def action_interrupt_idle(self) -> None:
        self.post_message(TaskCommand("interrupt_idle"))

    def action_quit(self) -> None:
        self.post_message(QuitRequested())

    def action_detach(self) -> None:
        self.post_message(DetachRequested())

    def action_add_task(self) -> None:
        def added(table: dict[str, Any] | None) -> None:
            if table is not None:
                self.post_message(TaskCommand("add", table=table))

        self.app.push_screen(AddTaskScreen(), callback=added)

    # -- other screens ---------------------------------------------------------------------------

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen())

    def action_verdicts(self) -> None:
        info = self.selected_info
        if info is not None and (info.loop is not None or info.judgement is not None):
            self.app.push_screen(VerdictScreen(info))

    def action_diff(self) -> None:
        info = self.selected_info
        if info is not None and info.worktree is not None:
            from oneshot_tui.ui.screens.diff import DiffScreen  # the git layer: on first use

            self.app.push_screen(DiffScreen(info.task_id, info.worktree))

    def action_merge(self) -> None:
        info = self.selected_info
        if info is not None and info.worktree is not None and info.state.ended:
            self.post_message(MergeRequested(info.task_id, info.worktree))

    def action_history(self) -> None:
        self.post_message(HistoryRequested())

    # -- which keys apply now --------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        info = self.selected_info
        state = info.state if info is not None else None
        if action == "interrupt":
            ok = state is not None and (state.active or state is TaskState.CREATED)
            return True if ok and not self.stopping else None
        if action == "add_task":
            return None if self.stopping else True
        if action == "kill":
            return True if state is not None and state.active else None
        if action == "restart":
            ok = state is not None and (state.active or state.ended)
            return True if ok and not self.stopping else None
        if action == "continue_task":
            # An agent or a loop that ended goes on in its session; in the footer only then
            # (room at 80 columns), in the help always.
            ended = state is not None and state.ended and not self.stopping
            return bool(info is not None and info.kind in ("agent", "loop") and ended)
        if action == "message":
            # Agents only; in the footer only in a run with agents.
            if info is not None and info.kind in ("agent", "loop") and not self.stopping:
                return True
            agents = any(t.kind in ("agent", "loop") for t in self.model.tasks.values())
            return None if agents else False
        if action == "next_needing":  # in the footer only while a task needs you
            return bool(self.model.needing())
        if action == "type_into":
            # PTY tasks only; in the footer only in a run with one.
            if info is not None and info.pty and state is not None and state.active:
                return True
            return None if any(t.pty for t in self.model.tasks.values()) else False
        if action == "interrupt_idle":
            # Not about the selected task: hidden (not greyed) while nothing is idle, to keep the
            # footer short.
            return any(t.state is TaskState.IDLE for t in self.model.tasks.values())
        if action == "diff":
            # Greyed for a task without a worktree; hidden in a run without any (footer room).
            if info is not None and info.worktree is not None:
                return True
            return None if any(t.worktree is not None for t in self.model.tasks.values()) else False
        if action == "merge":
            # An ended worktree task; greyed otherwise, hidden in a run without worktrees.
            if info is not None and info.worktree is not None and info.state.ended:
                return True
            return None if any(t.worktree is not None for t in self.model.tasks.values()) else False
        if action == "verdicts":
            # Greyed for a task that is not a loop or a judge with its verdict; hidden in a run
            # without loops and judges (footer room).
            if info is not None and (info.loop is not None or info.judgement is not None):
                return True
            judged = any(t.judgement is not None for t in self.model.tasks.values())
            loops = any(t.loop is not None for t in self.model.tasks.values())
            return None if loops or judged else False
        return super().check_action(action, parameters)
