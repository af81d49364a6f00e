"""A tmux server of our own for tests that drive the real `oneshot-tui` in a real terminal."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Tmux:
    """One tmux server of our own (its own socket), running one command in a fixed-size window."""

    def __init__(self, socket: str) -> None:
        self.socket = socket

    def close(self) -> None:
        self.run("kill-server")
        socket_dir = Path(os.environ.get("TMUX_TMPDIR", "/tmp")) / f"tmux-{os.getuid()}"
        (socket_dir / self.socket).unlink(missing_ok=True)  # kill-server leaves it behind

    def run(self, *args: str) -> str:
        proc = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=False
        )
        return proc.stdout

    def start(
        self,
        command: str,
        env: dict[str, str],
        size: tuple[int, int] = (100, 30),
        config: Path | None = None,
    ) -> None:
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        # After the app ends, print its exit code and keep the window open for us to read.
        # Without -u, a COLUMNS/LINES of 80x24 leaks in from the shell tmux starts (seen under
        # pytest), and the app draws at 80x24 whatever the window's size.
        shell = f"env -u COLUMNS -u LINES {exports} {command}; echo EXIT=$?; sleep 600"
        width, height = size
        conf = str(config) if config is not None else "/dev/null"
        subprocess.run(
            [
                *("tmux", "-L", self.socket, "-f", conf, "new-session", "-d", "-s", "t"),
                *("-x", str(width), "-y", str(height), shell),
            ],
            check=True,
        )

    def show(self, fmt: str, target: str = "t") -> str:
        """A tmux format for a pane, e.g. `#{pane_title}`, `#{alternate_on}`."""
        return self.run("display-message", "-p", "-t", target, fmt).strip()

    def buffers(self) -> str:
        """Every paste buffer's name and sample (OSC 52 that reaches tmux makes one)."""
        return self.run("list-buffers")

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


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def app_pid_above(child: int) -> int:
    """The `oneshot-tui` process that started `child` (up through any `sh -c`)."""
    pid = parent_of(child)
    while "oneshot" not in Path(f"/proc/{pid}/cmdline").read_text():
        pid = parent_of(pid)
    return pid
