"""Real Ray clusters on loopback, started and stopped by the tests: one node for the whole test
session, and two nodes (127.0.0.1 and 127.0.0.2) for the module that needs them (`two_nodes`).

Each `ray start` runs in a session of its own, so every daemon it starts (GCS, raylet, the
workers the raylet forks) shares one process group: the cluster is stopped by signalling that
group (one per node), never by `ray stop`, which would stop every Ray process of the user on the
machine. The worker node joins through `start_worker_node.py` (why: there).
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
from typing import TYPE_CHECKING

import anyio
import pytest

from oneshot_tui.runner.descendants import reap_adopted
from tests.helpers import group_members

if TYPE_CHECKING:
    from oneshot_tui.runner.ray_backend import RayBackend

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


def _status(ray_bin: Path, address: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ray_bin), "status", "--address", address], capture_output=True, text=True, check=False
    )


def _wait_until_up(ray_bin: Path, address: str, deadline: float, shows: str = "CPU") -> None:
    """Until `ray status` answers and shows `shows` (a resource: its node has joined)."""
    while True:
        status = _status(ray_bin, address)
        if status.returncode == 0 and shows in status.stdout:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"the Ray cluster at {address} never showed {shows}: {status.stdout}{status.stderr}"
            )
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


def _start_node(
    ray_bin: Path,
    args: list[str],
    temp_dir: Path,
    env: dict[str, str],
    argv0: list[str] | None = None,
) -> int:
    """`ray start ARGS` in a session of its own; the pgid its daemons share, once it returned."""
    proc = subprocess.Popen(
        [*(argv0 or [str(ray_bin)]), "start", *args, f"--temp-dir={temp_dir}"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env=env,
    )
    try:
        out, _ = proc.communicate(timeout=START_TIMEOUT)
    except BaseException:
        _stop_group(proc.pid)
        raise
    if proc.returncode != 0:
        _stop_group(proc.pid)
        raise RuntimeError(f"ray start failed:\n{out.decode(errors='replace')}")
    return proc.pid


COMMON_ARGS = [
    "--object-store-memory=100000000",
    "--disable-usage-stats",
]


def head_args(ip: str, port: int, cpus: int, resources: dict[str, float]) -> list[str]:
    """`ray start` arguments of a head node on `ip:port`."""
    return [
        "--head",
        f"--node-ip-address={ip}",
        f"--port={port}",
        f"--num-cpus={cpus}",
        f"--resources={json.dumps(resources)}",
        "--include-dashboard=false",
        *COMMON_ARGS,
    ]


def driver(address: str) -> Iterator[RayBackend]:
    """This test process as a driver of the cluster at `address` (a module fixture's body)."""
    from oneshot_tui.runner.ray_backend import RayBackend

    backend = RayBackend(address)
    anyio.run(backend.start)
    yield backend
    anyio.run(backend.aclose)


def start_head(
    ip: str, cpus: int, resources: dict[str, float], env: dict[str, str], prefix: str
) -> tuple[str, Node]:
    """A head node on `ip`, on a free port and in a temp dir of its own, up: its address."""
    ray_bin = Path(sys.executable).parent / "ray"
    # Short: Ray puts unix sockets under it, and their paths are limited to about 100 bytes.
    temp_dir = Path(tempfile.mkdtemp(prefix=prefix))
    port = _free_port()
    address = f"{ip}:{port}"
    try:
        pgid = _start_node(ray_bin, head_args(ip, port, cpus, resources), temp_dir, env)
    except BaseException:
        shutil.rmtree(temp_dir, ignore_errors=True)
        raise
    head = Node(ip, pgid, temp_dir)
    try:
        _wait_until_up(ray_bin, address, time.monotonic() + START_TIMEOUT)
    except BaseException:
        stop_node(head)
        raise
    return address, head


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[Cluster]:
    ray_or_skip()
    resources: dict[str, float] = {SLOT_RESOURCE: 1}
    address, head = start_head("127.0.0.1", CLUSTER_CPUS, resources, node_environment(), "otr-")
    try:
        yield Cluster(address, head.pgid, head.temp_dir)
    finally:
        disconnect_driver()
        stop_node(head)


HEAD_IP = "127.0.0.1"
WORKER_IP = "127.0.0.2"
HEAD_RESOURCE = "on_head"
WORKER_RESOURCE = "on_worker"
"""A custom resource each node of the two-node cluster has 10 of: a task asking for a little of
one runs on that node."""
NODE_CPUS = 2
HEALTH_CHECK = {"RAY_health_check_period_ms": "500", "RAY_health_check_failure_threshold": "4"}
"""The head's GCS marks a node dead after this many missed health checks this far apart (Ray's
defaults: 3000 ms and 5, about 15 s): the node-loss tests wait for it."""


@dataclass
class Node:
    ip: str
    pgid: int
    temp_dir: Path

    def raylet_pid(self) -> int:
        for pid in group_members(self.pgid):
            try:
                comm = Path(f"/proc/{pid}/comm").read_text().strip()
            except OSError:
                continue
            if comm == "raylet":
                return pid
        raise LookupError(f"no raylet in the group of node {self.ip}")


@dataclass
class TwoNodes:
    """A head on 127.0.0.1 and a worker node on 127.0.0.2, each with its own ports, temp dir,
    process group and custom resource (HEAD_RESOURCE, WORKER_RESOURCE)."""

    address: str
    head: Node
    worker: Node

    def node_alive(self, ip: str) -> bool:
        import ray

        nodes = ray.nodes()  # type: ignore[no-untyped-call]
        return any(n["NodeManagerAddress"] == ip and n["Alive"] for n in nodes)

    def restart_worker(self) -> None:
        """A new worker node (a new node id, the same address) after a test killed it."""
        stop_node(self.worker)
        self.worker = join_node(self.address)


def join_node(
    address: str,
    ip: str = WORKER_IP,
    resource: str = WORKER_RESOURCE,
    env: dict[str, str] | None = None,
) -> Node:
    """A node on `ip` joined to the cluster at `address`, with 10 of `resource` and the node
    environment (`node_environment()`, or `env`)."""
    ray_bin = Path(sys.executable).parent / "ray"
    temp_dir = Path(tempfile.mkdtemp(prefix="otw-"))
    pgid = _start_node(
        ray_bin,
        [
            f"--address={address}",
            f"--node-ip-address={ip}",
            f"--num-cpus={NODE_CPUS}",
            f"--resources={json.dumps({resource: 10})}",
            *COMMON_ARGS,
        ],
        temp_dir,
        node_environment() if env is None else env,
        argv0=[sys.executable, str(Path(__file__).with_name("start_worker_node.py"))],
    )
    try:
        _wait_until_up(ray_bin, address, time.monotonic() + START_TIMEOUT, resource)
    except RuntimeError:
        _stop_group(pgid)
        raise
    return Node(ip, pgid, temp_dir)


def stop_node(node: Node) -> None:
    _stop_group(node.pgid)
    shutil.rmtree(node.temp_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def two_nodes() -> Iterator[TwoNodes]:
    """For the tests that need two nodes only (a module's): it costs two more `ray start`s."""
    ray_or_skip()
    env = {**node_environment(), **HEALTH_CHECK}
    resources: dict[str, float] = {HEAD_RESOURCE: 10}
    address, head = start_head(HEAD_IP, NODE_CPUS, resources, env, "oth-")
    cluster: TwoNodes | None = None
    try:
        cluster = TwoNodes(address, head, join_node(address))
        yield cluster
    finally:
        disconnect_driver()
        if cluster is not None:
            stop_node(cluster.worker)
        stop_node(head)


def disconnect_driver() -> None:
    """Let go of the cluster if a test connected this process to it."""
    if "ray" in sys.modules:
        import ray

        if ray.is_initialized():
            ray.shutdown()
