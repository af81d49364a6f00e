"""kill -9 of oneshot-tui loses no byte it had already read from a task's pipe.

The guarantee: what leaves the child's pipe goes to the task's log (one os.write of what one
os.read returned, no buffer of ours in between) before anything else happens to it, and while
the run waits (for room for a slow client) it reads no more. So after a kill -9, the log is an
exact prefix of what the child wrote, and it lacks at most what was still in the kernel's pipe
(the child's last successful write() tells how much it had handed over, the pipe's capacity how
much of that can have been in the pipe), plus, if the kill lands in the instant between a read
and its write, that one read (README: what kill -9 can lose).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from tests.fakes import fake
from tests.helpers import cli_argv


def expected_stream(size: int) -> bytes:
    lines = (size + 9) // 10
    return "".join(f"{i:09d}\n" for i in range(lines)).encode()[:size]


def wait_for(check: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    assert callable(check)
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_kill_9_loses_only_what_was_still_in_the_kernel_pipe(
    data_dir: Path, tmp_path: Path
) -> None:
    record = tmp_path / "record.json"
    proc = subprocess.Popen(
        [
            *cli_argv(),
            "run",
            "--json",
            "--data-dir",
            str(data_dir),
            "-c",
            f"{sys.executable} {fake('numbered_until_epipe.py')} {record}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: list(data_dir.glob("runs/*/control.sock")))
        (run_dir,) = (p.parent for p in data_dir.glob("runs/*/control.sock"))
        wait_for(lambda: list(run_dir.glob("*.log")))
        with lossless_client_that_reads_nothing(run_dir):
            # The run waits for room for this client, and meanwhile reads nothing more of the
            # task: its pipe fills, and what the run had read is all in the log (it stops
            # growing). Before, asyncio's stream reader went on reading up to 128 KiB more.
            (log,) = run_dir.glob("*.log")
            sizes = [-1, log.stat().st_size]
            while sizes[-1] != sizes[-2]:
                time.sleep(0.5)
                sizes.append(log.stat().st_size)
            proc.kill()
            proc.wait(timeout=30)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    wait_for(record.exists)  # the child's next write fails once our end of its pipe is gone
    written = json.loads(record.read_text())
    logged = log.read_bytes()
    assert logged == expected_stream(len(logged))  # every byte in order, none twice
    missing = written["accepted"] - len(logged)
    assert 0 <= missing <= written["capacity"], (missing, written)


@contextlib.contextmanager
def lossless_client_that_reads_nothing(run_dir: Path) -> Iterator[None]:
    folder = os.open(run_dir, os.O_PATH)  # the socket's path may be too long for an address
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.connect(f"/proc/self/fd/{folder}/control.sock")
            client.sendall(b'{"cmd": "subscribe", "id": 1, "mode": "lossless"}\n')
            yield
    finally:
        os.close(folder)
