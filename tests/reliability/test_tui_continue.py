"""After SIGTSTP and SIGCONT (Ctrl-Z, then `fg`), the TUI repaints all of its screen at once, not
just what changes next: a screen scribbled over while it was stopped is whole again, no key
needed."""

from __future__ import annotations

import os
import shlex
import signal
import sys
import time
from pathlib import Path

from tests.fakes import fake
from tests.helpers import cli_argv
from tests.ui.tmux import Tmux, environment, needs_tmux

pytestmark = needs_tmux


def test_the_tui_repaints_everything_after_sigcont(tmux: Tmux, tmp_path: Path) -> None:
    quiet = f"{sys.executable} {fake('quiet.py')} still-here"
    tmux.start(shlex.join([*cli_argv(), "run", "-c", quiet]), environment(tmp_path))
    tmux.wait_text("still-here")
    shell = int(tmux.show("#{pane_pid}"))
    pid = int(Path(f"/proc/{shell}/task/{shell}/children").read_text().split()[0])  # the TUI
    os.kill(pid, signal.SIGTSTP)
    deadline = time.monotonic() + 30
    while Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "T":
        assert time.monotonic() < deadline, "the TUI never stopped"
        time.sleep(0.05)
    with open(tmux.show("#{pane_tty}"), "w") as tty:  # what a shell prints meanwhile
        tty.write("\x1b[2J\x1b[H" + "scribble\n" * 40)
    assert "still-here" not in tmux.screen()
    os.kill(pid, signal.SIGCONT)
    screen = tmux.wait_for(lambda s: "still-here" in s and "scribble" not in s, timeout=30)
    assert "quiet" in screen or "python3" in screen
