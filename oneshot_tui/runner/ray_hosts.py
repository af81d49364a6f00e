"""The actors that host processes on the nodes of a Ray cluster, and who gets which.

Each host is a Ray actor placed with the task's resources; booting one costs its node a worker
process (about half a second of CPU). So a run boots, as it starts, as many hosts of each
placement as its tasks may use at once (`keep_warm`: no more than `max_concurrent`, nor than
the cluster holds), and keeps them between tasks for the run (up to a minute idle). A host
whose process ended cleanly is handed straight to the next task of its placement, or kept in a
`HostPool`; a host booted for a task that got another one first is kept too, never thrown away.
While any task waits for a new host, a returned host of another placement is let go instead:
it may hold exactly the resources that task waits for.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import platform
import re
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.abc
import ray
from ray.exceptions import RayError

from oneshot_tui.runner.backend import Placement, ProcessLost
from oneshot_tui.runner.host_pool import HostPool
from oneshot_tui.runner.process import SpawnError
from oneshot_tui.runner.process_host import ProcessHost, Status, status_file, sweep, take_status

log = logging.getLogger(__name__)

ACTOR_OPTIONS: dict[str, Any] = {"max_restarts": 0, "max_task_retries": 0}
"""A host that dies is not brought back: its process died with it, and a new attempt is the
orchestrator's decision (`restart_on_node_lost`)."""


class RayProcessHost(ProcessHost):
    """The host as a Ray actor; it also says which node it is on."""

    def base_environment(self) -> Mapping[str, str]:
        return node_environment(os.environ)

    def status_directory(self) -> str | None:
        return node_directory()

    async def ready(self) -> dict[str, str]:
        return {
            "node_id": ray.get_runtime_context().get_node_id(),
            "node_ip": ray.util.get_node_ip_address(),  # type: ignore[no-untyped-call]
            **versions(),
        }


def node_directory() -> str | None:
    """This node's Ray session directory (its own on every node, even two on one machine)."""
    node = getattr(ray._private.worker, "_global_node", None)
    try:
        return str(node.get_session_dir_path()) if node is not None else None
    except Exception:
        return None


def clean_node(marker: str) -> tuple[int, Status | None]:
    """Run on a node whose host died: SIGKILL what carries the task's marker there, and take the
    exit status the host kept if its process had exited (else None)."""
    directory = node_directory()
    status = take_status(status_file(directory, marker)) if directory is not None else None
    return sweep(marker), status


def versions() -> dict[str, str]:
    """What must be the same on a node as here: oneshot-tui's version and Python's."""
    try:  # as installed (pip): the package itself is above this layer
        ours = importlib.metadata.version("oneshot-tui")
    except importlib.metadata.PackageNotFoundError:
        ours = "unknown"
    return {"oneshot_tui": ours, "python": platform.python_version()}


HERE = versions()
"""This machine's (the driver's) versions, which every node's must match."""


def version_mismatch(node: Mapping[str, str], node_ip: str) -> str | None:
    """Why a task may not start on a node whose host reported `node`; None if it may."""
    theirs = (node.get("oneshot_tui", "?"), node.get("python", "?"))
    ours = (HERE["oneshot_tui"], HERE["python"])
    if theirs == ours:
        return None
    return (
        f"node {node_ip} runs oneshot-tui {theirs[0]} on Python {theirs[1]}, this machine"
        f" oneshot-tui {ours[0]} on Python {ours[1]}: install the same versions on the node"
    )


@dataclass(frozen=True)
class Placed:
    """A booted host and the node it is on (known before it starts anything, so that what a
    host leaves behind when it dies can always be found on its node)."""

    actor: Any
    node_id: str
    node_ip: str


def node_environment(worker: Mapping[str, str]) -> dict[str, str]:
    """The worker's environment less what Ray added for its workers (PYTHONBREAKPOINT,
    OMP_NUM_THREADS, RAY_JOB_ID, ...): a task sees the node as `ray start` left it. Those are
    the variables the raylet, our worker's parent, does not have."""
    try:
        with open(f"/proc/{int(worker.get('RAY_RAYLET_PID', ''))}/environ", "rb") as f:
            raw = f.read()
    except (OSError, ValueError):
        return {k: v for k, v in worker.items() if k not in RAY_WORKER_VARIABLES}
    names = {entry.split(b"=", 1)[0].decode(errors="replace") for entry in raw.split(b"\0")}
    return {k: v for k, v in worker.items() if k in names}


