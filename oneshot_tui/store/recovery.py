"""After a crash: runs whose process died are marked lost, and their surviving children found.

A run is live while the process that owns it runs. If that process is gone (SIGKILL, power loss),
the run can never finish: it is marked `lost`, and its unfinished tasks `failed` with reason
`lost`. Its children ran in process groups of their own, so they may have outlived it; the ones
still alive (and provably the same processes, see procinfo) are orphans for `cleanup` to stop,
with the descendants that left their group but still carry their task's marker variable.
Processes that ran on the nodes of a Ray cluster are not this machine's to look at: their open
attempts (`remote_attempts`) are for `cleanup` to sweep on their nodes, by marker.
"""

from __future__ import annotations

import sqlite3
from functools import partial

from oneshot_tui.core.procfs import MARKER_VAR, ProcStat, attempt_marker, has_environ_entry
from oneshot_tui.core.record import record
from oneshot_tui.core.states import ENDED_STATES, TaskState
from oneshot_tui.store.db import write_transaction
from oneshot_tui.store.procinfo import (
    ProcessIdentity,
    boot_id,
    host_name,
    is_running,
    live_processes,
    own_group_members,
)
from oneshot_tui.store.run_origin import LOST_REASON, RunStatus


def owner_gone(host: str, pid: int, pid_start: int | None, boot: str | None) -> bool:
    """True if the process that owned a live run is certainly gone."""
    if host != host_name():
        return False  # a data dir shared with another machine: we cannot see its processes
    if pid_start is None or boot is None:
        return False  # never said who it was: never judged dead
    return not is_running(ProcessIdentity(pid, pid_start, boot))


def recover_lost_runs(conn: sqlite3.Connection, now: float) -> list[str]:
    """Mark every live run whose process is gone as lost; returns their ids, oldest first."""
    rows = conn.execute(
        "SELECT id, host, pid, pid_start, boot_id FROM runs WHERE status = ? ORDER BY started",
        (RunStatus.LIVE,),
    ).fetchall()
    lost = [run_id for run_id, *owner in rows if owner_gone(*owner)]
    return [run_id for run_id in lost if write_transaction(conn, partial(_mark_lost, run_id, now))]


def _mark_lost(run: str, now: float, conn: sqlite3.Connection) -> bool:
    # `ended` stays unknown: the process died at some moment nobody recorded.
    cursor = conn.execute(
        "UPDATE runs SET status = ? WHERE id = ? AND status = ?",
        (RunStatus.LOST, run, RunStatus.LIVE),
    )
    if cursor.rowcount == 0:
        return False  # another process noticed first
    ended = tuple(str(s) for s in ENDED_STATES)
    marks = ", ".join("?" for _ in ended)
    unfinished = conn.execute(
        f"SELECT name, state, attempts FROM tasks WHERE run_id = ? AND state NOT IN ({marks})"
        " ORDER BY position",
        (run, *ended),
    ).fetchall()
    failed = str(TaskState.FAILED)
    for name, state, attempts in unfinished:
        conn.execute(
            "INSERT INTO transitions (run_id, task, attempt, ts, source, target, event,"
            " reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (run, name, attempts, now, state, failed, LOST_REASON, LOST_REASON),
        )
        conn.execute(
            "UPDATE tasks SET state = ?, reason = ? WHERE run_id = ? AND name = ?",
            (failed, LOST_REASON, run, name),
        )
        conn.execute(
            "UPDATE attempts SET state = ?, reason = ? WHERE run_id = ? AND task = ?"
            " AND attempt = ? AND ended IS NULL",
            (failed, LOST_REASON, run, name, attempts),
        )
    return True


@record
class Orphan:
    """A process group started by a lost run that is still alive."""

    run_id: str
    task: str
    attempt: int
    leader: ProcessIdentity
    members: tuple[ProcStat, ...]
    """Everything to stop: the live members of its group, then its escapees."""
    escapees: tuple[ProcStat, ...] = ()
    """Members that left the group (setsid) but carry the attempt's marker."""

    @property
    def pgid(self) -> int:
        return self.leader.pid


@record
class OrphanScan:
    """What a look at the recorded processes of lost runs found."""

    orphans: tuple[Orphan, ...]
    gone: tuple[int, ...]
    """Rowids of recorded processes whose group is gone for good (closed by `close_processes`)."""


