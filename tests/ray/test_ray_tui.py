"""The TUI on the ray backend in a real terminal (tmux): the run starts, shows the remote output,
is in the history, and another terminal can attach to it while it runs."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

from tests.fakes import fake
from tests.helpers import cli_argv
from tests.ray.conftest import Cluster
from tests.ui.tmux import Tmux, environment, needs_tmux, quiet_pids

pytestmark = needs_tmux


def ray_environment(tmp_path: Path) -> dict[str, str]:
    # The driver must stay on loopback like the cluster (see conftest.py).
    return {**environment(tmp_path), "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}


def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **ray_environment(tmp_path)}
    return subprocess.run(
        [*cli_argv(), *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def test_the_tui_runs_on_ray_records_the_run_and_can_be_attached_to(
    ray_cluster: Cluster, tmux: Tmux, tmp_path: Path
) -> None:
    quiet = f"{sys.executable} {fake('quiet.py')} on-ray-tui"
    ray = ["--backend", "ray", "--ray-address", ray_cluster.address]
    # The first task is selected: its output is what the screen shows.
    argv = [*cli_argv(), "run", *ray, "-c", quiet, "-c", "echo hi from the node"]
    tmux.start(shlex.join(argv), ray_environment(tmp_path), size=(120, 30))
    screen = tmux.wait_for(lambda s: "on-ray-tui" in s or "EXIT=" in s, timeout=90)
    assert "EXIT=" not in screen, screen
    tmux.wait_text("✔ 1", timeout=60)  # the echo, on the node too (state words when room)
    assert quiet_pids("on-ray-tui")  # on the node (this machine)
    tmux.keys("D")  # detach: the run goes on
    assert "EXIT=0" in tmux.wait_text("EXIT=")
    [run] = json.loads(cli(tmp_path, "ps", "--json").stdout)
    tmux.close()  # kill-server and its socket: a new session right after needs both gone
    tmux.start(shlex.join([*cli_argv(), "attach", str(run["run"])]), ray_environment(tmp_path))
    tmux.wait_text("on-ray-tui")
    tmux.keys("q")
    tmux.wait_text("or detach?")
    tmux.keys("y")  # stop the run from the attached TUI
    assert "EXIT=1" in tmux.wait_text("EXIT=", timeout=90)
    assert quiet_pids("on-ray-tui") == []
    history = cli(tmp_path, "show", "last", "--json")
    assert history.returncode == 0, history.stderr
    shown = json.loads(history.stdout)
    assert shown["run"]["id"] == run["run"] and "ray" in shown["run"]["argv"]
    states = sorted(t["state"] for t in shown["tasks"])
    assert states == ["completed", "interrupted"], shown


def test_the_backend_connects_where_sys_stderr_is_no_file(ray_cluster: Cluster) -> None:
    # As under a TUI in the same process (Textual replaces sys.stderr with an object whose
    # fileno() is -1), with faulthandler off: ray.init turns it on, on sys.stderr, and failed
    # with "file.fileno() is not a valid file descriptor".
    code = f"""
import anyio, faulthandler, io, sys
from oneshot_tui.runner.ray_backend import RayBackend
class Capture(io.StringIO):
    def fileno(self) -> int:
        return -1  # as Textual's stand-in answers
faulthandler.disable()
real = sys.stdout
sys.stderr = Capture()
backend = RayBackend({ray_cluster.address!r})
anyio.run(backend.start)
anyio.run(backend.aclose)
print("connected", faulthandler.is_enabled(), file=real)
"""
    env = {**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
    proc = subprocess.run(
        [sys.executable, "-X", "faulthandler", "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "connected True"
