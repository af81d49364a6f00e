"""Escape sequences in a task's output stay in its pane: the real app in a real terminal (tmux).

A task prints sequences that set the window title, write the clipboard (OSC 52, plain and
through a tmux passthrough), leave the alternate screen, move the cursor to the corners, clear
the screen and reset the terminal. First the same program runs bare in tmux, to show that tmux
obeys them there (so the checks below can see an escape); then it runs in the app, and none may
reach the terminal: the title, the paste buffers, the alternate screen and everything outside
the pane stay as the app drew them.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from tests.fakes import fake
from tests.helpers import cli_argv
from tests.ui.tmux import Tmux, environment, needs_tmux

pytestmark = needs_tmux


def clipboard_config(tmp_path: Path) -> Path:
    # "on": tmux turns an OSC 52 from a pane into a paste buffer (the default only forwards it).
    conf = tmp_path / "tmux.conf"
    conf.write_text("set -g set-clipboard on\n")
    return conf


def test_tmux_obeys_the_sequences_when_nothing_filters_them(tmp_path: Path) -> None:
    raw = Tmux(f"oneshot-raw-{tmp_path.name}")
    try:
        command = shlex.join([sys.executable, fake("escapes.py")])
        raw.start(command, environment(tmp_path), config=clipboard_config(tmp_path))
        raw.wait_text("after the escapes")
        assert "PWNED" in raw.show("#{pane_title}")
        assert "PWNED-CLIPBOARD" in raw.buffers()
    finally:
        raw.close()


def test_escape_sequences_in_output_never_leave_the_pane(tmux: Tmux, tmp_path: Path) -> None:
    task = shlex.join([sys.executable, fake("escapes.py")])
    command = shlex.join([*cli_argv(), "run", "--grace", "1", "-c", task])
    tmux.start(command, environment(tmp_path), config=clipboard_config(tmp_path))
    # The footer may be painted a frame after the pane on a busy machine: wait for both.
    screen = tmux.wait_for(lambda s: "after the escapes" in s and "q Quit" in s)
    title_before = tmux.show("#{pane_title}")
    assert "PWNED" not in title_before
    assert tmux.buffers() == ""  # no OSC 52 reached tmux
    assert tmux.show("#{alternate_on}") == "1"  # still on the app's screen
    lines = screen.rstrip("\n").splitlines()
    assert len(lines) == 30  # every row of the 100x30 window, none scrolled away
    assert "slots" in lines[0] and "q Quit" in lines[-1]  # status bar and footer intact
    for line in lines:
        at = line.find("PWNED")
        if at >= 0:  # the text around the sequences is shown, inside the pane only
            assert "│" in line[:at], line
    assert "PWNED-TITLE" not in screen and "CLIPBOARD" not in screen
    assert "before the escapes" in screen  # nothing was cleared
    # The app keeps drawing normally afterwards.
    tmux.keys("q")
    tmux.wait_text("still running")
    tmux.keys("y")
    screen = tmux.wait_text("EXIT=")
    assert "EXIT=1" in screen and "PWNED" not in screen
    assert "PWNED" not in tmux.show("#{pane_title}")
    assert tmux.buffers() == ""
    # The log keeps the bytes as the task wrote them.
    [log] = (tmp_path / "data" / "runs").glob("*/*.log")
    assert b"\x1b]52;c;" in log.read_bytes()
