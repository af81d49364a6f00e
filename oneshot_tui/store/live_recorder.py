"""The history recorder: one more bus subscriber, writing a run's events to `history.db`.

It never slows the runners: the bus never blocks a publisher, output events are skipped (the log
files hold the output), and every SQLite call runs in a worker thread. Events that arrive while a
batch is being written simply wait in the subscription and make the next batch bigger, so commits
stay few under load yet each transition is committed within one write of happening.

History is never a reason to lose output: if the file cannot be opened or written, the recorder
warns once and stops recording, and the run goes on.

    async with record_history(orchestrator, origin):
        result = await orchestrator.run()
"""

from __future__ import annotations

import math
import os
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Protocol

import anyio

from oneshot_tui.core.bus import EventBus, Subscription
from oneshot_tui.core.events import Event, ProcessStarted, TaskAdded
from oneshot_tui.core.redact import Redactor
from oneshot_tui.core.spec import RunSettings, TaskSpec, ray_address
from oneshot_tui.store.db import connect, explain, is_busy, is_full
from oneshot_tui.store.paths import history_db_path
from oneshot_tui.store.procinfo import ProcessIdentity, host_name, identify, identify_child
from oneshot_tui.store.recovery import (
    Orphan,
    RemoteAttempt,
    close_processes,
    find_orphans,
    recover_lost_runs,
    remote_attempts,
)
from oneshot_tui.store.reserve import RESERVE_NAME, SpaceReserve
from oneshot_tui.store.run_origin import RunOrigin
from oneshot_tui.store.run_writer import RECORDED, Batch, RunInfo, RunWriter
from oneshot_tui.store.schema import SchemaTooNew, migrate
from oneshot_tui.store.specs import dumps, spec_to_json

Warn = Callable[[str], None]

MAX_BATCH = 4096
RETRY_INTERVAL = 1.0
"""Seconds between tries while another process keeps the database locked."""
GIVE_UP_AFTER = 60.0
"""Seconds of a locked database after which this run stops recording (and says so)."""


def warn_on_stderr(message: str) -> None:
    print(f"oneshot-tui: warning: {message}", file=sys.stderr, flush=True)


