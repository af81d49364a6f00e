"""Every key of the main screen in one list: the bindings, the help screen and the README agree."""

from __future__ import annotations

from textual.binding import Binding, BindingType

MATCH = Binding.Group("match", compact=True)

MAIN_BINDINGS: list[BindingType] = [
    # Arrows are not in the footer: everyone tries them, and 80 columns have no room to spare.
    Binding("up,k", "move(-1)", "Previous task", show=False),
    Binding("down,j", "move(1)", "Next task", show=False),
    Binding("tab", "next_pane", "Next pane", show=False),
    Binding("shift+tab", "previous_pane", "Previous pane", show=False),
    Binding("enter,z", "zoom", "Zoom", key_display="z"),
    Binding("i", "interrupt", "Interrupt"),
    Binding("x", "kill", "Kill"),
    Binding("r", "restart", "Restart"),
    Binding("I", "interrupt_idle", "Stop idle", key_display="I"),
    Binding("slash", "search", "Search", key_display="/"),
    Binding("n", "search_step(1)", "Next match", group=MATCH),
    Binding("N", "search_step(-1)", "Previous match", key_display="N", group=MATCH),
    Binding("escape", "clear_search", "Clear search", show=False),
    # Not in the footer (room at 80 columns): the "N new lines" marker says when it matters.
    Binding("f", "follow", "Follow", show=False),
    Binding("pageup", "page(-1)", "Page up", show=False),
    Binding("pagedown", "page(1)", "Page down", show=False),
    Binding("shift+up", "scroll_lines(-1)", "Scroll up", show=False),
    Binding("shift+down", "scroll_lines(1)", "Scroll down", show=False),
    Binding("left,h", "scroll_columns(-8)", "Scroll left", show=False),
    Binding("right,l", "scroll_columns(8)", "Scroll right", show=False),
    Binding("home,g", "top", "Oldest line", show=False),
    Binding("end,G", "bottom", "Newest line (follow)", show=False),
    Binding("question_mark", "help", "Help", key_display="?"),
    Binding("q", "quit", "Quit"),
    Binding("ctrl+c", "quit", "Quit", show=False),
]

HELP_ROWS: list[tuple[str, str]] = [
    ("↑ ↓  k j", "select the previous / next task"),
    ("tab  shift+tab", "next / previous pane (wraps around)"),
    ("enter  z", "zoom the selected pane (again: back)"),
    ("i", "interrupt: SIGINT, SIGTERM, then SIGKILL"),
    ("x", "kill now: SIGKILL to its process group"),
    ("r", "restart: a new attempt in the same pane"),
    ("I", "interrupt every idle task"),
    ("/  n  N", "search the output; next / previous match"),
    ("esc", "clear the search"),
    ("f", "follow the newest output on / off"),
    ("pgup pgdn  shift+↑↓", "scroll by pages / lines (or the wheel)"),
    ("← →  h l", "scroll sideways (long lines are cut)"),
    ("home g  end G", "oldest line / newest line (follows)"),
    ("ctrl+p", "command palette: every action by name"),
    ("?", "this help"),
    ("q  ctrl+c", "quit; asks first if tasks still run"),
]
"""The help screen's table (and the README's): keys as a person reads them."""
