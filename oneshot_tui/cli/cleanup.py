"""`oneshot-tui cleanup [--yes]`: stop what lost runs left running.

A run whose oneshot-tui process died (SIGKILL, a crash) could not stop its tasks, and each task
ran in a process group of its own, so they may still be running. This finds those groups (only
the ones provably started by that run: pid, start time and boot must match the record), lists
them with the descendants that left their group but carry their task's marker, asks, and
stops each with the usual ladder: SIGINT, SIGTERM, then SIGKILL. Where tasks ran in cgroups,
whatever is still in the cgroup of a oneshot-tui that died (a daemon that scrubbed its
environment and left its group) is stopped too: SIGTERM, then `cgroup.kill`.

Tasks that ran on the nodes of a Ray cluster (the ray backend) are reached through that run's
cluster: for each attempt never seen to end, every live node at the recorded address gets the
node sweep (SIGKILL whatever carries the attempt's marker). Their pids mean nothing here, so
they are listed by task and node; how many processes were left is known only after the sweep.
A node that left the cluster took its processes along. Ray is imported only when there is
such an attempt.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import time
from typing import TYPE_CHECKING

from oneshot_tui.cli.common import COMMAND_HELP
from oneshot_tui.cli.history_common import add_data_dir, guarded, open_reader, paragraph
from oneshot_tui.core.exit_codes import ExitCode
from oneshot_tui.core.printable import one_line

if TYPE_CHECKING:
    from oneshot_tui.runner.cgroups import TaskCgroup
    from oneshot_tui.store.history import History
    from oneshot_tui.store.recovery import Orphan, RemoteAttempt

CLEANUP_HELP = """exit codes:
  0    nothing is left running (nothing was found, or everything found was stopped)
  1    processes were left running or may be (you said no, they would not stop, or the Ray
       cluster of tasks on its nodes could not be reached: no Ray here, or no answer)
  2    usage error or an unreadable history
