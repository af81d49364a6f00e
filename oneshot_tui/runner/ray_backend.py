"""The ray backend: every process runs on a node of a Ray cluster, beside an actor that hosts it.

Imported only when a run chooses `--backend ray`: it imports Ray (the optional `[ray]` extra).

One host actor per running process (`ray_hosts.py`: a host whose process ended serves the next
task of the same placement). Ray places it on a node with room for the task's `num_cpus` and
`resources`; the host (a `ProcessHost`) starts the process there, in a process group of its own,
and keeps its output. This side fetches the output with `read` calls awaited as ObjectRefs (no
thread, and the event loop never blocks) and hands each chunk to the attempt's sink, exactly as a
local pipe would: the log file, idle detection and the bus see no difference. A stop is the same
ladder, carried out by the host on its node. If the host's worker or its node dies, its guard
(`guard.py`) kills what the task left on the node, and the process is lost: `follow` waits for
the cluster's verdict (a dead worker, or a node that left the cluster) and raises ProcessLost,
unless the process had exited before: then its status, kept on the node, is what `follow`
returns. A task lost on a node is started again elsewhere if another node could take it.
"""

from __future__ import annotations

import contextlib
import faulthandler
import itertools
import logging
import os
import socket
import sys
import threading
from collections import defaultdict, deque
from collections.abc import Hashable, Sequence
from dataclasses import replace
from typing import Any

import anyio
import anyio.from_thread
import anyio.lowlevel
import ray
from ray.exceptions import RayError, RayTaskError
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from oneshot_tui.core.spec import ray_address
from oneshot_tui.runner.backend import BackendError, Placement, ProcessLost
from oneshot_tui.runner.process import (
    ChunkSink,
    ExitStatus,
    ProcessSpec,
    ProgramNotFound,
    SpawnError,
)
from oneshot_tui.runner.process_host import READ_LIMIT, Started, Status, to_wire
from oneshot_tui.runner.ray_hosts import (
    Hosts,
    Placed,
    capacity,
    clean_node,
    demand,
    first_line,
    fits_a_node,
    placement_key,
    ray_options,
)

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 60.0
"""Seconds to reach the cluster before the run gives up (nothing has started by then)."""
CALL_SLACK = 30.0
"""Seconds a call to a live actor may take beyond the work it was asked to do."""
SWEEP_TIMEOUT = 30.0
"""Seconds to clean a node after a lost worker; a node that is gone took its processes along."""
VERDICT_TIMEOUT = 120.0
"""Seconds to wait for the cluster to say why a host stopped answering: a node that went silent
is declared dead only after its missed health checks (15 s with Ray's defaults)."""
VERDICT_POLL = 0.25
NODE_ID_LABEL = "ray.io/node-id"
TRUST_IDLE = 1.0
"""Seconds a host may have been idle and still be taken for alive without asking it."""


_clean_node: Any = ray.remote(num_cpus=0, max_retries=0)(clean_node)


def _quiet_driver_errors() -> None:
    """Ray prints the errors it hears from the cluster ("a worker died ...") on our stdout, which
    carries only data in a headless run: send them to the log (stderr) instead."""
    worker = ray._private.worker
    original = getattr(worker, "print_to_stdstream", None)
    if original is None or getattr(original, "_oneshot", False):
        return

    def to_log(data: dict[str, Any], ignore_prefix: bool) -> None:
        for line in data.get("lines", ()):
            log.info("ray: %s", str(line).splitlines()[0] if line else "")

    to_log._oneshot = True  # type: ignore[attr-defined]
    worker.print_to_stdstream = to_log


def _faulthandler_on_a_real_file() -> None:
    """`ray.init` enables faulthandler on `sys.stderr` unless it is on already, and fails
    ("file.fileno() is not a valid file descriptor") where sys.stderr is no file: a TUI in
    this process (Textual replaces it). Turn it on first, on the process's real stderr."""
    if faulthandler.is_enabled():
        return
    try:
        usable = sys.stderr.fileno() >= 0  # Textual's stand-in answers -1
    except (AttributeError, OSError, ValueError):
        usable = False
    if not usable:
        with contextlib.suppress(OSError, ValueError):
            faulthandler.enable(file=sys.__stderr__ or 2, all_threads=False)


