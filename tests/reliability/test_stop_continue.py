"""A headless run that is stopped (SIGTSTP, Ctrl-Z) and continued does not count the stopped
time as its tasks' silence: a task that kept printing is not marked idle for it."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.fakes import fake
from tests.helpers import cli_argv

IDLE = ["--idle-threshold", "1", "--heartbeat-interval", "0.1"]
STOPPED = 3.0
"""Seconds the run is stopped: well over the idle threshold below."""


def test_a_stopped_and_continued_run_does_not_mark_a_busy_task_idle(data_dir: Path) -> None:
    ticker = f"{sys.executable} {fake('ticker.py')} tick 0.1 60"
    proc = subprocess.Popen(
        [*cli_argv(), "run", "--no-ui", "--data-dir", str(data_dir), *IDLE, "-c", ticker],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    proc.stdout.readline()  # it runs and prints
    proc.send_signal(signal.SIGTSTP)
    time.sleep(STOPPED)
    proc.send_signal(signal.SIGCONT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "-> idle" not in err, err
