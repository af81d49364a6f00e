"""The ray backend on two nodes (a head on 127.0.0.1, a worker node on 127.0.0.2, one machine):
placement by resources, a node that leaves the cluster, and restarts that avoid it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import pytest

from oneshot_tui.core.events import ProcessStarted
from oneshot_tui.core.spec import RunSettings, TaskPolicy, TaskSpec
from oneshot_tui.core.states import TaskState as S
from oneshot_tui.orchestrator import Orchestrator
from tests.helpers import Watcher
from tests.ray.conftest import HEAD_IP, HEAD_RESOURCE, WORKER_IP, WORKER_RESOURCE, TwoNodes
from tests.ray.test_ray_engine import by_id

if TYPE_CHECKING:
    from oneshot_tui.runner.ray_backend import RayBackend

SETTINGS = RunSettings(max_concurrent=8, heartbeat_interval=0.2)


@pytest.fixture(scope="module")
def backend(two_nodes: TwoNodes) -> Iterator[RayBackend]:
    from oneshot_tui.runner.ray_backend import RayBackend

    backend = RayBackend(two_nodes.address)
    anyio.run(backend.start)
    yield backend
    anyio.run(backend.aclose)


def on(resource: str, **kwargs: object) -> TaskPolicy:
    return TaskPolicy(num_cpus=0.25, resources={resource: 1.0}, **kwargs)  # type: ignore[arg-type]


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