class HistoryRecorder:
    """Records one run. Start `consume(subscription)` in the run's task group."""

    def __init__(
        self,
        db_path: Path,
        info: RunInfo,
        spec_of: Callable[[str], TaskSpec | None],
        warn: Warn = warn_on_stderr,
        redactor: Redactor | None = None,
    ) -> None:
        self.db_path = db_path
        self.info = info
        self._spec_of = spec_of
        self._redactor = redactor
        """The run's secrets: what is stored names them instead (a rerun takes them back)."""
        self._warn = warn
        self._writer: RunWriter | None = None
        self._pending: list[Event] = []
        self._specs: dict[str, str | None] = {}
        self._identities: dict[int, ProcessIdentity | None] = {}
        self._busy_since: float | None = None
        self._reserve: SpaceReserve | None = None
        """Space for the last writes if the disk fills up during the run (store/reserve.py)."""
        self._full = False
        """The last write found the disk full: what is pending waits for space (or the end)."""
        self.enabled = True
        """False once recording has stopped for good (the file is unusable)."""
        self.lost_runs: list[str] = []
        """Earlier runs found lost (their process died) when this one opened the history."""
        self.orphans: tuple[Orphan, ...] = ()
        """Process groups of lost runs still alive when this one opened the history."""
        self.remote: tuple[RemoteAttempt, ...] = ()
        """Open attempts of lost runs on cluster nodes: only a sweep there can say what is left."""

    # -- the event loop's side -------------------------------------------------------------------

    async def consume(self, sub: Subscription) -> None:
        """Record everything `sub` delivers until it ends; then close the file."""
        try:
            problem = await anyio.to_thread.run_sync(self._open)
            if problem is not None:
                self._stop(problem)
                return
            self._announce()
            while self.enabled:
                events: list[Event] | None = None
                with anyio.move_on_after(RETRY_INTERVAL if self._pending else math.inf):
                    events = await sub.receive_batch(MAX_BATCH)
                if events:
                    self._take(events)
                if self._pending:
                    problem = await anyio.to_thread.run_sync(self._flush)
                    if problem is not None:
                        self._stop(problem)
        except anyio.EndOfStream:
            pass
        except Exception as exc:  # a bug in recording must never take the run down
            self._stop(f"recording failed: {type(exc).__name__}: {exc}")
        finally:
            sub.close()
            with anyio.CancelScope(shield=True):
                await self._finish(sub)

    async def _finish(self, sub: Subscription) -> None:
        """Write what is still queued (the run's last events), then close the file."""
        try:
            while events := sub.receive_nowait(10**9):
                self._take(events)
            if self.enabled and self._pending:
                problem = await anyio.to_thread.run_sync(self._flush, True)
                if problem is not None:
                    self._stop(problem)
        except Exception as exc:
            self._stop(f"recording failed: {type(exc).__name__}: {exc}")
        finally:
            if self._writer is not None:
                await anyio.to_thread.run_sync(self._writer.conn.close)
                self._writer = None
            if self._reserve is not None:
                self._reserve.release()  # the run is recorded (or never will be): not needed

    def _take(self, events: list[Event]) -> None:
        if not self.enabled:
            return
        for event in events:
            if isinstance(event, RECORDED):
                if isinstance(event, ProcessStarted):
                    # Now, not at write time: a short-lived child may be reaped any moment,
                    # and only a process we can still see can be identified (one /proc read).
                    # A pid on a cluster node means nothing here: `cleanup` reaches that node
                    # through the cluster, by the attempt's marker, never by the pid.
                    local = not event.node
                    self._identities[event.pid] = identify_child(event.pid) if local else None
                elif isinstance(event, TaskAdded) and event.task_id not in self._specs:
                    spec = self._spec_of(event.task_id)
                    self._specs[event.task_id] = (
                        dumps(spec_to_json(spec, self._redactor)) if spec else None
                    )
                self._pending.append(event)

    def _stop(self, problem: str) -> None:
        if self.enabled:
            self.enabled = False
            self._pending.clear()
            self._warn(
                f"history: {problem}; run {self.info.run_id} is not recorded there"
                f" (its logs are kept in {self.info.log_dir})"
            )

    def _announce(self) -> None:
        for run_id in self.lost_runs:
            self._warn(
                f"run {run_id} was lost (its process died); its unfinished tasks are marked failed"
            )
        if self.orphans:
            runs = sorted({o.run_id for o in self.orphans})
            count = sum(len(o.members) for o in self.orphans)
            self._warn(
                f"{count} process(es) of lost run(s) {', '.join(runs)} are still running;"
                " `oneshot-tui cleanup` stops them"
            )
        if self.remote:
            runs = sorted({a.run_id for a in self.remote})
            self._warn(
                f"{len(self.remote)} task(s) of lost run(s) {', '.join(runs)} ran on Ray cluster"
                " nodes and may have left processes there; `oneshot-tui cleanup` sweeps them"
            )

    # -- the worker thread's side ----------------------------------------------------------------

    def _open(self) -> str | None:
        try:
            conn = connect(self.db_path)
        except Exception as exc:  # HistoryError, or anything else: never the run's problem
            return str(exc)
        try:
            migrate(conn)
            now = time.time()
            self.lost_runs = recover_lost_runs(conn, now)
            scan = find_orphans(conn)
            close_processes(conn, scan.gone, now)
            self.orphans = scan.orphans
            self.remote = remote_attempts(conn)
        except SchemaTooNew as exc:
            conn.close()
            return f"{self.db_path}: {exc}"
        except Exception as exc:
            conn.close()
            return explain(self.db_path, exc)
        self._writer = RunWriter(conn, self.info)
        self._reserve = SpaceReserve(Path(self.info.log_dir) / RESERVE_NAME)
        return None

    def _flush(self, final: bool = False) -> str | None:
        """Write what is pending; a message if recording must stop."""
        assert self._writer is not None
        events = list(self._pending)
        try:
            self._writer.write(Batch(events, self._specs, self._identities))
        except sqlite3.Error as exc:
            if is_full(exc):
                return self._wait_for_space(exc, final)
            if not is_busy(exc):
                return explain(self.db_path, exc)
            now = time.monotonic()
            if self._busy_since is None:
                self._busy_since = now
            if final or now - self._busy_since > GIVE_UP_AFTER:
                return explain(self.db_path, exc)
            return None  # try again with the next batch
        except Exception as exc:  # a bug here must not take the run down
            return f"recording failed: {type(exc).__name__}: {exc}"
        self._busy_since = None
        self._full = False
        del self._pending[: len(events)]
        for event in events:
            if isinstance(event, ProcessStarted):
                self._identities.pop(event.pid, None)
        return None

    def _wait_for_space(self, exc: sqlite3.Error, final: bool) -> str | None:
        """The disk is full. While tasks run, what is pending waits (a task whose log cannot be
        written is being stopped; space may come back); at the end, the reserve is given back and
        the run's end written in it. A message only if even that fails."""
        if not self._full:
            self._full = True
            self._warn(
                f"history: {self.db_path}: the disk is full; run {self.info.run_id} is recorded"
                " once there is room (at its end at the latest)"
            )
        if not final:
            return None
        if self._reserve is not None and self._reserve.release():
            return self._flush(final=True)
        return explain(self.db_path, exc)


