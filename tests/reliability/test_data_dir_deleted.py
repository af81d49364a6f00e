"""A data dir deleted under a live run is noticed, said, and never reported as a success.

The guarantee: when a run's log files vanish (its run directory or the whole data dir removed
mid-run), a task still running is stopped as when its log cannot be written (what it writes
would be kept nowhere), every task whose log is gone says so in the summary, the summary names no
log file that no longer exists, and the run exits 1.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

from tests.fakes import fake
from tests.helpers import cli_argv


def test_a_data_dir_deleted_mid_run_is_said_and_the_run_exits_1(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ticker = f"exec {sys.executable} {fake('ticker.py')} tick 0.1 300"
    proc = subprocess.Popen(
        [
            *cli_argv(),
            "run",
            "--no-ui",
            "--data-dir",
            str(data),
            "-c",
            f"exec={ticker}",
            "-c",
            "echo=echo quick",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        # Both logs written (the short task has ended), the ticker still going:
        while not (
            (logs := list(data.glob("runs/*/*.log")))
            and len(logs) == 2
            and all(log.stat().st_size for log in logs)
        ):
            assert time.monotonic() < deadline and proc.poll() is None, "the logs never came"
            time.sleep(0.05)
        shutil.rmtree(data)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1, err
    summary = err[err.index("TASK ") :].splitlines()
    rows = summary[1:3]
    assert [row.split()[0:2] for row in rows] == [["exec", "interrupted"], ["echo", "completed"]]
    assert [row.split()[-1] for row in rows] == ["-", "-"]  # no log that does not exist
    said = "\n".join(summary)
    assert "exec: its log " in said and (
        "was deleted during the run; stopped to lose no more output" in said
    )
    assert "echo: exit 0; its log " in said and "echo.log was deleted during the run" in said
    assert summary[-1].endswith(": exit 1")
