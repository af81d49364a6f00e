"""What the live run and a past run have in common: a status bar, the task list, the selected
task's pane, the footer, and the keys that select, zoom, search and scroll.

The subclasses add what differs: the live screen's commands, and the past run's way back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer

from oneshot_tui.core.states import TaskState
from oneshot_tui.ui.format import STATE_ORDER, look
from oneshot_tui.ui.model import RunModel, TaskInfo
from oneshot_tui.ui.widgets.output_view import OutputView
from oneshot_tui.ui.widgets.run_summary import RunSummary
from oneshot_tui.ui.widgets.status_bar import StatusBar
from oneshot_tui.ui.widgets.task_list import TaskList
from oneshot_tui.ui.widgets.task_pane import TaskPane


class TasksScreen(Screen[None]):
    """Task list and pane over a `RunModel`; the subclass gives the bindings and status bar."""

    DEFAULT_CSS = """
    TasksScreen #body { height: 1fr; }
    TasksScreen.-zoomed TaskList { display: none; }
    TasksScreen.-wide TaskList { width: 40%; }
    TasksScreen.-summary TaskPane { display: none; }
    TasksScreen.-summary RunSummary { display: block; }
    """
    # Not a ClassVar annotation: Textual declares it on Screen as an instance variable.
    HORIZONTAL_BREAKPOINTS = [  # noqa: RUF012
        (0, "-narrow"),
        (120, "-wide"),  # room for the agents' columns (tokens, cost, what they do now)
    ]

    _DYNAMIC: ClassVar[tuple[str, ...]] = ("search", "search_step", "clear_search")
    """Actions whose availability depends on the selection (the footer is redrawn on a change)."""

    def __init__(self, model: RunModel, now: Callable[[], float]) -> None:
        super().__init__()
        self.model = model
        self._now = now
        self.selected = 0
        self.rows: list[str] = model.order
        """The tasks in the list: all of them (the model's own order), or those in the state
        the filter shows."""
        self.state_filter: TaskState | None = None
        self.folded: set[str] = set()
        """Best-of-N groups (their judges' names) whose replicas the list hides."""
        self._keys: tuple[bool | None, ...] = ()

    def make_status_bar(self) -> StatusBar:
        raise NotImplementedError

    def compose(self) -> ComposeResult:
        yield self.make_status_bar()
        with Horizontal(id="body"):
            yield TaskList(self.model, self._now)
            yield TaskPane(self._now)
            yield RunSummary(self.model)
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
        rows = self.rows
        if not rows:
            return None
        return self.model.tasks[rows[min(self.selected, len(rows) - 1)]]

    def on_mount(self) -> None:
        self.task_list.sync()
        self._select(0)

    def tick(self) -> None:
        """A second passed: redraw the times (and the list's restart countdowns)."""
        self.pane.title_bar.refresh()
        self.task_list.refresh()

    # -- selection -------------------------------------------------------------------------------

    def _select(self, index: int) -> None:
        rows = self.rows
        if not rows:
            return
        self.selected = max(0, min(index, len(rows) - 1))
        self.remove_class("-summary")  # a task chosen: its output, not the summary
        self.task_list.select(self.selected)
        info = self.model.tasks[rows[self.selected]]
        self.pane.show(info)
        self.selection_changed(info)
        self._refresh_keys()

    def selection_changed(self, info: TaskInfo) -> None:
        """Hook: another task is shown."""

    def action_move(self, delta: int) -> None:
        self._select(self.selected + delta)

    def action_next_pane(self) -> None:
        if self.rows:
            self._select((self.selected + 1) % len(self.rows))

    def action_previous_pane(self) -> None:
        if self.rows:
            self._select((self.selected - 1) % len(self.rows))

    def action_next_failed(self) -> None:
        """Select the next failed task after the selected one (wrapping around)."""
        if self.state_filter not in (None, TaskState.FAILED) and any(
            t.state is TaskState.FAILED for t in self.model.tasks.values()
        ):
            self.set_filter(None)  # the failed tasks are hidden: show them again
        rows, tasks = self.rows, self.model.tasks
        for step in range(1, len(rows) + 1):
            index = (self.selected + step) % len(rows)
            if tasks[rows[index]].state is TaskState.FAILED:
                self._select(index)
                return
        self.notify("no task has failed", timeout=3)

    def action_filter_state(self) -> None:
        """Show only the tasks in one state, the next state with tasks at each press, then all."""
        counts = self.model.counts()
        choices: list[TaskState | None] = [None, *(s for s in STATE_ORDER if counts.get(s))]
        current = self.state_filter
        at = choices.index(current) if current in choices else 0
        self.set_filter(choices[(at + 1) % len(choices)])

    def set_filter(self, state: TaskState | None) -> None:
        """List every task (None) or only those in `state`; the selected task stays selected
        when it is still listed."""
        selected = self.selected_info
        self.state_filter = state
        self.refilter()
        rows = self.rows
        keep = selected.task_id if selected is not None else None
        self._select(rows.index(keep) if keep in rows else 0)

    def follow_filter(self) -> None:
        """States changed: with a filter on, list the tasks now in its state (the selected task
        stays selected while it is listed)."""
        if self.state_filter is None and not self.folded:
            return
        before = self.rows
        self.refilter()
        if self.rows != before:
            self.set_filter(self.state_filter)

    def refilter(self) -> None:
        """The tasks' states changed (or the filter did): list the ones it lets through."""
        state, tasks, folded = self.state_filter, self.model.tasks, self.folded
        rows = (
            self.model.order
            if state is None
            else [t for t in self.model.order if tasks[t].state is state]
        )
        if folded:
            hidden: dict[str, int] = {}
            for t in self.model.order:
                group = tasks[t].group
                if group in folded and t != group:
                    hidden[group] = hidden.get(group, 0) + 1
            for group in folded:
                if group in tasks:
                    tasks[group].folded = hidden.get(group, 0)
            rows = [t for t in rows if tasks[t].group not in folded or t == tasks[t].group]
        self.rows = rows
        task_list = self.task_list
        task_list.rows = self.rows
        task_list.sync()
        bar = self.status_bar
        bar.shown = "" if state is None else f"{look(state).label} only ({len(self.rows)})"
        bar.refresh()

    def action_fold(self) -> None:
        """Fold the selected task's best-of-N group under its judge's row, or unfold it."""
        info = self.selected_info
        if info is None or not info.group or info.group not in self.model.tasks:
            self.notify("not part of a best-of-N group: nothing to fold", timeout=3)
            return
        group = info.group
        if group in self.folded:
            self.folded.discard(group)
            self.model.tasks[group].folded = 0
        else:
            self.folded.add(group)
        self.refilter()
        rows = self.rows
        self._select(rows.index(group) if group in rows else 0)

    @on(TaskList.Clicked)
    def _clicked(self, event: TaskList.Clicked) -> None:
        self._select(event.index)

    def all_ended(self) -> bool:
        tasks = self.model.tasks.values()
        return bool(tasks) and all(t.state.ended for t in tasks)

    def action_summary(self) -> None:
        """The run's summary in the pane's place (again: back to the pane)."""
        if self.has_class("-summary"):
            self.remove_class("-summary")
        elif self.all_ended():
            self.query_one(RunSummary).show(self._now())
            self.add_class("-summary")

    def action_zoom(self) -> None:
        self.toggle_class("-zoomed")

    # -- output ----------------------------------------------------------------------------------

    @property
    def _view(self) -> OutputView:
        return self.pane.output

    def action_search(self) -> None:
        self.pane.open_search()

    def action_search_again(self) -> None:
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

    def action_toggle_wrap(self) -> None:
        view = self._view
        view.set_wrap(not view.wrap)
        self.notify("long lines wrap" if view.wrap else "long lines cut: ← → scroll", timeout=2)

    # -- copy ------------------------------------------------------------------------------------

    def action_select_lines(self) -> None:
        self.pane.start_selecting()

    def action_copy(self) -> None:
        """Copy what is selected (the mouse's or `V`'s), else the agent's last result."""
        if self._view.has_selection:
            self.pane.copy_selection()
            return
        info = self.selected_info
        if info is None or not info.result:
            return
        # OSC 52 through the app's own terminal: the clipboard of the user's machine, over SSH
        # and through tmux (set-clipboard) alike.
        self.app.copy_to_clipboard(info.result)
        self.notify(f"copied {info.task_id}'s result ({len(info.result):,} characters)")

    def action_top(self) -> None:
        self._view.scroll_to(y=0, animate=False)

    def action_bottom(self) -> None:
        self._view.set_follow(True)

    # -- which keys apply now --------------------------------------------------------------------

    def _refresh_keys(self) -> None:
        """Redraw the footer only when a key became enabled or disabled: the footer rebuilds
        itself on every refresh, which would be wasted work (and flicker) on each batch."""
        keys = tuple(self.check_action(action, ()) for action in self._DYNAMIC)
        if keys != self._keys:
            self._keys = keys
            self.refresh_bindings()

    def searching(self) -> bool:
        info = self.selected_info
        return info is not None and info.view.search is not None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("search_step", "clear_search"):
            return self.searching()
        if action == "search":
            # While searching, n / N take its place in the footer (room at 80 columns).
            return not self.searching()
        if action == "summary":
            return True if self.all_ended() or self.has_class("-summary") else None
        if action == "copy":
            info = self.selected_info
            return True if self._view.has_selection or (info and info.result) else None
        return True
