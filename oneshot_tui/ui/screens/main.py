"""The main screen: status bar, task list, the selected task's pane, and the footer of keys.

The screen owns the selection and the keys. A key that acts on a task posts a `TaskCommand` up to
the app (the only holder of the orchestrator); a key is greyed out (`check_action` -> None) when
the selected task's state does not allow it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer

from oneshot_tui.core.states import TaskState
from oneshot_tui.ui.keys import MAIN_BINDINGS
from oneshot_tui.ui.messages import QuitRequested, TaskCommand
from oneshot_tui.ui.model import Changes, RunModel, TaskInfo
from oneshot_tui.ui.screens.help import HelpScreen
from oneshot_tui.ui.widgets.output_view import OutputView
from oneshot_tui.ui.widgets.status_bar import StatusBar
from oneshot_tui.ui.widgets.task_list import TaskList
from oneshot_tui.ui.widgets.task_pane import TaskPane


class MainScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = MAIN_BINDINGS

    DEFAULT_CSS = """
    MainScreen #body { height: 1fr; }
    MainScreen.-zoomed TaskList { display: none; }
    """

    def __init__(self, model: RunModel, now: Callable[[], float], data_dir: str) -> None:
        super().__init__()
        self.model = model
        self._now = now
        self._data_dir = data_dir
        self.selected = 0
        self._keys: tuple[bool | None, ...] = ()
        self.stopping = False
        """Set by the app once the run is being stopped: restart is no longer possible."""

    def compose(self) -> ComposeResult:
        yield StatusBar(self.model, self._data_dir)
        with Horizontal(id="body"):
            yield TaskList(self.model)
            yield TaskPane(self._now)
        # ctrl+p (the palette) is listed in the help screen: the footer needs the room at 80 cols.
        yield Footer(compact=True, show_command_palette=False)

    @property
    def task_list(self) -> TaskList:
        return self.query_one(TaskList)

    @property
    def pane(self) -> TaskPane:
        return self.query_one(TaskPane)

    @property
    def status_bar(self) -> StatusBar:
        return self.query_one(StatusBar)

    @property
    def selected_info(self) -> TaskInfo | None:
        order = self.model.order
        if not order:
            return None
        return self.model.tasks[order[min(self.selected, len(order) - 1)]]

    def on_mount(self) -> None:
        self.task_list.sync()
        self._select(0)

    # -- updates from the app --------------------------------------------------------------------

    def apply(self, changes: Changes, in_use: int, phase: str) -> None:
        """Show what a batch of events changed."""
        bar = self.status_bar
        bar.in_use, bar.phase = in_use, phase
        task_list, pane = self.task_list, self.pane
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
            added = changes.output.get(shown)
            if added:
                pane.output.lines_added(added)
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

    def tick(self) -> None:
        """A second passed: redraw the times."""
        self.pane.title_bar.refresh()

    # -- selection -------------------------------------------------------------------------------

    def _select(self, index: int) -> None:
        order = self.model.order
        if not order:
            return
        self.selected = max(0, min(index, len(order) - 1))
        self.task_list.select(self.selected)
        self.pane.show(self.model.tasks[order[self.selected]])
        self._refresh_keys()

    def action_move(self, delta: int) -> None:
        self._select(self.selected + delta)

    def action_next_pane(self) -> None:
        if self.model.order:
            self._select((self.selected + 1) % len(self.model.order))

    def action_previous_pane(self) -> None:
        if self.model.order:
            self._select((self.selected - 1) % len(self.model.order))

    @on(TaskList.Clicked)
    def _clicked(self, event: TaskList.Clicked) -> None:
        self._select(event.index)

    def action_zoom(self) -> None:
        self.toggle_class("-zoomed")

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

    def action_interrupt_idle(self) -> None:
        self.post_message(TaskCommand("interrupt_idle"))

    def action_quit(self) -> None:
        self.post_message(QuitRequested())

    # -- output ----------------------------------------------------------------------------------

    @property
    def _view(self) -> OutputView:
        return self.pane.output

    def action_search(self) -> None:
        self.pane.open_search()

    def action_search_step(self, delta: int) -> None:
        self.pane.step_search(delta)

    def action_clear_search(self) -> None:
        self.pane.clear_search()

    @on(TaskPane.SearchChanged)
    def _search_changed(self) -> None:
        self._refresh_keys()

    def action_follow(self) -> None:
        state = self._view.state
        if state is not None:
            self._view.set_follow(not state.follow)

    def action_page(self, direction: int) -> None:
        view = self._view
        step = max(view.scrollable_content_region.height - 1, 1)
        view.scroll_to(y=view.scroll_y + direction * step, animate=False)

    def action_scroll_lines(self, delta: int) -> None:
        self._view.scroll_to(y=self._view.scroll_y + delta, animate=False)

    def action_scroll_columns(self, delta: int) -> None:
        self._view.scroll_to(x=max(self._view.scroll_x + delta, 0), animate=False)

    def action_top(self) -> None:
        self._view.scroll_to(y=0, animate=False)

    def action_bottom(self) -> None:
        self._view.set_follow(True)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen())

    # -- which keys apply now --------------------------------------------------------------------

    _DYNAMIC = ("interrupt", "kill", "restart", "interrupt_idle", "search_step", "clear_search")

    def _refresh_keys(self) -> None:
        """Redraw the footer only when a key became enabled or disabled: the footer rebuilds
        itself on every refresh, which would be wasted work (and flicker) on each batch."""
        keys = tuple(self.check_action(action, ()) for action in self._DYNAMIC)
        if keys != self._keys:
            self._keys = keys
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        info = self.selected_info
        state = info.state if info is not None else None
        if action == "interrupt":
            ok = state is not None and (state.active or state is TaskState.CREATED)
            return True if ok and not self.stopping else None
        if action == "kill":
            return True if state is not None and state.active else None
        if action == "restart":
            ok = state is not None and (state.active or state.ended)
            return True if ok and not self.stopping else None
        if action == "interrupt_idle":
            # Not about the selected task: hidden (not greyed) while nothing is idle, to keep the
            # footer short.
            return any(t.state is TaskState.IDLE for t in self.model.tasks.values())
        if action in ("search_step", "clear_search"):
            return info is not None and info.view.search is not None
        return True
