"""Finding the live runs of a data dir: every run directory with a control socket that answers.

A socket nobody answers on is stale (its run's process died: kill -9, a crash, a reboot): it is
removed on the way, so a dead run is never listed, attached to or commanded. The history's own
recovery marks such a run lost the next time the history is opened.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from oneshot_tui.control.client import ControlClient, RunGone
from oneshot_tui.control.protocol import SOCKET_NAME, ProtocolError, Served, reachable
from oneshot_tui.core.exit_codes import UsageError

STATUS_TIMEOUT = 3.0


class NoLiveRun(UsageError):
    """No live run matches (exit 2)."""


@dataclass(frozen=True, slots=True)
class LiveRun:
    run_id: str
    pid: int
    log_dir: Path
    status: dict[str, Any]

    @property
    def served(self) -> Served:
        return Served(self.run_id, self.pid, self.log_dir)


async def _status(socket: Path) -> LiveRun | bool | None:
    """The run behind `socket`; False if nobody listens there (stale), None if it did not
    answer in time (busy, or ending: left alone)."""
    try:
        with reachable(socket) as address:
            stream = await anyio.connect_unix(address)
    except (ConnectionRefusedError, FileNotFoundError):
        return False
    except OSError:
        return None
    await stream.aclose()
    try:
        with anyio.fail_after(STATUS_TIMEOUT):
            async with await ControlClient.connect(socket) as client:
                status = await client.request("status")
    except (RunGone, ProtocolError, TimeoutError, OSError):
        return None
    hello = client.hello
    return LiveRun(str(hello["run"]), int(hello["pid"]), Path(str(hello["log_dir"])), status)


def live_runs(data_dir: Path) -> list[LiveRun]:
    """The live runs of `data_dir`, newest first (stale sockets are removed)."""
    runs: list[LiveRun] = anyio.run(find_live_runs, data_dir)
    return runs


async def find_live_runs(data_dir: Path) -> list[LiveRun]:
    """`live_runs`, in a running event loop."""
    sockets = sorted((data_dir / "runs").glob(f"*/{SOCKET_NAME}"), reverse=True)
    found: list[LiveRun | bool | None] = [None] * len(sockets)

    async def one(i: int, socket: Path) -> None:
        found[i] = await _status(socket)

    async with anyio.create_task_group() as tg:
        for i, socket in enumerate(sockets):
            tg.start_soon(one, i, socket)
    runs = []
    for socket, run in zip(sockets, found, strict=True):
        if run is False:
            with contextlib.suppress(OSError):
                socket.unlink()  # stale: nobody listens, its run's process is gone
        elif isinstance(run, LiveRun):
            runs.append(run)
    return runs


def find_live_run(data_dir: Path, ref: str | None) -> LiveRun:
    """A live run from what a person typed: an id, a unique prefix, `last` (the newest), or
    nothing (the only live run). NoLiveRun (exit 2) names what is wrong."""
    return pick_live_run(live_runs(data_dir), data_dir, ref)


def pick_live_run(runs: list[LiveRun], data_dir: Path, ref: str | None) -> LiveRun:
    if not runs:
        raise NoLiveRun(f"no live run in {data_dir}")
    if ref is None:
        if len(runs) > 1:
            ids = ", ".join(r.run_id for r in runs[:5])
            raise NoLiveRun(f"{len(runs)} runs are live ({ids}): say which")
        return runs[0]
    if ref == "last":
        return runs[0]
    exact = [r for r in runs if r.run_id == ref]
    matches = exact or [r for r in runs if r.run_id.startswith(ref)]
    if not matches:
        raise NoLiveRun(f"no live run matches {ref!r} (see oneshot-tui ps)")
    if len(matches) > 1:
        raise NoLiveRun(f"{ref!r} matches {len(matches)} live runs: give more of the id")
    return matches[0]
