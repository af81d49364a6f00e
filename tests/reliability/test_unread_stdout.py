"""A stdout that nobody reads never freezes a headless run.

The guarantee: writes to stdout never block the engine. A reader that does not read slows only
the tasks whose lines wait for it (back-pressure; what it does read is every line, in order; a
task held back is not silent, so never idle for it),
while timers, other tasks' logs and signals go on: SIGTERM ends the run with 143 within its grace
even though stdout is never read.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.fakes import fake
from tests.helpers import cli_argv

WAIT = 30.0
"""Seconds to wait for something that must happen (a liveness bound, not a speed test)."""


def _wait_until(cond: Callable[[], bool], what: str, err: Path) -> None:
    deadline = time.monotonic() + WAIT
    while not cond():
        assert time.monotonic() < deadline, f"never happened: {what}; stderr: {err.read_text()}"
        time.sleep(0.05)


def _task_file(tmp_path: Path, tasks: str) -> Path:
    path = tmp_path / "tasks.toml"
    path.write_text(tasks)
    return path


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def test_an_unread_stdout_stops_neither_timers_nor_other_logs_nor_sigterm(tmp_path: Path) -> None:
    tasks = _task_file(
        tmp_path,
        f"""
[run]
grace = "1s"

[[task]]
name = "flood"
command = "yes"
idle_threshold = "0.5s"       # held back by the unread stdout, it is not silent:
idle_action = "interrupt"     # it must not be taken for idle, nor stopped as stalled
idle_timeout = "0.5s"

[[task]]
name = "sleeper"
command = "exec sleep 100"
timeout = "1s"

[[task]]
name = "ticker"
command = ["{sys.executable}", "{fake("ticker.py")}", "tick", "0.05", "100000"]
""",
    )
    unread, stdout = os.pipe()  # the read end stays open and is never read
    err = tmp_path / "stderr"
    with err.open("wb") as err_file:
        proc = subprocess.Popen(
            [*cli_argv(), "run", "--no-ui", str(tasks)], stdout=stdout, stderr=err_file
        )
    os.close(stdout)
    try:
        _wait_until(
            lambda: b"sleeper: running -> interrupted" in err.read_bytes(), "a timeout", err
        )
        assert b"(timeout after 1.0s)" in err.read_bytes()
        log = next((tmp_path / "data" / "runs").glob("*/ticker.log"))
        before = _lines(log)
        # 40 ticks (2 s): longer than the flood's idle threshold and timeout together.
        _wait_until(lambda: _lines(log) >= before + 40, "the ticker's log going on", err)
        proc.send_signal(signal.SIGTERM)
        # Never read, stdout must not hold the stop: the ladder's grace (1 s) and the end's short
        # wait for a reader (STOPPED_DRAIN) are all it may take.
        code = proc.wait(timeout=WAIT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(unread)
    text = err.read_text()
    assert code == 143, text
    assert "flood: running -> interrupted (received SIGTERM)" in text
    assert "flood: running -> idle" not in text
    assert "lines were not shown: stdout was not read while the run stopped" in text
    assert "run " in text and "exit 143 (stopped by SIGTERM)" in text


def test_a_late_reader_gets_every_line_in_order_and_timers_ran_meanwhile(tmp_path: Path) -> None:
    count = 300_000  # ~2 MB: more than the pipe, the writer and the bus hold together
    tasks = _task_file(
        tmp_path,
        f"""
[[task]]
name = "seq"
command = ["seq", "{count}"]

[[task]]
name = "sleeper"
command = "exec sleep 100"
timeout = "1s"
""",
    )
    err = tmp_path / "stderr"
    with err.open("wb") as err_file:
        proc = subprocess.Popen(
            [*cli_argv(), "run", "--no-ui", str(tasks)], stdout=subprocess.PIPE, stderr=err_file
        )
    try:
        # Nothing reads stdout yet; the sleeper's timeout fires all the same.
        _wait_until(
            lambda: b"sleeper: running -> interrupted" in err.read_bytes(), "a timeout", err
        )
        out, _ = proc.communicate(timeout=WAIT)
        code = proc.returncode
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert code == 1, err.read_text()
    seq = [line for line in out.decode().splitlines() if line.startswith("seq")]
    assert seq == [f"seq     | {n}" for n in range(1, count + 1)]
