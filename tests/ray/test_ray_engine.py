"""The engine on the ray backend, against the real local cluster: stops, lost workers, placement.

The cluster runs on this machine, so the tests can look at the processes a "remote" task started
in /proc, the way an operator would on the node.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import pytest

from oneshot_tui.core.activity import AgentTotals, Kind
from oneshot_tui.core.events import Output, ProcessStarted, TaskResult
from oneshot_tui.core.spec import RunSettings, TaskPolicy, TaskSpec
from oneshot_tui.core.states import TaskState as S
from oneshot_tui.orchestrator import Orchestrator, RunResult
from oneshot_tui.orchestrator.session import RunSession
from oneshot_tui.runner.descendants import marked_processes
from tests.agents.helpers import TRANSCRIPTS, FakeAgent, agent_spec, kinds, settings
from tests.fakes import fake
from tests.helpers import Watcher, pid_alive, py
from tests.ray.conftest import SLOT_RESOURCE, Cluster, driver

if TYPE_CHECKING:
    from oneshot_tui.runner.ray_backend import RayBackend

SETTINGS = RunSettings(max_concurrent=8, heartbeat_interval=0.2)
SMALL = 0.25
"""CPUs per test task: the four-CPU test node then runs many at once."""


@pytest.fixture(scope="module")
def backend(ray_cluster: Cluster) -> Iterator[RayBackend]:
    """This test process as a driver of the cluster, for the tests of this module."""
    yield from driver(ray_cluster.address)


def policy(**kwargs: object) -> TaskPolicy:
    return TaskPolicy(num_cpus=SMALL, **kwargs)  # type: ignore[arg-type]


def by_id(result: RunResult) -> dict[str, TaskResult]:
    return {r.task_id: r for r in result.results}


class Background:
    """Runs the orchestrator in a task group and keeps its result."""

    def __init__(self, orch: Orchestrator) -> None:
        self.orch = orch
        self.result: RunResult | None = None

    async def __call__(self) -> None:
        self.result = await self.orch.run()

    def results(self) -> dict[str, TaskResult]:
        assert self.result is not None
        return by_id(self.result)


def started_pids(watcher: Watcher, task_id: str) -> list[int]:
    return [e.pid for e in watcher.all() if isinstance(e, ProcessStarted) and e.task_id == task_id]


def numbers_after(watcher: Watcher, task_id: str, word: str) -> list[int]:
    """The N of every "word N" line the task printed."""
    out = []
    for e in watcher.all():
        if isinstance(e, Output) and e.task_id == task_id:
            out += [int(line.split()[1]) for line in e.split() if line.startswith(f"{word} ")]
    return out


def printed(watcher: Watcher, task_id: str, word: str) -> bool:
    return bool(numbers_after(watcher, task_id, word))


async def test_output_env_cwd_and_pty_reach_the_remote_process(
    backend: RayBackend, data_dir: Path, tmp_path: Path
) -> None:
    specs = [
        TaskSpec(
            "env",
            "echo $GREETING from $(pwd)",
            cwd=str(tmp_path),
            env={"GREETING": "hi"},
            policy=policy(),
        ),
        TaskSpec("tty", "test -t 1 && echo on a tty", policy=policy(pty=True)),
        TaskSpec("nowhere", "true", cwd=str(tmp_path / "missing"), policy=policy()),
        TaskSpec("here", "pwd", policy=policy()),  # no cwd: ours, not the Ray worker's
    ]
    orch = Orchestrator(specs, SETTINGS, data_dir=data_dir, backend=backend)
    watcher = Watcher(orch.bus)
    results = by_id(await orch.run())
    assert watcher.output_text("env") == f"hi from {tmp_path}"
    assert watcher.output_text("tty") == "on a tty"
    assert results["nowhere"].state is S.FAILED
    assert "working directory does not exist" in results["nowhere"].reason
    assert "on node 127.0.0.1" in results["nowhere"].reason
    assert watcher.output_text("here") == os.getcwd()
    nodes = {e.node for e in watcher.all() if isinstance(e, ProcessStarted)}
    assert nodes == {"127.0.0.1"}


async def test_interrupting_a_remote_task_that_ignores_sigterm_leaves_no_process(
    backend: RayBackend, data_dir: Path
) -> None:
    specs = [
        TaskSpec("stubborn", py(fake("stubborn.py")), policy=policy(grace=1.0)),
        TaskSpec("escaper", py(fake("escaper.py")), policy=policy(grace=1.0)),
    ]
    orch = Orchestrator(specs, SETTINGS, data_dir=data_dir, backend=backend)
    watcher = Watcher(orch.bus)
    run = Background(orch)
    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
        await watcher.wait_until(
            lambda _: (
                printed(watcher, "stubborn", "grandchild")
                and printed(watcher, "escaper", "escaped")
            ),
            timeout=90,
        )
        pids = [
            *started_pids(watcher, "stubborn"),
            *numbers_after(watcher, "stubborn", "child"),
            *numbers_after(watcher, "stubborn", "grandchild"),
            *started_pids(watcher, "escaper"),
            *numbers_after(watcher, "escaper", "escaped"),
        ]
        assert all(pid_alive(pid) for pid in pids)
        orch.interrupt_all()
    results = run.results()
    assert results["stubborn"].state is S.INTERRUPTED
    assert results["escaper"].state is S.INTERRUPTED
    assert [pid for pid in pids if pid_alive(pid)] == []
    for name in ("stubborn", "escaper"):
        assert marked_processes(f"{orch.run_id}/{name}/1") == []


async def test_a_killed_ray_worker_fails_its_task_as_node_lost_and_the_run_goes_on(
    backend: RayBackend, data_dir: Path
) -> None:
    # `$PPID` of the task's shell is the Ray worker hosting it.
    victim = TaskSpec("victim", "echo worker $PPID; exec sleep 60", policy=policy())
    others = [TaskSpec(f"other{i}", "seq 3; sleep 2; seq 4 6", policy=policy()) for i in range(2)]
    orch = Orchestrator([victim, *others], SETTINGS, data_dir=data_dir, backend=backend)
    watcher = Watcher(orch.bus)
    run = Background(orch)
    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
        await watcher.wait_until(lambda _: printed(watcher, "victim", "worker"), timeout=90)
        await watcher.wait_until(
            lambda _: all(started_pids(watcher, o.name) for o in others), timeout=90
        )
        (worker,) = numbers_after(watcher, "victim", "worker")
        (sleeper,) = started_pids(watcher, "victim")
        os.kill(worker, signal.SIGKILL)
    results = run.results()
    assert results["victim"].state is S.FAILED
    assert results["victim"].reason.startswith("node lost"), results["victim"].reason
    assert all(results[o.name].state is S.COMPLETED for o in others)
    assert all(watcher.output_text(o.name) == "1\n2\n3\n4\n5\n6" for o in others)
    assert run.result is not None and run.result.exit_code == 1
    # The sleep lost its host; the sweep found it by the task's marker.
    assert not pid_alive(sleeper)
    assert marked_processes(f"{orch.run_id}/victim/1") == []


async def test_a_task_whose_worker_died_is_started_again_if_its_policy_says_so(
    backend: RayBackend, data_dir: Path, tmp_path: Path
) -> None:
    flag = tmp_path / "first-attempt-done"
    # The first attempt kills its own host; the second finds the flag and completes.
    command = f"[ -e {flag} ] || {{ touch {flag}; kill -9 $PPID; sleep 30; }}; echo second"
    spec = TaskSpec("phoenix", command, policy=policy(restart_on_node_lost=1))
    orch = Orchestrator([spec], SETTINGS, data_dir=data_dir, backend=backend)
    watcher = Watcher(orch.bus)
    result = await orch.run()
    (only,) = result.results
    assert only.state is S.COMPLETED
    assert only.attempts == 2
    assert (S.FAILED, S.CREATED) in watcher.states("phoenix")
    assert watcher.output_text("phoenix") == "second"
    assert result.exit_code == 0


async def test_tasks_reserve_their_resources_and_an_impossible_one_fails_at_once(
    backend: RayBackend, data_dir: Path, tmp_path: Path
) -> None:
    lock = tmp_path / "lock"
    # The node has one "slot": two tasks holding it at once would collide on the lock.
    holder = f"mkdir {lock} && sleep 1 && rmdir {lock}"
    slot = {SLOT_RESOURCE: 1.0}
    specs = [
        TaskSpec("first", holder, policy=policy(resources=slot)),
        TaskSpec("second", holder, policy=policy(resources=slot)),
        TaskSpec("impossible", "true", policy=policy(resources={"no_such_thing": 1.0})),
    ]
    orch = Orchestrator(specs, SETTINGS, data_dir=data_dir, backend=backend)
    result = await orch.run()
    results = by_id(result)
    assert results["first"].state is S.COMPLETED, results["first"].reason
    assert results["second"].state is S.COMPLETED, results["second"].reason
    assert results["impossible"].state is S.FAILED
    assert results["impossible"].reason.startswith("no node of the Ray cluster has")
    assert "no_such_thing=1" in results["impossible"].reason


async def test_a_task_waiting_for_a_node_can_be_interrupted(
    backend: RayBackend, data_dir: Path
) -> None:
    slot = {SLOT_RESOURCE: 1.0}
    specs = [
        TaskSpec("holder", "echo holding; exec sleep 60", policy=policy(resources=slot)),
        # After the holder has started (else the waiter may take the slot first, run and end).
        replace(
            TaskSpec("waiter", "echo never", policy=policy(resources=slot)),
            depends_on={"holder": "started"},
        ),
    ]
    orch = Orchestrator(specs, SETTINGS, data_dir=data_dir, backend=backend)
    watcher = Watcher(orch.bus)
    run = Background(orch)
    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
        await watcher.wait_until(lambda _: watcher.output_text("holder") == "holding", timeout=90)
        # The waiter's attempt begins on its own schedule: wait until it is waiting for the node.
        await watcher.wait_until(lambda _: orch.tasks["waiter"].starting, timeout=30)
        assert orch.tasks["waiter"].state is S.CREATED
        assert orch.interrupt("waiter", "no room")
        await watcher.wait_until(lambda _: orch.tasks["waiter"].state is S.FAILED, timeout=30)
        orch.interrupt("holder")
    results = run.results()
    assert results["waiter"].reason == "not started: no room"
    assert results["holder"].state is S.INTERRUPTED
    assert watcher.output_text("waiter") == ""


async def test_a_queue_of_tasks_reuses_the_hosts_of_ended_ones(
    backend: RayBackend, data_dir: Path
) -> None:
    specs = [TaskSpec(f"q{i}", "echo worker $PPID", policy=policy()) for i in range(3)]
    settings = RunSettings(max_concurrent=1, heartbeat_interval=0.2)
    orch = Orchestrator(specs, settings, data_dir=data_dir, backend=backend)
    watcher = Watcher(orch.bus)
    result = await orch.run()
    assert result.exit_code == 0
    workers = {n for s in specs for n in numbers_after(watcher, s.name, "worker")}
    assert len(workers) == 1  # one Ray worker served all three, one after the other


async def test_an_agent_task_runs_on_a_node_like_it_does_here(
    backend: RayBackend, data_dir: Path, tmp_path: Path
) -> None:
    agent = FakeAgent(tmp_path, "claude", [{"out": "claude-tool.out"}])
    spec = agent_spec("c", settings(), cwd=tmp_path, env=agent.env, policy=policy())
    missing = agent_spec(
        "gone", settings(), cwd=tmp_path, env={"PATH": str(tmp_path)}, policy=policy()
    )
    orch = Orchestrator([spec, missing], SETTINGS, data_dir=data_dir, backend=backend)
    watcher = Watcher(orch.bus)
    results = by_id(await orch.run())
    assert results["c"].state is S.COMPLETED, results["c"].reason
    assert results["c"].totals == AgentTotals(24, 14, 0.00047, 1)
    assert Kind.TOOL_CALL in kinds(watcher.all(), "c")
    log = Path(results["c"].log_path or "")
    assert log.read_bytes() == (TRANSCRIPTS / "claude-tool.out").read_bytes()
    # Only the node can tell that the CLI is missing, and the reason says which node.
    assert results["gone"].state is S.FAILED
    assert "npm install -g @anthropic-ai/claude-code" in results["gone"].reason
    assert results["gone"].reason.endswith("(on node 127.0.0.1)")


async def test_a_run_session_opens_the_backend_its_settings_name(
    ray_cluster: Cluster, backend: RayBackend, data_dir: Path
) -> None:
    # Every front end runs through a RunSession, which opens the backend the settings name;
    # an orchestrator never falls back to running a Ray run's tasks locally.
    settings = RunSettings(heartbeat_interval=0.2, backend="ray", ray_address=ray_cluster.address)
    specs = [TaskSpec("t", "echo hi", policy=policy())]
    with pytest.raises(ValueError, match="opened by its RunSession"):
        await Orchestrator(specs, settings, data_dir=data_dir).run()
    session = RunSession(specs, settings, data_dir=data_dir)
    watcher = Watcher(session.bus)
    result = await session.run()
    assert result.exit_code == 0
    assert [e.node for e in watcher.all() if isinstance(e, ProcessStarted)] == ["127.0.0.1"]


async def test_restart_and_kill_reach_the_remote_process(
    backend: RayBackend, data_dir: Path
) -> None:
    spec = TaskSpec("again", "echo pid $$; exec sleep 60", policy=policy(grace=5.0))
    orch = Orchestrator([spec], SETTINGS, data_dir=data_dir, backend=backend)
    watcher = Watcher(orch.bus)
    run = Background(orch)
    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
        await watcher.wait_until(lambda _: len(numbers_after(watcher, "again", "pid")) == 1, 90)
        assert orch.restart("again")
        await watcher.wait_until(lambda _: len(numbers_after(watcher, "again", "pid")) == 2, 90)
        first, second = numbers_after(watcher, "again", "pid")
        assert not pid_alive(first)
        assert orch.kill("again")
    (result,) = run.results().values()
    assert result.state is S.INTERRUPTED and result.attempts == 2
    assert result.signal == signal.SIGKILL  # killed at once, not after the 5 s ladder
    assert not pid_alive(second)


async def test_a_silent_remote_task_goes_idle_and_resumes(
    backend: RayBackend, data_dir: Path
) -> None:
    spec = TaskSpec("quiet", "echo a; sleep 2; echo b", policy=policy(idle_threshold=0.5))
    orch = Orchestrator([spec], SETTINGS, data_dir=data_dir, backend=backend)
    watcher = Watcher(orch.bus)
    result = await orch.run()
    assert result.exit_code == 0
    states = watcher.states("quiet")
    assert (S.RUNNING, S.IDLE) in states and (S.IDLE, S.RUNNING) in states
    assert watcher.output_text("quiet") == "a\nb"


async def test_a_node_with_other_versions_takes_no_task_and_says_why(
    backend: RayBackend, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from oneshot_tui.runner import ray_hosts

    # The node's host reports its real versions; this driver claims others.
    monkeypatch.setitem(ray_hosts.HERE, "oneshot_tui", "0.0.0-elsewhere")
    odd = TaskPolicy(num_cpus=0.3, restart_on_node_lost=2)  # a placement no pooled host has
    specs = [TaskSpec("v", "echo ran", policy=odd)]
    orch = Orchestrator(specs, SETTINGS, data_dir=data_dir, backend=backend)
    watcher = Watcher(orch.bus)
    result = by_id(await orch.run())["v"]
    assert result.state is S.FAILED
    assert "node 127.0.0.1 runs oneshot-tui " in result.reason
    assert "this machine oneshot-tui 0.0.0-elsewhere" in result.reason
    assert "node lost" not in result.reason and result.attempts == 1
    assert watcher.output_text("v") == ""


def test_a_host_that_cannot_be_loaded_on_its_node_says_what_is_missing_and_where(
    backend: RayBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ray

    from oneshot_tui.runner.ray_hosts import import_failure

    # A class whose module only this process can import: the node's worker cannot, as a node
    # without oneshot-tui cannot import the host's. Ray's real error text is what is parsed.
    (tmp_path / "only_on_the_driver_xyz.py").write_text(
        "class Host:\n    async def ready(self) -> dict[str, str]:\n        return {}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import only_on_the_driver_xyz  # type: ignore[import-not-found]

    actor = ray.remote(num_cpus=0.1)(only_on_the_driver_xyz.Host).remote()
    try:
        with pytest.raises(ray.exceptions.RayError) as caught:
            ray.get(actor.ready.remote(), timeout=60)
    finally:
        ray.kill(actor)
    error = import_failure(str(caught.value))
    assert error is not None
    assert_names_what_is_missing(str(error), "127.0.0.1", "only_on_the_driver_xyz")
    assert error.node == "127.0.0.1"
    assert import_failure("The actor died unexpectedly before finishing this task.") is None


def assert_names_what_is_missing(reason: str, node_ip: str, module: str) -> None:
    """The reason a host could not be loaded on `node_ip` names the module it lacks, as text."""
    assert reason.startswith(f"oneshot-tui cannot run on node {node_ip}: ModuleNotFoundError:")
    assert f"No module named '{module}'" in reason, reason
    assert "\x1b" not in reason


async def test_a_task_whose_host_dies_after_it_exited_ends_as_it_exited_not_as_lost(
    backend: RayBackend, data_dir: Path
) -> None:
    # The leader exits 0 with a background shell holding its output; the host stops that
    # leftover (SIGTERM), and the leftover's trap kills the host: the status never comes back
    # through it. The node kept it: the task completed, and is not run again as lost.
    command = "host=$PPID; sh -c \"trap 'kill -9 $host' TERM; sleep 30 & wait\" & echo done; exit 0"
    spec = TaskSpec("once", command, policy=policy(restart_on_node_lost=2, grace=1.0))
    orch = Orchestrator([spec], SETTINGS, data_dir=data_dir, backend=backend)
    watcher = Watcher(orch.bus)
    (result,) = (await orch.run()).results
    assert result.state is S.COMPLETED, result.reason
    assert result.attempts == 1 and result.exit_code == 0
    assert watcher.output_text("once") == "done"
    assert marked_processes(f"{orch.run_id}/once/1") == []
