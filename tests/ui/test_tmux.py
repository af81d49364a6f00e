"""The real `oneshot-tui run` in a real terminal (tmux): keys in, screen text out."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fakes import fake
from tests.helpers import cli_argv, pid_alive

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Tmux:
    """One tmux server of our own (its own socket), running one command in a fixed-size window."""

    def __init__(self, socket: str) -> None:
        self.socket = socket

    def run(self, *args: str) -> str:
        proc = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=False
        )
        return proc.stdout

    def start(self, command: str, env: dict[str, str], size: tuple[int, int] = (100, 30)) -> None:
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        # After the app ends, print its exit code and keep the window open for us to read.
        shell = f"env {exports} {command}; echo EXIT=$?; sleep 600"
        width, height = size
        subprocess.run(
            [
                *("tmux", "-L", self.socket, "-f", "/dev/null", "new-session", "-d", "-s", "t"),
                *("-x", str(width), "-y", str(height), shell),
            ],
            check=True,
        )

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-J", "-t", "t")  # -J: wrapped lines joined

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", "t", *keys)

    def wait_for(self, cond: Callable[[str], bool], timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            if cond(text):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"screen never matched; last screen:\n{text}")
            time.sleep(0.1)

    def wait_text(self, needle: str, timeout: float = 60) -> str:
        return self.wait_for(lambda text: needle in text, timeout)


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    server = Tmux(f"oneshot-test-{os.getpid()}-{tmp_path.name}")
    try:
        yield server
    finally:
        server.run("kill-server")
        socket_dir = Path(os.environ.get("TMUX_TMPDIR", "/tmp")) / f"tmux-{os.getuid()}"
        (socket_dir / server.socket).unlink(missing_ok=True)  # kill-server leaves it behind


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


def environment(tmp_path: Path) -> dict[str, str]:
    return {
        "ONESHOT_TUI_HOME": str(tmp_path / "data"),
        "HOME": os.environ["HOME"],
        "TERM": "xterm-256color",
        "PATH": os.environ["PATH"],
    }


def quiet_pids(marker: str) -> list[int]:
    """Processes running `quiet.py MARKER` (not the shells or the app whose argv mention it)."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            argv = Path(f"/proc/{name}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if len(argv) >= 3 and argv[1].endswith(b"quiet.py") and argv[2] == marker.encode():
            pids.append(int(name))
    return pids


def test_keys_drive_the_real_tui_and_quit_prints_the_summary(tmux: Tmux, tmp_path: Path) -> None:
    command = shlex.join([*cli_argv(), "run", str(task_file(tmp_path))])
    tmux.start(command, environment(tmp_path))
    screen = tmux.wait_text("hello from tmux")
    assert "\x1b" not in screen and "[31m" not in screen  # colour codes rendered, not printed
    assert "slots" in screen and "run " in screen
    tmux.wait_for(lambda s: "broken" in s and "failed" in s)
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


def test_sigterm_to_the_tui_stops_every_task_and_exits_143(tmux: Tmux, tmp_path: Path) -> None:
    quiet = f"{sys.executable} {fake('quiet.py')} term-me"
    command = shlex.join([*cli_argv(), "run", "-c", quiet, "--grace", "2"])
    tmux.start(command, environment(tmp_path), size=(80, 24))
    tmux.wait_text("term-me")
    pids = quiet_pids("term-me")
    assert pids
    app_pid = int(Path(f"/proc/{pids[0]}/stat").read_text().rsplit(")", 1)[1].split()[1])
    while "oneshot" not in Path(f"/proc/{app_pid}/cmdline").read_text():  # up through `sh -c`
        app_pid = int(Path(f"/proc/{app_pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    os.kill(app_pid, signal.SIGTERM)
    screen = tmux.wait_text("EXIT=")
    assert "EXIT=143" in screen and "stopped by SIGTERM" in screen
    assert not any(pid_alive(pid) for pid in pids)