def _token_auth() -> bool:
    try:
        from ray._private.authentication.authentication_utils import is_token_auth_enabled
    except ImportError:  # a Ray without token authentication
        return False
    return bool(is_token_auth_enabled())


class RayBackend:
    """Processes on a Ray cluster. `await start()` connects; `aclose()` lets go of it."""

    def __init__(self, address: str | None = None, forward_env: Sequence[str] = ()) -> None:
        self.address = ray_address(address)
        self.forward_env = tuple(forward_env)
        """Names of our variables every process gets on its node too (`forward_env`): a task
        gets none of ours otherwise, only its own `env`."""
        self._connected_here = False
        self._hosts = Hosts()
        self._fits: set[Hashable] = set()
        """Placements some node of the cluster was seen to have room for (asked once each)."""
        self._lost_on: defaultdict[str, set[str]] = defaultdict(set)
        """Per task (its marker less the attempt): the nodes where an attempt of it was lost."""
        self.authenticated: bool | None = None
        """Whether the cluster asks for Ray's token (known once connected): a driver without it
        could not have connected to one that does."""

    @property
    def local(self) -> bool:
        return False

    async def start(self) -> None:
        if ray.is_initialized():
            return
        if self.address != "auto":
            await anyio.to_thread.run_sync(self._check_reachable)
        done = anyio.Event()
        outcome: list[BaseException | None] = []
        token = anyio.lowlevel.current_token()

        def connect() -> None:
            try:
                self._connect()
                outcome.append(None)
            except BaseException as exc:
                outcome.append(exc)
            with contextlib.suppress(RuntimeError):  # the run gave up waiting and ended
                anyio.from_thread.run_sync(done.set, token=token)

        # A daemon thread, not anyio's worker threads: Ray may keep trying to reach a cluster
        # that does not answer, and a run that gives up must still be able to exit. From a thread,
        # Ray also leaves our signal handlers alone (it sets SIGTERM's only from the main thread).
        threading.Thread(target=connect, name="ray-connect", daemon=True).start()
        with anyio.move_on_after(CONNECT_TIMEOUT):
            await done.wait()
        if not outcome:
            raise BackendError(
                f"no answer from the Ray cluster at {self.address} within {CONNECT_TIMEOUT:.0f}s"
            )
        if outcome[0] is not None:
            raise outcome[0]
        self._connected_here = True

    def _check_reachable(self) -> None:
        """Fail at once when nothing listens at the address (Ray itself would retry for long)."""
        host, _, port = self.address.rpartition(":")
        host = host.removeprefix("ray://").strip("[]")
        if not host or not port.isdigit():
            raise BackendError(f"the Ray address must be HOST:PORT, got {self.address!r}")
        try:
            socket.create_connection((host, int(port)), timeout=10).close()
        except OSError as exc:
            raise BackendError(
                f"cannot connect to the Ray cluster at {self.address}: {exc.strerror or exc}"
            ) from None

    def _connect(self) -> None:
        _faulthandler_on_a_real_file()
        try:
            ray.init(
                address=self.address,
                namespace="oneshot-tui",
                log_to_driver=False,  # the task's output comes to us as data, not as prints
                logging_level=logging.ERROR,
            )
        except (ConnectionError, RuntimeError, ValueError) as exc:
            hint = "" if self.address != "auto" else " (start one with `ray start --head`)"
            raise BackendError(
                f"cannot connect to the Ray cluster at {self.address}{hint}: {first_line(exc)}"
            ) from None
        _quiet_driver_errors()
        self.authenticated = _token_auth()
        if not self.authenticated:
            log.warning(
                "warning: the Ray cluster at %s runs without authentication: anyone who can reach"
                " its ports can run code on its nodes (README: Running on a Ray cluster, Security)",
                self.address,
            )

    async def serve(self, expected: Sequence[tuple[Placement, int]]) -> None:
        """While a run runs: boot the hosts its tasks will want, as many of each placement as
        may run at once and fit the cluster, before any task asks (a boot costs about half a
        second of CPU; a run pays it once per host, in parallel); keep them idle between tasks
        (up to a minute), and let other idle hosts give their resources back after 5 s."""
        async with anyio.create_task_group() as tg:
            self._hosts.serve_in(tg)
            try:
                if expected:
                    nodes = await self._nodes()
                    for placement, count in expected:
                        options = ray_options(placement)
                        fit = capacity(demand(placement), nodes)
                        self._hosts.keep_warm(placement_key(options), options, min(count, fit))
                while True:
                    await anyio.sleep(1.0)
                    self._hosts.expire()
            finally:
                self._hosts.serve_in(None)
                tg.cancel_scope.cancel()

    async def aclose(self) -> None:
        self._hosts.clear()
        if self._connected_here:
            self._connected_here = False
            await anyio.to_thread.run_sync(ray.shutdown)

    async def spawn(self, spec: ProcessSpec, placement: Placement) -> RayProcess:
        wanted = demand(placement)
        lost_on = self._lost_on.get(_task_of(spec.marker), set()) if spec.marker else set()
        options = ray_options(placement)
        key = placement_key(options)
        if lost_on or key not in self._fits:
            nodes = await self._nodes()
            if wanted and not fits_a_node(wanted, nodes):
                shown = ", ".join(f"{k}={v:g}" for k, v in sorted(wanted.items()))
                raise SpawnError(f"no node of the Ray cluster has {shown}")
            self._fits.add(key)
            avoid = self._avoid(lost_on, wanted, nodes)
            if avoid:
                ids = ",".join(sorted(avoid))
                options["label_selector"] = {NODE_ID_LABEL: f"!in({ids})"}
                key = placement_key(options)  # hosts elsewhere cannot take its place
        if spec.cwd is None:  # as locally: where oneshot-tui runs, not where Ray's worker does
            spec = replace(spec, cwd=os.getcwd())
        wire = to_wire(spec, self._forwarded())
        host, _, idle = await self._hosts.get(key, options)
        if idle > TRUST_IDLE:
            # An idle host can die unnoticed (its node left): asked first, not by `start`, whose
            # failure cannot say whether the process had started (a task may kill its own host).
            try:
                with anyio.fail_after(CALL_SLACK):
                    await host.actor.alive.remote()
            except (RayError, TimeoutError):
                ray.kill(host.actor)
                host, _, _ = await self._hosts.get(key, options, reuse=False)
        try:
            started: Started = await host.actor.start.remote(wire)
        except RayError as exc:
            # It may have died after starting the process (the process can kill its own host).
            try:
                why = await self.why_lost(host)
            finally:
                self._note_lost(host, spec.marker)
                with anyio.CancelScope(shield=True):
                    await self.lost(host, spec.marker)
            raise ProcessLost(why) from exc
        except BaseException:
            # Given up (a stop) while starting: the process may have just started, so the host
            # closes it before it goes.
            shielded = anyio.CancelScope(shield=True)
            with shielded, anyio.move_on_after(CALL_SLACK), contextlib.suppress(RayError):
                await host.actor.close.remote()
            ray.kill(host.actor)
            raise
        if "error" in started:
            self._hosts.give_back(key, host)  # nothing started: the host is as good as new
            message = f"{started['error']} (on node {host.node_ip})"
            error = ProgramNotFound if started.get("not_found") else SpawnError
            raise error(message, node=host.node_ip)
        return RayProcess(
            self, host, key, started.get("pid", 0), spec.marker, started.get("serial", 0)
        )

    def _avoid(
        self, lost_on: set[str], wanted: dict[str, float], nodes: list[dict[str, Any]]
    ) -> set[str]:
        """The nodes a new attempt of the task should not go to: those where it was lost
        (`lost_on`), as long as another live node could take it (on a cluster of one node, that
        node)."""
        if not lost_on:
            return set()
        others = [n for n in nodes if n.get("NodeID") not in lost_on]
        return lost_on if fits_a_node(wanted, others) else set()

    def _note_lost(self, host: Placed, marker: str | None) -> None:
        if marker is not None:
            self._lost_on[_task_of(marker)].add(host.node_id)

    def _forwarded(self) -> dict[str, str]:
        return {name: os.environ[name] for name in self.forward_env if name in os.environ}

    def give_back(self, key: Hashable, host: Placed) -> None:
        self._hosts.give_back(key, host)

    async def lost(self, host: Placed, marker: str | None) -> Status | None:
        """A host died: kill what its process left on its node (its guard does too), found by
        the task's marker; the process's exit status if it had exited, as the host kept it."""
        ray.kill(host.actor)
        if marker is None:
            return None
        swept = await sweep_node(host.node_id, marker)
        if swept is None:
            return None  # the node is gone, and so is everything that ran on it
        found, status = swept
        if found:
            log.info("swept %d process(es) of %s from %s", found, marker, host.node_ip)
        return status

    async def after_loss(self, host: Placed, marker: str | None) -> ExitStatus:
        """`follow` lost its host: the status the process exited with, if the node kept one;
        else ProcessLost with why, once the cluster has said."""
        why = await self.why_lost(host)
        if why.startswith("its Ray worker"):  # the node is up: ask it
            status = await self.lost(host, marker)
            if status is not None:
                log.info("%s: its host died after it exited (%s)", marker, why)
                return ExitStatus(*status)
        self._note_lost(host, marker)
        raise ProcessLost(why)

    async def why_lost(self, host: Placed) -> str:
        """Why a host stopped answering, once the cluster knows: Ray calls an actor on a node
        that went silent unavailable at once, and declares it dead with its node only after the
        node missed its health checks (`health_check_period_ms` x
        `health_check_failure_threshold`, 3 s x 5 by default)."""
        actor_id = host.actor._actor_id.hex()
        with anyio.move_on_after(VERDICT_TIMEOUT):
            while True:
                try:
                    node_alive, actor_dead = await anyio.to_thread.run_sync(
                        _verdict, host.node_id, actor_id
                    )
                except Exception as exc:  # the head itself is gone: so is every node's work
                    return f"the cluster does not answer: {first_line(exc)}"
                if not node_alive:
                    return f"node {host.node_ip} left the cluster"
                if actor_dead:
                    return f"its Ray worker on {host.node_ip} died"
                await anyio.sleep(VERDICT_POLL)
        return f"its Ray worker on {host.node_ip} stopped answering"

    async def alive_nodes(self) -> dict[str, list[str]]:
        """The cluster's live nodes: IP address -> their node ids (more than one where several
        nodes share a machine). Raises ProcessLost if the cluster does not answer."""
        found: dict[str, list[str]] = {}
        for node in await self._nodes():
            if node.get("Alive"):
                found.setdefault(str(node.get("NodeManagerAddress")), []).append(node["NodeID"])
        return found

    async def _nodes(self) -> list[dict[str, Any]]:
        try:
            nodes: list[dict[str, Any]] = await anyio.to_thread.run_sync(ray.nodes)
        except Exception as exc:
            raise ProcessLost(f"the cluster does not answer: {first_line(exc)}") from None
        return nodes


