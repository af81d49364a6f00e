"""The ray backend on two nodes (a head on 127.0.0.1, a worker node on 127.0.0.2, one machine):
placement by resources, a node that leaves the cluster, restarts that avoid it, a task's env on
the worker node, a node without oneshot-tui, and the TUI with tasks on both nodes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import textwrap
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import pytest

from oneshot_tui.core.events import ProcessStarted, StateChanged
from oneshot_tui.core.spec import RunSettings, TaskPolicy, TaskSpec
from oneshot_tui.core.states import TaskState as S
from oneshot_tui.orchestrator import Orchestrator
from oneshot_tui.runner.descendants import marked_processes
from tests.helpers import Watcher, cli_argv, pid_alive
from tests.ray.conftest import (
    HEAD_IP,
    HEAD_RESOURCE,
    NODE_CPUS,
    WORKER_IP,
    WORKER_RESOURCE,
    TwoNodes,
    driver,
    join_node,
    node_environment,
    stop_node,
)
from tests.ray.test_ray_cli import check_env_exactness, ran_on
from tests.ray.test_ray_engine import (
    Background,
    assert_names_what_is_missing,
    by_id,
    numbers_after,
    printed,
    started_pids,
)
from tests.ray.test_ray_tui import check_the_tui_on_ray
from tests.ui.tmux import Tmux

if TYPE_CHECKING:
    from oneshot_tui.runner.ray_backend import RayBackend

SETTINGS = RunSettings(max_concurrent=8, heartbeat_interval=0.2)


@pytest.fixture(scope="module")
def backend(two_nodes: TwoNodes) -> Iterator[RayBackend]:
    yield from driver(two_nodes.address)


def on(resource: str, num_cpus: float = 0.25, **kwargs: object) -> TaskPolicy:
    return TaskPolicy(num_cpus=num_cpus, resources={resource: 1.0}, **kwargs)  # type: ignore[arg-type]


def nodes_of(watcher: Watcher, task_id: str) -> list[str]:
    return [e.node for e in watcher.all() if isinstance(e, ProcessStarted) and e.task_id == task_id]


async def test_each_task_runs_on_the_node_that_has_its_resource(
    backend: RayBackend, data_dir: Path
) -> None:
    specs = [
        TaskSpec("h", "echo $ONESHOT_TUI_TASK", policy=on(HEAD_RESOURCE)),
        TaskSpec("w", "echo $ONESHOT_TUI_TASK", policy=on(WORKER_RESOURCE)),
        TaskSpec("w2", "echo $ONESHOT_TUI_TASK", policy=on(WORKER_RESOURCE)),
    ]
    orch = Orchestrator(specs, SETTINGS, data_dir=data_dir, backend=backend)
    watcher = Watcher(orch.bus)
    results = by_id(await orch.run())
    assert all(r.state is S.COMPLETED for r in results.values()), results
    assert nodes_of(watcher, "h") == [HEAD_IP]
    assert nodes_of(watcher, "w") == [WORKER_IP]
    assert nodes_of(watcher, "w2") == [WORKER_IP]
    assert watcher.output_text("w") == f"{orch.run_id}/w/1"


LEAVES_TWO = "sleep 300 & echo bg $!; setsid sleep 300 & echo setsid $!; echo ready 1; wait"
"""A task that leaves a member of its group and an escapee (a session of its own) running."""


def pids_printed(watcher: Watcher, task_id: str) -> list[int]:
    """The task's leader and the two sleepers LEAVES_TWO printed."""
    return [
        *started_pids(watcher, task_id),
        *numbers_after(watcher, task_id, "bg"),
        *numbers_after(watcher, task_id, "setsid"),
    ]


def wait_all_gone(pids: list[int], timeout: float) -> list[int]:
    """The pids still alive after `timeout` (at most) seconds."""
    deadline = time.monotonic() + timeout
    while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return [p for p in pids if pid_alive(p)]