RAY_WORKER_VARIABLES = frozenset(
    {"PYTHONBREAKPOINT", "OMP_NUM_THREADS", "SPT_NOENV", "RAY_JOB_ID", "RAY_RAYLET_PID"}
)
"""What Ray sets for its workers, for when the raylet's environment cannot be read."""

_Host: Any = ray.remote(RayProcessHost)


def ray_options(placement: Placement) -> dict[str, Any]:
    """Ray's actor options for a placement: GPU and memory have options of their own."""
    custom = dict(placement.resources)
    options: dict[str, Any] = {"num_cpus": placement.num_cpus, **ACTOR_OPTIONS}
    if "GPU" in custom:
        options["num_gpus"] = custom.pop("GPU")
    if "memory" in custom:
        options["memory"] = custom.pop("memory")
    if custom:
        options["resources"] = custom
    return options


def placement_key(options: dict[str, Any]) -> Hashable:
    """Hosts made with equal options can take each other's place."""
    return tuple(sorted((k, repr(v)) for k, v in options.items()))


def demand(placement: Placement) -> dict[str, float]:
    """What a node must have in total to ever take the placement, in Ray's resource names."""
    wanted = {"CPU": placement.num_cpus, **placement.resources}
    return {name: amount for name, amount in wanted.items() if amount > 0}


def fits_a_node(wanted: dict[str, float], nodes: list[dict[str, Any]]) -> bool:
    for node in nodes:
        have = node.get("Resources", {})
        if node.get("Alive") and all(have.get(k, 0) >= v for k, v in wanted.items()):
            return True
    return False


def capacity(wanted: dict[str, float], nodes: list[dict[str, Any]]) -> int:
    """How many processes of demand `wanted` the cluster's live nodes hold at once."""
    total = 0
    for node in nodes:
        have = node.get("Resources", {})
        if node.get("Alive") and wanted:
            total += int(min(have.get(k, 0) / v for k, v in wanted.items()))
    return total


@dataclass(eq=False)
class _Waiter:
    """A task waiting for a host of `key`: a new one, or one a task of the same placement
    gives back first."""

    key: Hashable
    done: anyio.Event = field(default_factory=anyio.Event)
    host: Placed | None = None
    reused: bool = False
    error: Exception | None = None
    """Why the host booted for it could not serve (SpawnError, ProcessLost)."""


