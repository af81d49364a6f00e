"""A pane: the title bar, the output and (while typing a search) a search field."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input

from oneshot_tui.core.states import TaskState
from oneshot_tui.ui.buffer import Search
from oneshot_tui.ui.model import TaskInfo
from oneshot_tui.ui.widgets.line_select import LineSelect
from oneshot_tui.ui.widgets.output_view import OutputView
from oneshot_tui.ui.widgets.pane_title import PaneTitle
from oneshot_tui.ui.widgets.terminal_input import TerminalInput


class SearchInput(Input):
    """The search field: enter searches, escape gives up."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", show=False)]

    class Cancelled(Message):
        pass

    def action_cancel(self) -> None:
        self.post_message(self.Cancelled())


def _empty_text(info: TaskInfo) -> str:
    if info.state is TaskState.CREATED:
        if info.waiting:
            return f"(waiting for {info.waiting})"
        return "(queued: waiting for a free slot)"
    return "(no output yet)" if info.state.active else "(no output)"


class TaskPane(Vertical):
    """Shows one task at a time; the screen tells it which (`show`) and when it grew."""

    DEFAULT_CSS = """
    TaskPane {
        width: 1fr;
        height: 1fr;
    }
    TaskPane OutputView { height: 1fr; }
    TaskPane SearchInput {
        display: none;
        dock: bottom;
        height: 1;
        border: none;
        padding: 0 1;
        background: $boost;
    }
    TaskPane SearchInput:focus { border: none; }
    TaskPane.-searching SearchInput { display: block; }
    """

    class SearchChanged(Message):
        """A search started, moved or ended (the keys n / N / esc change meaning)."""

    def __init__(self, now: Callable[[], float], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._now = now
        self.info: TaskInfo | None = None
        self._anchor = 0
        """The line a keyboard selection started on (absolute number)."""
        self._cursor = 0
        """The line its moving end is on."""

    def compose(self) -> ComposeResult:
        yield PaneTitle(self._now)
        yield OutputView()
        yield SearchInput(placeholder="search the output (enter: find, esc: cancel)")
        yield TerminalInput()
        yield LineSelect()

    @property
    def title_bar(self) -> PaneTitle:
        return self.query_one(PaneTitle)

    @property
    def output(self) -> OutputView:
        return self.query_one(OutputView)

    # -- input mode ----------------------------------------------------------------------------

    @property
    def typing(self) -> bool:
        return self.query_one(TerminalInput).task_id is not None

    def start_typing(self) -> None:
        if self.info is not None:
            self.query_one(TerminalInput).start(self.info.task_id)

    def stop_typing(self) -> None:
        field = self.query_one(TerminalInput)
        if field.task_id is not None:
            field.stop()
            self.screen.set_focus(None)

    @on(TerminalInput.Left)
    def _left_typing(self, event: TerminalInput.Left) -> None:
        event.stop()
        self.stop_typing()

    def show(self, info: TaskInfo) -> None:
        if info is not self.info:
            self.stop_selecting()
        self.info = info
        self.title_bar.show(info)
        view = self.output
        view.empty_text = _empty_text(info)
        view.show(info.buffer, info.view)

    def refresh_title(self) -> None:
        self.title_bar.refresh()
        if self.info is not None:
            text = _empty_text(self.info)
            if text != self.output.empty_text:  # queued -> running: the view must redraw it
                self.output.empty_text = text
                self.output.refresh()

    # -- selecting lines (the keyboard's way; the mouse selects through Textual) --------------

    def start_selecting(self) -> None:
        """Select the last line in view; the arrows then extend the range from it."""
        view = self.output
        buffer = view.buffer
        if buffer is None or not buffer.rows:
            return
        self._anchor = self._cursor = view.last_visible_line()
        self.query_one(LineSelect).start()
        self._show_selection()

    def stop_selecting(self) -> None:
        field = self.query_one(LineSelect)
        if field.active:
            field.stop()
            self.screen.set_focus(None)
        self.output.clear_selection()

    def _show_selection(self) -> None:
        view = self.output
        view.select_lines(self._anchor, self._cursor)
        view.bring_into_view(self._cursor)
        first, last = sorted((self._anchor, self._cursor))
        self.query_one(LineSelect).describe(first, last)

    @on(LineSelect.Moved)
    def _selection_moved(self, event: LineSelect.Moved) -> None:
        event.stop()
        view = self.output
        buffer = view.buffer
        if buffer is None:
            return
        page = max(view.scrollable_content_region.height - 1, 1)
        cursor = self._cursor + event.lines + event.pages * page
        self._cursor = max(min(cursor, buffer.end + len(buffer.live) - 1), buffer.start)
        self._show_selection()

    @on(LineSelect.Copy)
    def _selection_copied(self, event: LineSelect.Copy) -> None:
        event.stop()
        self.copy_selection()

    @on(LineSelect.Cancelled)
    def _selection_cancelled(self, event: LineSelect.Cancelled) -> None:
        event.stop()
        self.stop_selecting()

    def copy_selection(self) -> None:
        """Copy the selected text (OSC 52: the user's own clipboard, over SSH and tmux too)."""
        view = self.output
        selection = view.text_selection
        got = view.get_selection(selection) if selection is not None else None
        self.stop_selecting()
        if got is None:
            return
        text = got[0]
        self.app.copy_to_clipboard(text)
        lines = text.count("\n") + 1
        self.notify(f"copied {lines:,} line{'s' if lines != 1 else ''} ({len(text):,} characters)")

    # -- search ------------------------------------------------------------------------------

    def open_search(self) -> None:
        field = self.query_one(SearchInput)
        search = self.info.view.search if self.info else None
        field.value = search.term if search else ""
        self.add_class("-searching")
        field.focus()

    def _close_field(self) -> None:
        self.remove_class("-searching")
        self.screen.set_focus(None)

    @on(SearchInput.Cancelled)
    def _cancelled(self) -> None:
        self._close_field()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._close_field()
        term = event.value
        if self.info is None:
            return
        if not term:
            self.clear_search()
            return
        search = Search(term)
        search.scan(self.info.buffer)
        view = self.output
        bottom = view.scroll_top_line() + view.scrollable_content_region.height - 1
        search.nearest_at_or_before(bottom)
        self.info.view.search = search
        view.search_changed()
        self.title_bar.refresh()
        self.post_message(self.SearchChanged())

    def step_search(self, delta: int) -> None:
        search = self.info.view.search if self.info else None
        if search is None:
            return
        search.step(delta)
        self.output.search_changed()
        self.title_bar.refresh()
        self.post_message(self.SearchChanged())

    def clear_search(self) -> None:
        if self.info is None or self.info.view.search is None:
            return
        self.info.view.search = None
        self.output.search_changed()
        self.title_bar.refresh()
        self.post_message(self.SearchChanged())