"""
POLL = 0.05
KILL_WAIT = 5.0


def add_cleanup_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cleanup = sub.add_parser(
        "cleanup",
        help=COMMAND_HELP["cleanup"],
        description=paragraph(
            "Find the tasks of lost runs (their oneshot-tui process died) that are "
            "still running, list them, and stop each one's whole process group: SIGINT, SIGTERM "
            "at half of --grace, SIGKILL at --grace. Tasks that ran on the nodes of a Ray "
            "cluster are reached through the run's cluster: on each node still in it, whatever "
            "carries the task's marker is SIGKILLed. Asks first unless --yes."
        ),
        epilog=CLEANUP_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cleanup.add_argument("-y", "--yes", action="store_true", help="stop them without asking")
    cleanup.add_argument(
        "--grace", type=float, default=3.0, metavar="S", help="seconds from SIGINT to SIGKILL"
    )
    add_data_dir(cleanup)
    cleanup.set_defaults(handler=guarded(_cmd_cleanup))


def _cmd_cleanup(args: argparse.Namespace) -> int:
    from oneshot_tui.runner.cgroups import leftovers as cgroup_leftovers
    from oneshot_tui.store.procinfo import command_line

    with open_reader(args) as reader:
        for run_id in reader.lost:
            print(f"run {run_id} was lost (its process died); unfinished tasks marked failed")
        orphans = reader.orphans()
        listed = {m.pid for o in orphans for m in o.members}
        groups = [(g, [p for p in g.procs() if p not in listed]) for g in cgroup_leftovers()]
        groups = [(g, pids) for g, pids in groups if pids]
        remote = reader.remote_attempts()
        if not orphans and not groups and not remote:
            print("nothing to clean up: no lost run left processes running")
            return ExitCode.OK
        count = len(listed) + sum(len(pids) for _, pids in groups)
        if count:
            print(f"{count} process(es) left running by lost runs:")
        for orphan in orphans:
            print(
                f"  run {orphan.run_id}, task {one_line(orphan.task)} (attempt {orphan.attempt}):"
            )
            for member in orphan.members:
                print(f"    pid {member.pid}  {command_line(member.pid) or '?'}")
        for group, pids in groups:
            # Found by the cgroup the task ran in: no marker or group of theirs is left.
            print(f"  in cgroup {os.path.basename(group.path)} (its oneshot-tui died):")
            for pid in pids:
                print(f"    pid {pid}  {command_line(pid) or '?'}")
        for address, attempts in _by_cluster(remote).items():
            print(f"tasks of lost runs on the nodes of the Ray cluster at {address}:")
            for a in attempts:
                print(
                    f"  run {a.run_id}, task {one_line(a.task)} (attempt {a.attempt})"
                    f" on node {a.node}"
                )
        if not args.yes and not _confirm("stop them? [y/N] "):
            print("left running")
            return ExitCode.FAILED
        left = 0
        for orphan in orphans:
            survivors = stop_group(orphan, args.grace)
            if survivors:
                left += len(survivors)
                still = ", ".join(map(str, survivors))
                print(f"  task {one_line(orphan.task)}: still running: {still}")
            else:
                reader.mark_stopped(orphan)
        for group, _ in groups:
            survivors = stop_cgroup(group, args.grace)
            if survivors:
                left += len(survivors)
                still = ", ".join(map(str, survivors))
                print(f"  cgroup {os.path.basename(group.path)}: still running: {still}")
        unreached = 0
        for address, attempts in _by_cluster(remote).items():
            swept, missed = sweep_cluster(reader, address, attempts)
            count += swept
            unreached += missed
        if left:
            print(f"{left} process(es) would not stop")
        if unreached:
            print(f"{unreached} task(s) on cluster nodes could not be reached: run cleanup again")
        if left or unreached:
            return ExitCode.FAILED
        print(f"stopped {count} process(es)")
        return ExitCode.OK


def _by_cluster(attempts: tuple[RemoteAttempt, ...]) -> dict[str, list[RemoteAttempt]]:
    clusters: dict[str, list[RemoteAttempt]] = {}
    for a in attempts:
        clusters.setdefault(a.ray_address, []).append(a)
    return clusters


def sweep_cluster(reader: History, address: str, attempts: list[RemoteAttempt]) -> tuple[int, int]:
    """Connect to the Ray cluster at `address` and sweep each attempt's marker on every live node
    at its recorded address, saying what was found; the number of processes stopped, and of
    attempts that could not be reached (left open in history, for a later cleanup)."""
    import anyio

    from oneshot_tui.orchestrator.backends import RAY_MISSING
    from oneshot_tui.runner.backend import BackendError, ProcessLost

    try:
        from oneshot_tui.runner.ray_backend import RayBackend, sweep_node
    except ImportError as exc:
        if (exc.name or "").split(".")[0] != "ray":
            raise
        print(f"  cannot reach the Ray cluster at {address}: {RAY_MISSING}")
        return 0, len(attempts)

    async def sweep() -> tuple[int, int]:
        backend = RayBackend(address)
        try:
            await backend.start()
            nodes = await backend.alive_nodes()
        except (BackendError, ProcessLost) as exc:
            print(f"  the Ray cluster at {address} cannot be reached: {exc}")
            await backend.aclose()
            return 0, len(attempts)
        stopped = missed = 0
        try:
            for a in attempts:
                what = f"task {one_line(a.task)} (attempt {a.attempt}) of run {a.run_id}"
                ids = nodes.get(a.node, [])
                if not ids:
                    print(f"  node {a.node} left the cluster: {what} ended with it")
                    reader.mark_swept(a)
                    continue
                results = [await sweep_node(node_id, a.marker) for node_id in ids]
                if any(r is None for r in results):
                    print(f"  node {a.node} did not answer: {what} may still be running there")
                    missed += 1
                    continue
                found = sum(r[0] for r in results if r is not None)
                stopped += found
                done = f"stopped {found} process(es)" if found else "nothing of it was running"
                print(f"  node {a.node}: {what}: {done}")
                reader.mark_swept(a)
        finally:
            with anyio.CancelScope(shield=True):
                await backend.aclose()
        return stopped, missed

    return anyio.run(sweep)


def _confirm(prompt: str) -> bool:
    try:
        answer = input(prompt)
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def stop_group(orphan: Orphan, grace: float) -> list[int]:
    """The interrupt ladder on the orphan's whole group and its escapees; returns the pids still
    alive after it."""
    from oneshot_tui.runner.groups import signal_group
    from oneshot_tui.store.procinfo import ProcessIdentity, boot_id, is_running, own_group_members

    escapees = [ProcessIdentity(e.pid, e.start_ticks, boot_id()) for e in orphan.escapees]

    def live_escapees() -> list[int]:
        # Each checked by its start time too: a pid that died may be another process's now.
        return [e.pid for e in escapees if is_running(e)]

    def alive() -> list[int]:
        return [m.pid for m in own_group_members(orphan.leader)] + live_escapees()

    def signal_all(sig: int) -> None:
        signal_group(orphan.pgid, sig)
        for pid in live_escapees():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)

    def wait_gone(seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while alive():
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL)
        return True

    step = max(grace, 0.0) / 2
    for sig in (signal.SIGINT, signal.SIGTERM):
        if not alive():
            return []
        signal_all(sig)
        if wait_gone(step):
            return []
    if alive():
        signal_all(signal.SIGKILL)
        wait_gone(KILL_WAIT)
    return alive()


def stop_cgroup(group: TaskCgroup, grace: float) -> list[int]:
    """What is left in a lost run's cgroup: SIGTERM, then after half of `grace` the kernel's
    `cgroup.kill` (every member at once, forks in flight too); the cgroup is removed once
    empty. Returns the pids still in it."""

    def gone_within(seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while group.populated():
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL)
        return True

    group.signal(signal.SIGTERM)
    if not gone_within(max(grace, 0.0) / 2):
        group.kill()
        gone_within(KILL_WAIT)
    group.remove()
    return group.procs()
