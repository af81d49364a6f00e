"""The TUI on the ray backend in a real terminal (tmux): the run starts, shows the remote output,
is in the history, and another terminal can attach to it while it runs."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.fakes import fake
from tests.helpers import cli_argv
from tests.ray.conftest import Cluster
from tests.ui.tmux import Tmux, environment, needs_tmux, parent_of, quiet_pids

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
    ran = check_the_tui_on_ray(tmux, tmp_path, ray_cluster.address)
    assert ran == {"quiet": ray_cluster.pgid, "echo": ray_cluster.pgid}


QUIET = "on-ray-tui"
"""What the quiet task prints (and its process's argv carries): the TUI's first, selected task."""


def node_group(pid: int) -> int:
    """The process group of the node a task's process runs on: its raylet's (each node's
    daemons share one group; its Ray workers, the hosts, have groups of their own)."""
    while Path(f"/proc/{pid}/comm").read_text().strip() != "raylet":
        pid = parent_of(pid)
    return os.getpgid(pid)


def check_the_tui_on_ray(
    tmux: Tmux, tmp_path: Path, address: str, quiet: str = "", echo: str = ""
) -> dict[str, int]:
    """The TUI runs a quiet task and an echo on the cluster at `address`, placed by `quiet` and
    `echo` (a line of TOML each): it shows the quiet one's output and the echo's end, detaches,
    is in the history, and an attached TUI stops it. Per task, the process group of the Ray
    node it ran on (`node_group`)."""
    task_file = tmp_path / "tasks.toml"
    task_file.write_text(
        textwrap.dedent(
            f"""
            [[task]]
            name = "quiet"
            command = "{sys.executable} {fake("quiet.py")} {QUIET}"
            {quiet}

            [[task]]
            name = "echo"
            command = "echo hi from the node of raylet $(sed -n 's/^PPid:[[:space:]]*//p' /proc/$PPID/status)"
            {echo}
            """
        )
    )
    ray = ["--backend", "ray", "--ray-address", address]
    # The first task is selected: its output is what the screen shows.
    argv = [*cli_argv(), "run", *ray, str(task_file)]
    tmux.start(shlex.join(argv), ray_environment(tmp_path), size=(120, 30))
    screen = tmux.wait_for(lambda s: QUIET in s or "EXIT=" in s, timeout=90)
    assert "EXIT=" not in screen, screen
    tmux.wait_text("✔ 1", timeout=60)  # the echo, on its node too (state words when room)
    pids = quiet_pids(QUIET)  # on its node (this machine)
    assert pids
    groups = {"quiet": node_group(pids[0])}
    tmux.keys("D")  # detach: the run goes on
    assert "EXIT=0" in tmux.wait_text("EXIT=")
    [run] = json.loads(cli(tmp_path, "ps", "--json").stdout)
    tmux.close()  # kill-server and its socket: a new session right after needs both gone
    tmux.start(shlex.join([*cli_argv(), "attach", str(run["run"])]), ray_environment(tmp_path))
    tmux.wait_text(QUIET)
    tmux.keys("q")
    tmux.wait_text("or detach?")
    tmux.keys("y")  # stop the run from the attached TUI
    assert "EXIT=1" in tmux.wait_text("EXIT=", timeout=90)
    assert quiet_pids(QUIET) == []
    history = cli(tmp_path, "show", "last", "--json")
    assert history.returncode == 0, history.stderr
    shown = json.loads(history.stdout)
    assert shown["run"]["id"] == run["run"] and "ray" in shown["run"]["argv"]
    states = {t["name"]: t["state"] for t in shown["tasks"]}
    assert states == {"quiet": "interrupted", "echo": "completed"}, shown
    [echo_log] = [Path(t["log"]) for t in shown["tasks"] if t["name"] == "echo"]
    said = echo_log.read_text().split()
    assert said[:-1] == ["hi", "from", "the", "node", "of", "raylet"], said
    groups["echo"] = node_group(int(said[-1]))  # the echo's host's parent
    return groups


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
