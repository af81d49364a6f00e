"""One real Ray cluster on loopback for the whole test session, started and stopped by the tests.

`ray start --head` runs in a session of its own, so every daemon it starts (GCS, raylet, the
workers the raylet forks) shares one process group: the cluster is stopped by signalling that
group, never by `ray stop`, which would stop every Ray process of the user on the machine.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from oneshot_tui.runner.descendants import reap_adopted
from tests.helpers import group_members

# Ray replaces 127.0.0.1 with the machine's outward address, in `ray start` and in every driver;
# this switch (meant for laptops) keeps the whole cluster on loopback. Ray reads it when it is
# imported, so it is set before any test imports Ray, and the CLIs the tests start inherit it.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"

CLUSTER_CPUS = 4
SLOT_RESOURCE = "slot"
"""A custom resource the test node has one of, to check that a task reserves it."""
START_TIMEOUT = 120.0


def ray_or_skip() -> None:
    """Skip when Ray is not installed here; in CI it must be (`.[test]` installs it)."""
    try:
        import ray  # noqa: F401
    except ImportError as exc:
        message = f"Ray is not installed ({exc}): pip install -e '.[test]'"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run the Ray tests")
        pytest.skip(message)


@dataclass(frozen=True)
class Cluster:
    address: str
    pgid: int
    temp_dir: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_up(ray_bin: Path, address: str, deadline: float) -> None:
    while True:
        status = subprocess.run(
            [str(ray_bin), "status", "--address", address],
            capture_output=True,
            text=True,
            check=False,
        )
        if status.returncode == 0 and "CPU" in status.stdout:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the Ray cluster did not come up: {status.stdout}{status.stderr}")
        time.sleep(0.5)


def _stop_group(pgid: int) -> None:
    # Orphaned daemons re-parent to this process when an earlier test made it a subreaper, so
    # their zombies stay in the group: count only live members, and reap what is ours.
    # SIGTERM lets the daemons shut down in order; some wait on each other and linger, so
    # SIGKILL follows soon (the test cluster keeps nothing worth a clean shutdown).
    for sig, wait in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while group_members(pgid) and time.monotonic() < deadline:
            time.sleep(0.1)
        reap_adopted(())
        if not group_members(pgid):
            return


def node_environment() -> dict[str, str]:
    """The node's environment, as tests/conftest.py gives a local task's (the tasks on the node
    inherit it): unbuffered Python would split a line's text and newline into two writes."""
    env = dict(os.environ)
    env.pop("PYTHONUNBUFFERED", None)
    return env


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[Cluster]:
    ray_or_skip()
    ray_bin = Path(sys.executable).parent / "ray"
    # Short: Ray puts unix sockets under it, and their paths are limited to about 100 bytes.
    temp_dir = Path(tempfile.mkdtemp(prefix="otr-"))
    port = _free_port()
    address = f"127.0.0.1:{port}"
    proc = subprocess.Popen(
        [
            str(ray_bin),
            "start",
            "--head",
            "--node-ip-address=127.0.0.1",
            f"--port={port}",
            f"--temp-dir={temp_dir}",
            f"--num-cpus={CLUSTER_CPUS}",
            f"--resources={json.dumps({SLOT_RESOURCE: 1})}",
            "--object-store-memory=100000000",
            "--include-dashboard=false",
            "--disable-usage-stats",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env=node_environment(),
    )
    cluster = Cluster(address, proc.pid, temp_dir)
    try:
        out, _ = proc.communicate(timeout=START_TIMEOUT)
        if proc.returncode != 0:
            raise RuntimeError(f"ray start failed:\n{out.decode(errors='replace')}")
        _wait_until_up(ray_bin, address, time.monotonic() + START_TIMEOUT)
        yield cluster
    finally:
        disconnect_driver()
        _stop_group(cluster.pgid)
        shutil.rmtree(temp_dir, ignore_errors=True)


def disconnect_driver() -> None:
    """Let go of the cluster if a test connected this process to it."""
    if "ray" in sys.modules:
        import ray

        if ray.is_initialized():
            ray.shutdown()
