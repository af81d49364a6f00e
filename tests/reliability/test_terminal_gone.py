"""The TUI exits 129 with every task stopped when its terminal goes away (`tmux kill-server`
while it runs and draws), instead of hanging on writes to a terminal that is no more."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.fakes import fake
from tests.helpers import cli_argv
from tests.ui.tmux import Tmux, environment, needs_tmux, quiet_pids

pytestmark = needs_tmux

KEEPER = (
    "import signal, subprocess, sys\n"
    "signal.signal(signal.SIGHUP, lambda *_: None)  # outlive the terminal (reset at exec)\n"
    "code = subprocess.call(sys.argv[2:])\n"
    "open(sys.argv[1], 'w').write(str(code))\n"
)
"""Runs the TUI and writes its exit code to a file once it ends, terminal or not."""


def kill_hung_tui(exit_file: str) -> None:
    """SIGKILL a TUI that hung (the keeper running it names the exit file), never left behind."""
    for name in os.listdir("/proc"):
        try:
            argv = Path(f"/proc/{name}/cmdline").read_bytes().split(b"\0")
            children = Path(f"/proc/{name}/task/{name}/children").read_text().split()
        except OSError:
            continue
        if exit_file.encode() in argv:
            for child in children:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(child), signal.SIGKILL)


def test_the_tui_exits_129_and_stops_everything_when_its_terminal_goes_away(
    tmux: Tmux, tmp_path: Path
) -> None:
    exit_file = tmp_path / "exit"
    ticker = f"{sys.executable} {fake('counter.py')} 0.01"
    quiet = f"{sys.executable} {fake('quiet.py')} orphan-of-tty"
    tui = [*cli_argv(), "run", "--grace", "1", "-c", ticker, "-c", quiet]
    command = shlex.join([sys.executable, "-c", KEEPER, str(exit_file), *tui])
    tmux.start(command, environment(tmp_path))
    tmux.wait_text("tick 20")
    deadline = time.monotonic() + 60
    while not quiet_pids("orphan-of-tty"):
        assert time.monotonic() < deadline, "the quiet task never started"
        time.sleep(0.1)
    tmux.run("kill-server")
    deadline = time.monotonic() + 60
    try:
        while not exit_file.exists():
            assert time.monotonic() < deadline, "the TUI never exited"
            time.sleep(0.1)
    finally:
        kill_hung_tui(str(exit_file))
    assert exit_file.read_text() == "129"
    assert quiet_pids("orphan-of-tty") == []
    env = {**os.environ, **environment(tmp_path)}
    ps = subprocess.run(
        [*cli_argv(), "ps", "--json"], capture_output=True, text=True, env=env, check=True
    )
    assert json.loads(ps.stdout) == []
