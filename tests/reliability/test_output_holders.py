"""Whoever holds a task's output belongs to the task, and a stop reaches it.

The guarantee: a descendant that leaves the task's process group (`setsid`) and scrubs its
environment (`env -i`, so no marker) is still stopped once the leader exits, because it holds
the task's pipe (found by the pipe's inode in /proc) or, where cgroup v2 is writable, because it
is in the task's cgroup. So a run never hangs on such a daemon, and nothing is left behind. The
cgroup catches even a daemon that also closed the pipe; without cgroups (`ONESHOT_TUI_CGROUPS=0`)
that one is the documented limit.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from oneshot_tui.runner.cgroups import ENV_SWITCH, cgroup_base
from tests.helpers import cli_argv, pid_alive

HAS_CGROUPS = cgroup_base() is not None
MODES = [
    pytest.param("1", marks=pytest.mark.skipif(not HAS_CGROUPS, reason="no writable cgroup2")),
    "0",
]
HANG = 30
"""Seconds after which a run counts as hung (the run itself takes well under one)."""

DAEMON = 'setsid env -i sh -c "echo daemon \\$\\$; while :; do echo tick; sleep 0.1; done" &'
"""A daemon outside the group, with no marker, that keeps the task's stdout open and busy."""


def run_cli(data_dir: Path, cgroups: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, ENV_SWITCH: cgroups}
    return subprocess.Popen(
        [*cli_argv(), "run", "--no-ui", "--data-dir", str(data_dir), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def pids_printed(text: str, word: str) -> list[int]:
    return [int(line.split()[-1]) for line in text.splitlines() if f"| {word} " in line]


@pytest.fixture
def strays() -> Iterator[list[int]]:
    """Pids a test saw; whatever of them is still alive at the end is killed (never left)."""
    seen: list[int] = []
    yield seen
    for pid in seen:
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)


def leftover_cgroups(pid: int) -> list[str]:
    base = cgroup_base()
    if base is None:
        return []
    return [name for name in os.listdir(base) if name.startswith(f"oneshot-tui-{pid}-")]


@pytest.mark.parametrize("cgroups", MODES)
def test_a_scrubbed_daemon_holding_the_pipe_does_not_hang_the_run_and_is_stopped(
    data_dir: Path, cgroups: str, strays: list[int]
) -> None:
    proc = run_cli(data_dir, cgroups, "--grace", "1", "-c", f"{DAEMON} echo leader-exits")
    out, err = proc.communicate(timeout=HANG)
    strays.extend(pids_printed(out, "daemon"))
    assert proc.returncode == 0, err
    assert "leader-exits" in out
    assert len(strays) == 1
    assert not pid_alive(strays[0])
    assert leftover_cgroups(proc.pid) == []


@pytest.mark.parametrize("cgroups", MODES)
def test_sigterm_stops_a_run_whose_task_has_a_scrubbed_daemon(
    data_dir: Path, cgroups: str, strays: list[int]
) -> None:
    # The daemon ignores SIGINT and SIGTERM: only the ladder's SIGKILL ends it.
    daemon = DAEMON.replace('sh -c "', "sh -c \"trap '' INT TERM; ")
    proc = run_cli(data_dir, cgroups, "--grace", "1", "-c", f"{daemon} exec sleep 100")
    assert proc.stdout is not None
    line = proc.stdout.readline()
    strays.extend(pids_printed(line, "daemon"))
    assert strays, line
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=HANG)
    assert proc.returncode == 143, err
    assert not pid_alive(strays[0])
    assert leftover_cgroups(proc.pid) == []


@pytest.mark.parametrize("cgroups", MODES)
def test_a_daemon_that_also_closed_the_pipe_is_stopped_only_by_the_cgroup(
    data_dir: Path, cgroups: str, strays: list[int]
) -> None:
    pid_file = data_dir / "daemon.pid"
    quiet = f'setsid env -i sh -c "exec >/dev/null 2>&1; echo \\$\\$ > {pid_file}; sleep 100" &'
    proc = run_cli(data_dir, cgroups, "--grace", "1", "-c", f"{quiet} sleep 0.5")
    _, err = proc.communicate(timeout=HANG)
    assert proc.returncode == 0, err
    strays.append(int(pid_file.read_text()))
    if cgroups == "1":
        assert not pid_alive(strays[0])
    else:
        # Out of the group, no marker, no descriptor of the task: nothing says it is the task's.
        assert pid_alive(strays[0])
    assert leftover_cgroups(proc.pid) == []