async def test_a_task_lost_with_its_worker_starts_again_on_another_node(
    backend: RayBackend, data_dir: Path, tmp_path: Path
) -> None:
    flag = tmp_path / "first-attempt-done"
    # The head is full for 4 s (the filler holds its CPUs), so the first attempt runs on the
    # worker node and kills its own host there (`$PPID`; the node stays up, with room). The
    # second attempt must not go back to it: it waits for the head.
    filler = TaskSpec("filler", "sleep 4", policy=on(HEAD_RESOURCE, num_cpus=NODE_CPUS))
    command = f"[ -e {flag} ] || {{ touch {flag}; sleep 1; kill -9 $PPID; sleep 30; }}; echo second"
    phoenix = replace(
        TaskSpec("phoenix", command, policy=TaskPolicy(num_cpus=0.25, restart_on_node_lost=1)),
        depends_on={"filler": "started"},
    )
    orch = Orchestrator([filler, phoenix], SETTINGS, data_dir=data_dir, backend=backend)
    watcher = Watcher(orch.bus)
    result = by_id(await orch.run())["phoenix"]
    assert result.state is S.COMPLETED and result.attempts == 2, result.reason
    assert nodes_of(watcher, "phoenix") == [WORKER_IP, HEAD_IP]
    assert watcher.output_text("phoenix") == "second"


async def test_a_node_that_leaves_fails_its_task_so_and_its_processes_die_with_it(
    two_nodes: TwoNodes, backend: RayBackend, data_dir: Path, tmp_path: Path
) -> None:
    flag = tmp_path / "first-attempt-done"
    # The head is full while the victim starts (the filler holds its CPUs): it runs on the worker
    # node. Its second attempt has room on the head only once the filler is gone.
    filler = TaskSpec("filler", "exec sleep 300", policy=on(HEAD_RESOURCE, num_cpus=NODE_CPUS))
    victim = replace(
        TaskSpec(
            "victim",
            f"[ -e {flag} ] && echo second || {{ touch {flag}; {LEAVES_TWO}; }}",
            policy=TaskPolicy(num_cpus=0.25, restart_on_node_lost=1),
        ),
        depends_on={"filler": "started"},
    )
    orch = Orchestrator([filler, victim], SETTINGS, data_dir=data_dir, backend=backend)
    watcher = Watcher(orch.bus)
    run = Background(orch)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(run)
            await watcher.wait_until(lambda _: printed(watcher, "victim", "ready"), timeout=90)
            assert nodes_of(watcher, "victim") == [WORKER_IP]
            pids = pids_printed(watcher, "victim")
            assert len(pids) == 3 and all(pid_alive(p) for p in pids)
            orch.interrupt("filler")
            await watcher.wait_until(lambda _: orch.tasks["filler"].state.ended, timeout=60)
            killed_at = time.monotonic()
            os.kill(two_nodes.worker.raylet_pid(), signal.SIGKILL)
            await watcher.wait_until(lambda _: len(nodes_of(watcher, "victim")) == 2, timeout=120)
            detected = time.monotonic() - killed_at
        results = run.results()
        assert results["victim"].state is S.COMPLETED, results["victim"].reason
        assert results["victim"].attempts == 2
        assert nodes_of(watcher, "victim") == [WORKER_IP, HEAD_IP]
        failed = [
            e.reason
            for e in watcher.all()
            if isinstance(e, StateChanged) and e.task_id == "victim" and e.target is S.FAILED
        ]
        assert failed == ["node lost (node 127.0.0.2 left the cluster)"]
        # The machine is still up: its guard ended the group member and the escapee.
        assert wait_all_gone(pids, timeout=30) == []
        assert marked_processes(f"{orch.run_id}/victim/1") == []
        # Health checks every 0.5 s, 4 missed (HEALTH_CHECK): declared dead in a few seconds.
        assert detected < 30
    finally:
        two_nodes.restart_worker()