async def sweep_node(node_id: str, marker: str) -> tuple[int, Status | None] | None:
    """`clean_node(marker)` on the node `node_id`, pinned there: how many processes carrying the
    marker it SIGKILLed, and the exit status a host kept there; None if the node did not answer
    within SWEEP_TIMEOUT (a node that is gone took its processes along)."""
    strategy = NodeAffinitySchedulingStrategy(node_id, soft=False)
    ref = _clean_node.options(scheduling_strategy=strategy).remote(marker)
    with anyio.move_on_after(SWEEP_TIMEOUT):
        try:
            found, status = await ref
        except RayError:
            return None
        return found, status
    return None


def _task_of(marker: str) -> str:
    """A task's marker less its attempt (`<run>/<task>/<attempt>`): the same for every attempt."""
    return marker.rpartition("/")[0] or marker


def _verdict(node_id: str, actor_id: str) -> tuple[bool, bool]:
    """Whether the node is alive, and whether the GCS has the actor dead."""
    nodes = ray.nodes()  # type: ignore[no-untyped-call]
    node_alive = any(n.get("NodeID") == node_id and n.get("Alive") for n in nodes)
    if not node_alive:
        return False, True
    table = ray._private.state.state.actor_table(actor_id)
    return True, bool(table) and table.get("State") == "DEAD"