def find_orphans(conn: sqlite3.Connection) -> OrphanScan:
    """The process groups of lost runs on this machine and boot that are still alive."""
    rows = conn.execute(
        "SELECT p.rowid, p.run_id, p.task, p.attempt, p.pid, p.start_ticks, p.boot_id"
        " FROM processes p JOIN runs r ON r.id = p.run_id"
        " WHERE r.status = ? AND r.host = ? AND p.node = '' AND p.ended IS NULL"
        " ORDER BY p.rowid",
        (RunStatus.LOST, host_name()),
    ).fetchall()
    orphans: list[Orphan] = []
    gone: list[int] = []
    this_boot = boot_id()
    processes = live_processes() if rows else []
    marked_attempts: set[tuple[str, str, int]] = set()
    for rowid, run_id, task, attempt, pid, start_ticks, boot in rows:
        if start_ticks is None or boot is None:
            continue  # we never knew who it was: never ours to stop
        if boot != this_boot:
            gone.append(rowid)
            continue
        leader = ProcessIdentity(pid, start_ticks, boot)
        members = own_group_members(leader, processes)
        escapees: list[ProcStat] = []
        if (run_id, task, attempt) not in marked_attempts:
            # The marker names the attempt, not one of its processes: its escapees go with
            # the attempt's first recorded process.
            marked_attempts.add((run_id, task, attempt))
            marker = attempt_marker(run_id, task, attempt)
            escapees = marked_escapees(marker, leader, processes, members)
        if members or escapees:
            orphans.append(
                Orphan(run_id, task, attempt, leader, (*members, *escapees), tuple(escapees))
            )
        else:
            gone.append(rowid)
    return OrphanScan(tuple(orphans), tuple(gone))


def marked_escapees(
    marker: str, leader: ProcessIdentity, processes: list[ProcStat], members: list[ProcStat]
) -> list[ProcStat]:
    """Live processes outside the leader's group carrying `marker`, started no earlier than the
    leader (a run id never repeats, so the marker alone names the attempt)."""
    entry = f"{MARKER_VAR}={marker}".encode()
    inside = {m.pid for m in members}
    return [
        p
        for p in processes
        if p.pid not in inside
        and p.start_ticks >= leader.start_ticks
        and has_environ_entry(p.pid, entry)
    ]


def close_processes(conn: sqlite3.Connection, rowids: tuple[int, ...], now: float) -> None:
    """Mark recorded processes as ended, so they are not looked for again."""
    if rowids:
        write_transaction(
            conn,
            lambda c: c.executemany(
                "UPDATE processes SET ended = ? WHERE rowid = ? AND ended IS NULL",
                [(now, rowid) for rowid in rowids],
            ),
        )


@record
class RemoteAttempt:
    """An attempt of a lost run with processes on a cluster node that were never seen to end."""

    run_id: str
    task: str
    attempt: int
    node: str
    """The node's IP address, as the run recorded it."""
    ray_address: str
    """The Ray cluster the run used (runs.ray_address)."""

    @property
    def marker(self) -> str:
        return attempt_marker(self.run_id, self.task, self.attempt)


def remote_attempts(conn: sqlite3.Connection) -> tuple[RemoteAttempt, ...]:
    """The open attempts of lost runs (of this machine) on cluster nodes, one per attempt and
    node, in the order they started. Nothing here says whether anything of them is left: only
    a sweep on the node can."""
    rows = conn.execute(
        "SELECT p.run_id, p.task, p.attempt, p.node, r.ray_address"
        " FROM processes p JOIN runs r ON r.id = p.run_id"
        " WHERE r.status = ? AND r.host = ? AND p.node != '' AND p.ended IS NULL"
        " AND r.ray_address IS NOT NULL"
        " GROUP BY p.run_id, p.task, p.attempt, p.node ORDER BY MIN(p.rowid)",
        (RunStatus.LOST, host_name()),
    ).fetchall()
    return tuple(RemoteAttempt(*row) for row in rows)


def close_remote_attempt(conn: sqlite3.Connection, attempt: RemoteAttempt, now: float) -> None:
    """Record that nothing of `attempt` is left on its node (swept, or the node is gone)."""
    write_transaction(
        conn,
        lambda c: c.execute(
            "UPDATE processes SET ended = ? WHERE run_id = ? AND task = ? AND attempt = ?"
            " AND node = ? AND ended IS NULL",
            (now, attempt.run_id, attempt.task, attempt.attempt, attempt.node),
        ),
    )


def close_orphan(conn: sqlite3.Connection, orphan: Orphan, now: float) -> None:
    write_transaction(
        conn,
        lambda c: c.execute(
            "UPDATE processes SET ended = ? WHERE run_id = ? AND pid = ? AND start_ticks = ?"
            " AND ended IS NULL",
            (now, orphan.run_id, orphan.leader.pid, orphan.leader.start_ticks),
        ),
    )


def is_live(host: str, pid: int, pid_start: int | None, boot: str | None, status: str) -> bool:
    """Whether a run is really being run now (its row says live and its owner is alive)."""
    return status == RunStatus.LIVE and not owner_gone(host, pid, pid_start, boot)
