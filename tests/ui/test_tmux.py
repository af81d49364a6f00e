"""The real `oneshot-tui run` in a real terminal (tmux): keys in, screen text out."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from tests.fakes import fake
from tests.helpers import cli_argv, pid_alive
from tests.ui.tmux import Tmux, environment, needs_tmux, quiet_pids

pytestmark = needs_tmux


def task_file(tmp_path: Path) -> Path:
    path = tmp_path / "tasks.toml"
    quiet = f"{sys.executable} {fake('quiet.py')}"
    path.write_text(
        f"""
[run]
max_concurrent = 4
grace = "2s"
idle_threshold = "off"

[[task]]
name = "hello"
command = "echo hello from tmux; printf '\\\\033[31mred\\\\033[0m\\\\n'"

[[task]]
name = "waiter"
command = "{quiet} waiting-for-you"

[[task]]
name = "broken"
command = "echo about to fail; exit 3"
"""
    )
    return path


def test_keys_drive_the_real_tui_and_quit_prints_the_summary(tmux: Tmux, tmp_path: Path) -> None:
    command = shlex.join([*cli_argv(), "run", str(task_file(tmp_path))])
    tmux.start(command, environment(tmp_path))
    screen = tmux.wait_text("hello from tmux")
    assert "\x1b" not in screen and "[31m" not in screen  # colour codes rendered, not printed
    assert "slots" in screen and "run " in screen
    tmux.wait_for(lambda s: "broken" in s and "exit 3" in s)  # the list: its exit, in red
    tmux.keys("j")  # select the waiter
    tmux.wait_text("waiting-for-you")
    pids = quiet_pids("waiting-for-you")
    assert pids
    tmux.keys("q")  # it still runs: we are asked first
    tmux.wait_text("still running")
    tmux.keys("n")
    tmux.wait_for(lambda s: "still running" not in s)
    tmux.keys("i")  # interrupt it (quiet.py exits on SIGINT)
    tmux.wait_text("interrupted")
    tmux.keys("q")  # nothing runs now: quit at once
    screen = tmux.wait_text("EXIT=")
    assert "EXIT=1" in screen
    lines = screen.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("TASK "))
    table = "\n".join(lines[header : header + 4])
    assert "hello   completed" in table
    assert "waiter  interrupted" in table
    assert "broken  failed       3" in table
    assert not any(pid_alive(pid) for pid in pids)


def test_exit_on_finish_returns_the_headless_exit_code(tmux: Tmux, tmp_path: Path) -> None:
    command = shlex.join([*cli_argv(), "run", "--exit-on-finish", "-c", "echo ok", "-c", "true"])
    tmux.start(command, environment(tmp_path), size=(80, 24))
    screen = tmux.wait_text("EXIT=")
    assert "EXIT=0" in screen and "all tasks completed" in screen


def test_ctrl_c_with_tasks_running_asks_then_stops_them(tmux: Tmux, tmp_path: Path) -> None:
    quiet = f"{sys.executable} {fake('quiet.py')} still-here"
    command = shlex.join([*cli_argv(), "run", "-c", quiet, "--grace", "2"])
    tmux.start(command, environment(tmp_path), size=(80, 24))
    tmux.wait_text("still-here")
    pids = quiet_pids("still-here")
    tmux.keys("C-c")
    tmux.wait_text("still running")
    tmux.keys("y")
    screen = tmux.wait_text("EXIT=")
    assert "EXIT=1" in screen and "interrupted" in screen
    assert pids and not any(pid_alive(pid) for pid in pids)