class Hosts:
    """Hands out hosts for placements, new or reused; takes them back when their process ends.

    A host is booted for each task waiting beyond those already booting for its placement;
    whichever host is ready first (a new one, or one given back) serves the first waiting task.
    Boots run in the task group of the run the backend serves (`serve_in`), not in the task
    that asked: a host that was not needed after all goes to the pool rather than being killed
    (its boot cost half a second of CPU), and `keep_warm` boots a run's expected hosts before any
    task asks.
    """

    def __init__(self) -> None:
        self._pool = HostPool(lambda placed: ray.kill(placed.actor))
        self._waiting: list[_Waiter] = []
        self._booting: dict[Hashable, int] = {}
        self._group: anyio.abc.TaskGroup | None = None

    def serve_in(self, group: anyio.abc.TaskGroup | None) -> None:
        """Boot hosts in `group` from now on (None: the run ended; no more boots)."""
        self._group = group
        if group is None:
            self._pool.keep.clear()

    def keep_warm(self, key: Hashable, options: dict[str, Any], count: int) -> None:
        """Have `count` hosts of `key` up (booting now if need be) and keep them idle between
        the run's tasks for the pool's warm timeout rather than its idle timeout."""
        self._pool.keep[key] = count
        assert self._group is not None, "keep_warm while serving a run"
        for _ in range(count - self._pool.count(key) - self._booting.get(key, 0)):
            self._group.start_soon(self._boot, key, options)

    async def get(
        self, key: Hashable, options: dict[str, Any], *, reuse: bool = True
    ) -> tuple[Placed, bool, float]:
        """A booted host for `key`, whether it served before, and for how many seconds it was
        idle; raises ProcessLost if the one booted for it died booting, SpawnError if it cannot
        run a task (oneshot-tui missing or at another version on its node)."""
        self._pool.expire()
        pooled = self._pool.take(key) if reuse else None
        if pooled is not None:
            host, idle = pooled
            return host, True, idle
        # Idle hosts of other placements hold resources the new one may need: let them go.
        self._pool.clear(but=key)
        waiter = _Waiter(key)
        self._waiting.append(waiter)
        try:
            if self._booting.get(key, 0) < sum(w.key == key for w in self._waiting):
                if self._group is None:
                    raise RuntimeError("hosts are booted only while the backend serves a run")
                self._group.start_soon(self._boot, key, options)
            await waiter.done.wait()
        except BaseException:
            if waiter.host is not None:  # given up (a stop) just as a host came
                self._deliver(key, waiter.host, reused=waiter.reused)
            raise
        finally:
            self._waiting.remove(waiter)
        if waiter.error is not None:
            raise waiter.error
        assert waiter.host is not None
        return waiter.host, waiter.reused, 0.0

    async def _boot(self, key: Hashable, options: dict[str, Any]) -> None:
        self._booting[key] = self._booting.get(key, 0) + 1
        new = _Host.options(**options).remote()
        try:
            where = await new.ready.remote()
        except RayError as exc:  # (an import failure is an ActorDiedError)
            ray.kill(new)
            why = first_line(exc)
            self._fail(
                key,
                import_failure(str(exc))
                or ProcessLost(f"its Ray worker died while starting: {why}"),
            )
            return
        except BaseException:
            # Given up (a stop, the run's end) while Ray was still placing it: killing it
            # cancels the placement.
            ray.kill(new)
            raise
        finally:
            self._booting[key] -= 1
        placed = Placed(new, where["node_id"], where["node_ip"])
        mismatch = version_mismatch(where, placed.node_ip)
        if mismatch is not None:  # checked before anything starts there: not a lost node
            ray.kill(new)
            self._fail(key, SpawnError(mismatch, node=placed.node_ip))
            return
        self._deliver(key, placed, reused=False)

    def _fail(self, key: Hashable, error: Exception) -> None:
        """A boot for `key` failed: the first task waiting for such a host learns why."""
        for waiter in self._waiting:
            if waiter.key == key and not waiter.done.is_set():
                waiter.error = error
                waiter.done.set()
                return
        log.info("a host booted ahead of need could not serve: %s", error)

    def _deliver(self, key: Hashable, host: Placed, *, reused: bool) -> None:
        for waiter in self._waiting:
            if waiter.key == key and not waiter.done.is_set():
                waiter.host, waiter.reused = host, reused
                waiter.done.set()
                return
        if any(not w.done.is_set() for w in self._waiting):
            ray.kill(host.actor)  # its resources may be what the waiting tasks need
        else:
            self._pool.give(key, host)

    def give_back(self, key: Hashable, host: Placed) -> None:
        """A host whose process ended and was closed cleanly."""
        self._deliver(key, host, reused=True)

    def expire(self) -> None:
        self._pool.expire()

    def clear(self) -> None:
        self._pool.clear()


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_NODE_IP = re.compile(r"\bip=([0-9A-Fa-f.:]+)")
_IMPORT_ERROR = re.compile(r"^\s*((?:ModuleNotFoundError|ImportError): .*)$", re.MULTILINE)


def import_failure(text: str) -> SpawnError | None:
    """The host's class could not be loaded on its node (Ray then runs a `TemporaryActor` whose
    every call raises): what is missing and where, from Ray's error text; None for another
    error."""
    text = _ANSI.sub("", text)
    if "failed to import on the worker" not in text:
        return None
    node = _NODE_IP.search(text)
    where = node.group(1) if node else "its node"
    causes = _IMPORT_ERROR.findall(text)
    cause = causes[-1].strip() if causes else "the host's module cannot be imported"
    return SpawnError(
        f"oneshot-tui cannot run on node {where}: {cause} (install oneshot-tui[ray] there, in"
        " the Python that runs Ray, at the version of this machine)",
        node=where if node else "",
    )


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