class RayProcess:
    """A process on a cluster node, through the actor that hosts it."""

    def __init__(
        self,
        backend: RayBackend,
        host: Placed,
        key: Hashable,
        pid: int,
        marker: str | None,
        serial: int = 0,
    ) -> None:
        self._backend = backend
        self._host = host
        self._actor = host.actor
        self._key = key
        self._pid = pid
        self._marker = marker
        self._serial = serial
        """Which of its host's processes this is: every read names it."""
        self._pending: list[Any] = []
        """Calls sent without waiting (kill), collected at the end so Ray reports no error."""
        self._ended = False
        self._lost = False
        self._swept = False
        """The node was cleaned after the host died (`after_loss`): no second sweep."""
        self._closed_by_host = False
        """The read that brought the status closed the process too."""
        self._closed = False

    @property
    def pid(self) -> int:
        return self._pid

    @property
    def node(self) -> str:
        return self._host.node_ip

    async def follow(self, sink: ChunkSink, *, grace: float) -> ExitStatus:
        # The first read starts the following, and the one that brings the status closes the
        # process: a short process costs its host two calls, `start` and one `read`. Two reads
        # are in flight at once (the host serves them in turn), so one travels while the other
        # is served: a read is a round trip, and each hands over at most READ_LIMIT.
        reads: deque[Any] = deque()
        turns = itertools.count()

        def ask(follow: float | None = None) -> None:
            reads.append(
                self._actor.read.remote(
                    READ_LIMIT, follow=follow, close=True, serial=self._serial, turn=next(turns)
                )
            )

        ask(grace)
        ask()
        try:
            while True:
                try:
                    chunks, status = await reads.popleft()
                except RayTaskError as exc:  # the host raised: a bug, not a lost node
                    raise RuntimeError(f"process host on {self.node}: {first_line(exc)}") from None
                except RayError:
                    self._lost = True
                    try:
                        exited = await self._backend.after_loss(self._host, self._marker)
                    except ProcessLost:
                        self._swept = True
                        raise
                    self._swept = self._ended = True
                    return exited
                if status is None:
                    ask()
                for stream, data in chunks:
                    await sink(stream, data)
                if status is not None:
                    self._ended = self._closed_by_host = True
                    return ExitStatus(*status)
        finally:
            self._pending.extend(reads)  # a read after the last answers at once, with nothing

    def alive(self) -> bool:
        # Once `follow` returned, the host has stopped whatever the process left behind; a lost
        # host cannot be asked (`aclose` sweeps its node instead).
        return not (self._ended or self._lost or self._closed)

    async def stop(self, grace: float) -> None:
        if self._lost or self._closed:
            return
        try:
            with anyio.move_on_after(grace + CALL_SLACK):
                await self._actor.stop.remote(grace)
        except RayError:
            self._lost = True

    def kill(self) -> None:
        if not (self._lost or self._closed):
            self._pending.append(self._actor.kill.remote())

    def resize(self, rows: int, cols: int) -> bool:
        return False  # the PTY is on another node: it keeps the size it started with

    async def write_input(self, data: bytes) -> bool:
        return False  # no input to a process on another node (yet)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        with anyio.CancelScope(shield=True):
            clean = self._closed_by_host
            if not self._lost and not clean:
                try:
                    with anyio.move_on_after(CALL_SLACK):
                        await self._actor.close.remote()
                        clean = True
                except RayError:
                    self._lost = True
            for ref in self._pending:
                with anyio.move_on_after(CALL_SLACK), contextlib.suppress(RayError):
                    await ref
            self._pending.clear()
            if clean:
                self._backend.give_back(self._key, self._host)
            elif self._swept:
                ray.kill(self._actor)
            else:
                await self._backend.lost(self._host, self._marker)