class _HasSpec(Protocol):
    @property
    def spec(self) -> TaskSpec: ...


class RecordableRun(Protocol):
    """What the recorder needs of a run: the Orchestrator has it all."""

    @property
    def run_id(self) -> str: ...
    @property
    def data_dir(self) -> Path: ...
    @property
    def log_dir(self) -> Path: ...
    @property
    def settings(self) -> RunSettings: ...
    @property
    def bus(self) -> EventBus: ...
    @property
    def tasks(self) -> Mapping[str, _HasSpec]: ...
    @property
    def redactor(self) -> Redactor: ...


def recorder_for(
    run: RecordableRun, origin: RunOrigin | None = None, warn: Warn = warn_on_stderr
) -> HistoryRecorder:
    tasks = run.tasks

    def spec_of(task_id: str) -> TaskSpec | None:
        task = tasks.get(task_id)
        return task.spec if task is not None else None

    origin = origin or RunOrigin(cwd=os.getcwd())
    # A secret typed into the command line is stored by name, as in the specs.
    argv = tuple(run.redactor.stored(part) for part in origin.argv)
    settings = run.settings
    info = RunInfo(
        run_id=run.run_id,
        log_dir=str(run.log_dir),
        settings=settings,
        origin=replace(origin, argv=argv),
        owner=identify(os.getpid()),
        host=host_name(),
        ray_address=ray_address(settings.ray_address) if settings.backend == "ray" else None,
    )
    return HistoryRecorder(history_db_path(run.data_dir), info, spec_of, warn, run.redactor)


@asynccontextmanager
async def record_history(
    run: RecordableRun, origin: RunOrigin | None = None, *, warn: Warn = warn_on_stderr
) -> AsyncIterator[HistoryRecorder]:
    """Record `run` while the block runs; on leaving, write what is left and close the file.

    Enter it before `run.run()` starts (so no event is missed) and leave it after `run()`
    returns (so the final RunFinished is written). Leaving waits for the last write.
    """
    recorder = recorder_for(run, origin, warn)
    sub = run.bus.subscribe("history", output=False)  # the log files hold the output
    async with anyio.create_task_group() as tg:
        tg.start_soon(recorder.consume, sub, name="history recorder")
        try:
            yield recorder
        finally:
            sub.close()  # the recorder takes what is queued, writes it, and ends
