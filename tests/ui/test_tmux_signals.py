"""SIGTERM, SIGHUP and SIGINT sent to the real TUI in a real terminal (tmux): every task is
interrupted (even ones that ignore SIGINT and SIGTERM, their grandchildren, and a descendant
that left the process group), every log is flushed, the exit code is 143 / 129 / 130, and no
process is left behind."""

from __future__ import annotations

import os
import re
import shlex
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fakes import fake
from tests.helpers import cli_argv, pid_alive
from tests.ui.tmux import Tmux, app_pid_above, environment, needs_tmux

pytestmark = needs_tmux

SIGNALS = [
    pytest.param(signal.SIGTERM, 143, id="SIGTERM"),
    pytest.param(signal.SIGHUP, 129, id="SIGHUP"),
    pytest.param(signal.SIGINT, 130, id="SIGINT"),
]
TICKER = (
    "import sys, time\n"
    "side = open(sys.argv[1], 'a')\n"
    "for i in range(10**6):\n"
    "    print(f'tick {i}', flush=True)\n"
    "    side.write(f'tick {i}\\n'); side.flush()  # after the line went to the pipe\n"
    "    time.sleep(0.02)\n"
)
PID_LINE = re.compile(rb"^(child|grandchild|escaped) (\d+)$", re.MULTILINE)


def wait_for(cond: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


@pytest.mark.parametrize(("sig", "code"), SIGNALS)
def test_a_signal_to_the_tui_interrupts_every_task_and_leaves_nothing(
    tmux: Tmux, tmp_path: Path, sig: int, code: int
) -> None:
    side = tmp_path / "ticks.txt"
    tasks = [
        f"{sys.executable} {fake('stubborn.py')}",  # ignores SIGINT/SIGTERM, so does its child
        f"{sys.executable} {fake('escaper.py')}",  # a descendant in a session of its own
        shlex.join([sys.executable, "-c", TICKER, str(side)]),
        f"{sys.executable} {fake('quiet.py')} quiet-one",
    ]
    argv = [*cli_argv(), "run", "--grace", "1", "--max-concurrent", "4"]
    for task in tasks:
        argv += ["-c", task]
    tmux.start(shlex.join(argv), environment(tmp_path))
    tmux.wait_text("slots 4/4")
    runs = tmp_path / "data" / "runs"

    def logs() -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in runs.glob("*/*.log")}

    def pids() -> dict[bytes, int]:
        return {kind: int(pid) for data in logs().values() for kind, pid in PID_LINE.findall(data)}

    wait_for(lambda: len(pids()) == 3 and side.exists() and len(side.read_text()) > 40)
    children = set(pids().values())
    os.kill(app_pid_above(pids()[b"child"]), sig)  # the app that runs the stubborn child
    screen = tmux.wait_text("EXIT=")
    assert f"EXIT={code}" in screen, screen
    assert f"stopped by {signal.Signals(sig).name}" in screen
    lines = screen.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("TASK "))
    rows = lines[header + 1 : header + 1 + len(tasks)]
    assert len(rows) == 4 and all(" interrupted " in row for row in rows), rows
    assert not any(pid_alive(pid) for pid in children)
    # The ticker's log holds every line it wrote, whole: nothing was lost in a buffer.
    [ticker_log] = [data for data in logs().values() if data.startswith(b"tick 0\n")]
    written = side.read_text().splitlines()
    logged = [line for line in ticker_log.decode().splitlines() if line.startswith("tick ")]
    assert logged[: len(written)] == written and len(logged) >= len(written) > 2
    assert ticker_log.endswith(b"\n")
