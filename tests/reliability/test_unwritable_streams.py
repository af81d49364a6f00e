"""A headless run whose stdout or stderr cannot be written still runs, logs and records truly.

The guarantee: with stdout or stderr closed (`>&-`, `2>&-`) or failing (`/dev/full`), every task
runs to its end (a failed stream never cancels one), every log is complete, the history records
the run as it ended (never `lost`), the failure is said once on stderr where stderr can be
written, and the run exits 1 (README, exit codes: the output could not be written).
"""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.helpers import cli_argv

REDIRECTIONS = {
    ">/dev/full": "cannot write to stdout: No space left on device",
    ">&-": "cannot write to stdout: it is closed",
    "2>&-": None,  # nowhere left to say it: the exit code says it
    "2>/dev/full": None,
}


@pytest.mark.parametrize("redirection", list(REDIRECTIONS))
def test_an_unwritable_stream_loses_no_task_no_log_and_no_history(
    tmp_path: Path, redirection: str
) -> None:
    argv = [
        *cli_argv(),
        "run",
        "--no-ui",
        "-c",
        "echo=echo one; sleep 0.3; echo two",
        "-c",
        "echo-2=echo b",
    ]
    line = f"exec {shlex.join(argv)} {redirection}"
    proc = subprocess.run(["sh", "-c", line], capture_output=True, timeout=60)
    said = proc.stderr.decode()
    assert proc.returncode == 1, said
    assert "Traceback" not in said
    expected = REDIRECTIONS[redirection]
    if expected is not None:
        assert [x for x in said.splitlines() if x.startswith("oneshot-tui:")] == [
            f"oneshot-tui: error: {expected}; the run goes on, every line is in its log under "
            f"{next((tmp_path / 'data' / 'runs').iterdir())}"
        ]
        assert "run " in said and ": all tasks completed" in said  # the summary still came
    if redirection.startswith("2"):
        lines = sorted(proc.stdout.decode().splitlines())
        assert lines == ["echo   | one", "echo   | two", "echo-2 | b"]
    shown = subprocess.run([*cli_argv(), "show", "last", "--json"], capture_output=True, text=True)
    record = json.loads(shown.stdout)
    assert record["run"]["status"] == "finished"
    assert [(t["name"], t["state"], t["exit_code"]) for t in record["tasks"]] == [
        ("echo", "completed", 0),
        ("echo-2", "completed", 0),
    ]
    logs = {t["name"]: Path(t["log"]).read_text() for t in record["tasks"]}
    assert logs == {"echo": "one\ntwo\n", "echo-2": "b\n"}
