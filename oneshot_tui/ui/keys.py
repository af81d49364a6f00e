"""Every key of the main screen in one list: the bindings, the help screen and the README agree.

A past run (history) is shown with the same panes and the same keys to move, search and scroll;
only the commands are missing, and esc / q go back.
"""

from __future__ import annotations

from textual.binding import Binding, BindingType

MATCH = Binding.Group("match", compact=True)

_SELECT: list[BindingType] = [
    # Arrows are not in the footer: everyone tries them, and 80 columns have no room to spare.
    Binding("up,k", "move(-1)", "Previous task", show=False),
    Binding("down,j", "move(1)", "Next task", show=False),
    Binding("tab", "next_pane", "Next task (wraps)", show=False),
    Binding("shift+tab", "previous_pane", "Previous task (wraps)", show=False),
    Binding("enter,z", "zoom", "Zoom", key_display="z"),
    # Not in the footer (room at 80 columns): in the help and the palette.
    Binding("e", "next_failed", "Next failed", show=False),
    Binding("F", "filter_state", "Filter by state", key_display="F", show=False),
    Binding("space", "fold", "Fold a best-of-N group", key_display="space", show=False),
    Binding("s", "summary", "Run summary", show=False),
]

_SEARCH: list[BindingType] = [
    Binding("slash", "search", "Search", key_display="/"),
    # The same key while a search is shown: `search` leaves the footer then (n N take its room),
    # and a disabled binding lets the key fall through to this one.
    Binding("slash", "search_again", "Search", key_display="/", show=False),
    Binding("n", "search_step(1)", "Next match", group=MATCH),
    Binding("N", "search_step(-1)", "Previous match", key_display="N", group=MATCH),
]

_COPY: list[BindingType] = [
    # Not in the footer (no room at 80 columns): in the help and the palette.
    Binding("V", "select_lines", "Select lines", key_display="V", show=False),
    Binding("y", "copy", "Copy", show=False),
]

_SCROLL: list[BindingType] = [
    # Not in the footer (room at 80 columns): the "N new lines" marker says when it matters.
    Binding("f", "follow", "Follow", show=False),
    Binding("pageup", "page(-1)", "Page up", show=False),
    Binding("pagedown", "page(1)", "Page down", show=False),
    Binding("shift+up", "scroll_lines(-1)", "Scroll up", show=False),
    Binding("shift+down", "scroll_lines(1)", "Scroll down", show=False),
    # Not in the footer (room at 80 columns): in the help and the palette.
    Binding("w", "toggle_wrap", "Wrap lines", show=False),
    # Only the arrows: h is the history. Sideways only with wrap off.
    Binding("left", "scroll_columns(-8)", "Scroll left", show=False),
    Binding("right", "scroll_columns(8)", "Scroll right", show=False),
    Binding("home,g", "top", "Oldest line", show=False),
    Binding("end,G", "bottom", "Newest line (follow)", show=False),
]

MAIN_BINDINGS: list[BindingType] = [
    *_SELECT,
    Binding("i", "interrupt", "Interrupt"),
    Binding("x", "kill", "Kill"),
    Binding("r", "restart", "Fresh start"),
    # In the footer only in a run with loop tasks, like v.
    Binding("c", "continue_task", "Continue"),
    Binding("m", "message", "Message"),
    # In the footer only in a run with PTY tasks, like v.
    Binding("t", "type_into", "Type"),
    *_COPY,
    Binding("I", "interrupt_idle", "Stop idle", key_display="I"),
    # In the footer only while a task needs you (tmux marks a window that rang with `!`).
    Binding("exclamation_mark", "next_needing", "Needs you", key_display="!"),
    # Not in the footer (no room at 80 columns): in the help and the palette.
    Binding("a", "add_task", "Add task", show=False),
    # In the footer only in a run with loop tasks (greyed for the others), see check_action.
    Binding("v", "verdicts", "Verdicts"),
    # Likewise: in the footer only in a run with worktree tasks.
    Binding("d", "diff", "Diff"),
    # Not in the footer (no room at 80 columns): in the help and the palette.
    Binding("M", "merge", "Merge back", key_display="M", show=False),
    *_SEARCH,
    Binding("escape", "clear_search", "Clear search", show=False),
    *_SCROLL,
    Binding("question_mark", "help", "Help", key_display="?"),
    # Not in the footer (no room at 80 columns): in the help and the palette.
    Binding("h", "history", "History", show=False),
    # Not in the footer (room at 80 columns): in the help, the palette and the quit prompt.
    Binding("D", "detach", "Detach", key_display="D", show=False),
    Binding("q", "quit", "Quit"),
    Binding("ctrl+c", "quit", "Quit", show=False),
]

PAST_RUN_BINDINGS: list[BindingType] = [
    *_SELECT,
    *_SEARCH,
    *_COPY,
    # esc clears a search first, then goes back to the list of runs; q goes back to the live run.
    Binding("escape", "back", "Back", key_display="esc"),
    *_SCROLL,
    Binding("q", "live", "Live run"),
]

HELP_ROWS: list[tuple[str, str]] = [
    ("↑ ↓  k j", "select the previous / next task"),
    ("tab  shift+tab", "next / previous task, wrapping around the list"),
    ("enter  z", "zoom the selected pane (again: back)"),
    ("e", "select the next failed task"),
    ("F", "filter: one state, the next at each press, then all"),
    ("space", "fold / unfold a best-of-N group under its judge"),
    ("s", "the run's summary, when every task has ended"),
    ("i", "interrupt: SIGINT, SIGTERM, then SIGKILL"),
    ("x", "kill now: SIGKILL to its process group"),
    ("r", "fresh start: a new attempt (a loop: a new loop)"),
    ("c", "continue an ended agent or loop in its session"),
    ("m", "message an agent: its next turn, or queued"),
    ("t  ctrl+a", "type into a pty task's terminal; ctrl+a leaves"),
    ("V", "select lines: ↑↓ extend, y copies, esc cancels (or drag the mouse)"),
    ("y", "copy the selection, else an agent's last result (OSC 52: over SSH too)"),
    ("I", "stop idle: interrupt every idle task"),
    ("!", "the next task that needs you (failed, denied, asks)"),
    ("a", "add a command or an agent task (a form)"),
    ("v", "a loop's verdicts, with the auditor's feedback"),
    ("d", "a worktree task's diff against its base"),
    ("M", "merge an ended worktree task's branch back"),
    ("/  n  N", "search (smart case); next / previous match"),
    ("esc", "clear the search"),
    ("f", "follow the newest output on / off"),
    ("pgup pgdn  shift+↑↓", "scroll by pages / lines (or the wheel)"),
    ("w", "wrap long lines on / off (on at start)"),
    ("← →", "scroll sideways, when wrap is off"),
    ("home g  end G", "oldest line / newest line (follows)"),
    ("h", "history: past runs, read-only (esc goes back)"),
    ("ctrl+p", "command palette: every action by name"),
    ("?", "this help"),
    ("D", "detach: the run goes on (attach finds it)"),
    ("q  ctrl+c", "quit; asks first (stop or detach) if tasks still run"),
]
"""The help screen's table (and the README's): keys as a person reads them."""
