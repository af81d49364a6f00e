"""After a kill -9 of oneshot-tui, `cleanup` stops what its tasks left: their process groups,
the descendants that left those groups (setsid) but still carry their task's marker variable,
and (where tasks run in cgroups) whatever is still in a dead oneshot-tui's task cgroup."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from oneshot_tui.runner.cgroups import ENV_SWITCH, cgroup_base
from tests.fakes import fake
from tests.helpers import cli_argv, pid_alive


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*cli_argv(), *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def run_until_escaped(
    data_dir: Path, command: str, env: dict[str, str]
) -> tuple[subprocess.Popen[str], int, str]:
    """`run --json -c COMMAND` until its task prints `escaped PID`: the run, PID and run id."""
    proc = subprocess.Popen(
        [*cli_argv(), "run", "--json", "--data-dir", str(data_dir), "-c", command],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    while True:
        event = json.loads(proc.stdout.readline())
        if event["event"] == "output" and event["line"].startswith("escaped"):
            return proc, int(event["line"].split()[1]), str(event["run"])


def kill_9_then_clean_up(data_dir: Path, proc: subprocess.Popen[str], escaped: int) -> str:
    """SIGKILL the run (it stops nothing), then `cleanup --yes`: it stops `escaped`, and a second
    `cleanup` finds nothing left. What the first one said."""
    proc.kill()
    proc.wait(timeout=30)
    assert proc.stdout is not None
    proc.stdout.close()
    assert pid_alive(escaped)
    done = cli(data_dir, "cleanup", "--yes", "--grace", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"pid {escaped} " in done.stdout
    assert not pid_alive(escaped)
    again = cli(data_dir, "cleanup")
    assert again.returncode == 0 and "nothing to clean up" in again.stdout, again.stdout
    return done.stdout


def test_cleanup_after_kill_9_stops_an_escapee_that_left_the_group(data_dir: Path) -> None:
    # Without cgroups, as on a machine that has none: the marker is all cleanup can go by.
    escaper = f"{sys.executable} {fake('escaper.py')}"
    proc, escaped, run_id = run_until_escaped(data_dir, escaper, {**os.environ, ENV_SWITCH: "0"})
    try:
        # The history has the process (and who it is) before the crash.
        deadline = time.monotonic() + 30
        while not json.loads(cli(data_dir, "show", run_id, "--json").stdout)["processes"]:
            assert time.monotonic() < deadline, "the process was never recorded"
            time.sleep(0.05)
        kill_9_then_clean_up(data_dir, proc, escaped)
    finally:
        if pid_alive(escaped):
            os.kill(escaped, signal.SIGKILL)


def test_cleanup_after_kill_9_stops_what_is_left_in_the_tasks_cgroup(data_dir: Path) -> None:
    # A daemon that scrubbed its environment (no marker) and left its group and session: only
    # the cgroup the task ran in still holds it.
    if cgroup_base() is None:
        pytest.skip("no writable cgroup2 here: the marker test above covers this machine")
    daemon = "env -i /bin/sh -c 'setsid sleep 300 </dev/null >/dev/null 2>&1 & echo escaped $!'"
    proc, escaped, _ = run_until_escaped(data_dir, f"{daemon}; sleep 300", dict(os.environ))
    try:
        said = kill_9_then_clean_up(data_dir, proc, escaped)
        assert "in cgroup oneshot-tui-" in said
    finally:
        if pid_alive(escaped):
            os.kill(escaped, signal.SIGKILL)
