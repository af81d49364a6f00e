"""Live runs in a real terminal (tmux): detach and attach again with tasks still running and
output continuing, two TUIs at once, signals to the TUI itself (with and without
`on_hangup = "detach"`), and a run whose process dies under an attached TUI."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fakes import fake
from tests.helpers import cli_argv, pid_alive
from tests.ui.tmux import Tmux, environment, needs_tmux, quiet_pids

pytestmark = needs_tmux

TICKS = re.compile(r"tick (\d+)")


@pytest.fixture
def second(tmp_path: Path) -> Iterator[Tmux]:
    server = Tmux(f"oneshot-test-{os.getpid()}-{tmp_path.name}-2")
    try:
        yield server
    finally:
        server.close()


def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **environment(tmp_path)}
    return subprocess.run(
        [*cli_argv(), *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def live(tmp_path: Path) -> list[dict[str, object]]:
    runs: list[dict[str, object]] = json.loads(cli(tmp_path, "ps", "--json").stdout)
    return runs


def wait_for(cond: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.1)


def latest_tick(screen: str) -> int:
    ticks = [int(n) for n in TICKS.findall(screen)]
    return max(ticks) if ticks else -1


def tui_pid(tmux: Tmux) -> int:
    """The TUI's own process: the pane's shell runs it (the run's server is its child)."""
    shell = int(tmux.show("#{pane_pid}"))
    children = Path(f"/proc/{shell}/task/{shell}/children").read_text().split()
    return int(children[0])


TICKER = f"{sys.executable} {fake('counter.py')} 0.1"


def test_detach_and_attach_again_while_the_run_goes_on(
    tmux: Tmux, second: Tmux, tmp_path: Path
) -> None:
    quiet = f"{sys.executable} {fake('quiet.py')} still-there"
    command = shlex.join([*cli_argv(), "run", "--grace", "2", "-c", TICKER, "-c", quiet])
    tmux.start(command, environment(tmp_path))
    before = latest_tick(tmux.wait_for(lambda s: latest_tick(s) >= 3))
    tmux.keys("D")
    screen = tmux.wait_text("EXIT=")
    assert "EXIT=0" in screen and "detached: run" in screen
    [run] = live(tmp_path)
    run_id = str(run["run"])
    assert quiet_pids("still-there")  # the run went on without its terminal's TUI
    attach = shlex.join([*cli_argv(), "attach", run_id[:12]])
    # close, not a bare kill-server: the socket it leaves behind made the next new-session
    # fail now and then (the server still going away).
    tmux.close()
    tmux.start(attach, environment(tmp_path))
    second.start(shlex.join([*cli_argv(), "attach"]), environment(tmp_path))
    for client in (tmux, second):  # both show the run, its output still coming
        client.wait_for(lambda s: latest_tick(s) > before + 5)
    wait_for(lambda: live(tmp_path)[0]["clients"] == 3)  # two TUIs and our own question
    second.keys("q")  # an attached TUI asks: stop or detach
    second.wait_text("or detach?")
    second.keys("d")
    assert "EXIT=0" in second.wait_text("EXIT=")
    tmux.keys("q")
    tmux.wait_text("or detach?")
    tmux.keys("y")  # stop the run from an attached TUI
    screen = tmux.wait_text("EXIT=")
    assert "EXIT=1" in screen and "interrupted" in screen
    assert live(tmp_path) == [] and quiet_pids("still-there") == []


@pytest.mark.parametrize("detach", [False, True], ids=["stop", "on_hangup=detach"])
def test_sighup_to_the_tui_stops_the_run_unless_it_detaches_on_hangup(
    tmux: Tmux, tmp_path: Path, detach: bool
) -> None:
    quiet = f"{sys.executable} {fake('quiet.py')} hung-up"
    flags = ["--on-hangup", "detach"] if detach else []
    tmux.start(shlex.join([*cli_argv(), "run", *flags, "-c", quiet]), environment(tmp_path))
    tmux.wait_text("hung-up")
    os.kill(tui_pid(tmux), signal.SIGHUP)
    screen = tmux.wait_text("EXIT=")
    if detach:
        assert "EXIT=0" in screen or "EXIT=129" in screen
        assert quiet_pids("hung-up") and len(live(tmp_path)) == 1
        assert cli(tmp_path, "ctl", "last", "stop").returncode == 0
        wait_for(lambda: not quiet_pids("hung-up"))
    else:
        assert "EXIT=129" in screen
        assert quiet_pids("hung-up") == [] and live(tmp_path) == []


def test_sigterm_to_the_tui_itself_stops_the_run_with_143(tmux: Tmux, tmp_path: Path) -> None:
    quiet = f"{sys.executable} {fake('quiet.py')} termed"
    tmux.start(shlex.join([*cli_argv(), "run", "-c", quiet]), environment(tmp_path))
    tmux.wait_text("termed")
    os.kill(tui_pid(tmux), signal.SIGTERM)
    screen = tmux.wait_text("EXIT=")
    assert "EXIT=143" in screen and "interrupted" in screen
    assert quiet_pids("termed") == [] and live(tmp_path) == []


def test_an_attached_tui_says_so_when_the_runs_process_dies(tmux: Tmux, tmp_path: Path) -> None:
    quiet = f"{sys.executable} {fake('quiet.py')} orphaned-by-kill"
    started = cli(tmp_path, "run", "--detach", "-c", quiet)
    assert started.returncode == 0, started.stderr
    run_id = started.stdout.strip()
    [run] = live(tmp_path)
    tmux.start(shlex.join([*cli_argv(), "attach", run_id]), environment(tmp_path))
    tmux.wait_text("orphaned-by-kill")
    os.kill(int(str(run["pid"])), signal.SIGKILL)
    screen = tmux.wait_text("EXIT=")
    assert "EXIT=1" in screen and "ended before the run finished" in screen
    assert live(tmp_path) == []  # its stale socket is removed, never listed
    for pid in quiet_pids("orphaned-by-kill"):  # what `cleanup` is for; not this test's subject
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not any(pid_alive(p) for p in quiet_pids("orphaned-by-kill")))