def test_nothing_a_task_started_survives_a_kill_9_of_oneshot_tui_on_either_node(
    two_nodes: TwoNodes, tmp_path: Path
) -> None:
    tasks = "".join(
        f"""
[[task]]
name = "{name}"
command = "{LEAVES_TWO}"
num_cpus = 0.25
resources = {{ {resource} = 1 }}
"""
        for name, resource in (("h", HEAD_RESOURCE), ("w", WORKER_RESOURCE))
    )
    task_file = tmp_path / "tasks.toml"
    task_file.write_text(f'[run]\nbackend = "ray"\nray_address = "{two_nodes.address}"\n' + tasks)
    proc = subprocess.Popen(
        [*cli_argv(), "run", str(task_file), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    pids: dict[str, list[int]] = {"h": [], "w": []}
    nodes: dict[str, str] = {}
    ready: set[str] = set()
    try:
        for line in proc.stdout:
            event = json.loads(line)
            if event["event"] == "process":
                pids[event["task"]].append(event["pid"])
                nodes[event["task"]] = event["node"]
            elif event["event"] == "output":
                word, _, number = event["line"].partition(" ")
                if word in ("bg", "setsid"):
                    pids[event["task"]].append(int(number))
                elif word == "ready":
                    ready.add(event["task"])
            if ready == {"h", "w"}:
                break
        assert nodes == {"h": HEAD_IP, "w": WORKER_IP}
        everything = [*pids["h"], *pids["w"]]
        assert len(everything) == 6 and all(pid_alive(p) for p in everything)
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
    # Ray ends the actors of a driver that died, however it does; each task's guard then ends
    # its group and escapees on its node.
    assert wait_all_gone(everything, timeout=60) == []


def test_a_task_on_the_worker_node_gets_its_own_env_exactly(
    two_nodes: TwoNodes, tmp_path: Path
) -> None:
    stderr = check_env_exactness(
        two_nodes.address, tmp_path, placement=f"resources = {{ {WORKER_RESOURCE} = 1 }}"
    )
    assert ran_on(stderr) == {"env": WORKER_IP, "here": WORKER_IP}


BARE_IP = "127.0.0.3"
BARE_RESOURCE = "on_bare"


def without_oneshot_tui(directory: Path) -> dict[str, str]:
    """A node environment in which Python cannot import oneshot_tui (a `sitecustomize` that
    turns it away, as on a node where it is not installed), while Ray itself can be imported.
    Hiding the installed package would not do: Ray puts the driver's working directory on its
    workers' sys.path, and the tests' is the checkout, where oneshot_tui is."""
    (directory / "sitecustomize.py").write_text(
        textwrap.dedent(
            """
            import sys

            class NotInstalled:
                def find_spec(self, name, path=None, target=None):
                    if name.partition(".")[0] == "oneshot_tui":
                        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
                    return None

            sys.meta_path.insert(0, NotInstalled())
            """
        )
    )
    env = node_environment()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(directory), env.get("PYTHONPATH")]))
    return env


async def test_a_node_without_oneshot_tui_fails_the_task_with_what_is_missing_and_where(
    two_nodes: TwoNodes, backend: RayBackend, data_dir: Path, tmp_path: Path
) -> None:
    bare = await anyio.to_thread.run_sync(
        lambda: join_node(two_nodes.address, BARE_IP, BARE_RESOURCE, without_oneshot_tui(tmp_path))
    )
    try:
        spec = TaskSpec("bare", "echo ran", policy=on(BARE_RESOURCE, restart_on_node_lost=2))
        orch = Orchestrator([spec], SETTINGS, data_dir=data_dir, backend=backend)
        watcher = Watcher(orch.bus)
        (result,) = (await orch.run()).results
    finally:
        await anyio.to_thread.run_sync(stop_node, bare)
    assert result.state is S.FAILED
    assert_names_what_is_missing(result.reason, BARE_IP, "oneshot_tui")
    # Not a lost node: no second attempt there (nor anywhere: no other node has the resource).
    assert "node lost" not in result.reason and result.attempts == 1
    assert watcher.output_text("bare") == ""


def test_the_tui_runs_tasks_on_both_nodes_records_the_run_and_can_be_attached_to(
    two_nodes: TwoNodes, tmux: Tmux, tmp_path: Path
) -> None:
    ran = check_the_tui_on_ray(
        tmux,
        tmp_path,
        two_nodes.address,
        quiet=f"resources = {{ {WORKER_RESOURCE} = 1 }}",
        echo=f"resources = {{ {HEAD_RESOURCE} = 1 }}",
    )
    assert ran == {"quiet": two_nodes.worker.pgid, "echo": two_nodes.head.pgid}
