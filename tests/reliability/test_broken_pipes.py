"""Every command stops quietly when the reader of its stdout goes away (`| head`, `| true`).

The guarantee: one mechanism in the entry point (cli/common.py `quiet_when_stdout_leaves`) turns a
broken pipe in any command into exit 141 (128 + SIGPIPE) with nothing on stderr: no traceback,
no complaint from the interpreter at exit. And `history -n -1` is a usage error (exit 2).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers import cli_argv


@pytest.fixture
def a_run(data_dir: Path) -> None:
    """One recorded run whose log is bigger than a pipe holds."""
    done = subprocess.run(
        [*cli_argv(), "run", "--no-ui", "-c", "seq 1 30000"], capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


COMMANDS = [
    ["history"],
    ["history", "--json"],
    ["show", "last"],
    ["show", "last", "--json"],
    ["logs", "last"],
    ["--help"],
]


@pytest.mark.usefixtures("a_run")
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_reader_gone_before_the_first_write_ends_the_command_quietly(
    command: list[str],
) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # `| true`: gone before anything is written
    try:
        proc = subprocess.run(
            [*cli_argv(), *command], stdout=write_end, stderr=subprocess.PIPE, timeout=60
        )
    finally:
        os.close(write_end)
    assert (proc.returncode, proc.stderr.decode()) == (141, "")


@pytest.mark.usefixtures("a_run")
def test_logs_into_head_stops_after_the_first_line_quietly() -> None:
    proc = subprocess.Popen(
        [*cli_argv(), "logs", "last"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline() == b"1\n"
    proc.stdout.close()  # `| head -1`: what is left (over 100 KiB) finds no reader
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert (proc.wait(timeout=60), err) == (141, "")


def test_a_negative_history_limit_is_a_usage_error() -> None:
    proc = subprocess.run([*cli_argv(), "history", "-n", "-1"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "argument -n/--limit: must be 0 or more, not -1" in proc.stderr
