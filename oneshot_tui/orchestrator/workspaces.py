"""The workspace step of an attempt: a worktree task's git worktree is made (or reused) before its
first process, and inspected after its last, with both reported on the bus.

Git runs in worker threads, so a slow checkout never stalls the other tasks' output. Worktrees of
one repository are added one at a time: `git worktree add` updates shared files in `.git`. The git
layer is imported only here, when a task wants a worktree: every other run skips its start-up.
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import anyio

from oneshot_tui.core.bus import EventBus
from oneshot_tui.core.clock import Clock
from oneshot_tui.core.events import WorktreeFinished, WorktreeReady
from oneshot_tui.orchestrator.task import Task
from oneshot_tui.runner.process import SpawnError
from oneshot_tui.store.paths import ensure_private_dir, worktree_dir

if TYPE_CHECKING:
    from oneshot_tui.core.worktree import WorktreeInfo
    from oneshot_tui.orchestrator.attempt import Attempt
    from oneshot_tui.orchestrator.body import Outcome


class Workspaces:
    """Worktrees of one run's tasks, under `DATA_DIR/worktrees/RUN_ID/`."""

    def __init__(self, data_dir: Path, run_id: str, bus: EventBus, clock: Clock) -> None:
        self.data_dir = data_dir
        self.run_id = run_id
        self.bus = bus
        self.clock = clock
        self._locks: dict[str, anyio.Lock] = {}

    async def enter(self, task: Task) -> WorktreeInfo | None:
        """The worktree the task's next attempt runs in (None if it does not want one).

        Raises SpawnError, for a person, when it cannot have one (not a git repository): the
        task then fails like any task that could not start.
        """
        if not task.spec.policy.worktree:
            return None
        from oneshot_tui.workspace import WorkspaceError, reopen_worktree

        reused = task.worktree is not None
        try:
            if task.worktree is not None:
                info = await anyio.to_thread.run_sync(reopen_worktree, task.worktree)
            else:
                info = await self._create(task)
        except WorkspaceError as exc:
            raise SpawnError(str(exc)) from exc
        task.worktree = info
        self.bus.publish(WorktreeReady(task.id, task.attempt, self.clock.time(), info, reused))
        return info

    async def _create(self, task: Task) -> WorktreeInfo:
        from oneshot_tui.workspace import (
            WorkspaceError,
            branch_name,
            create_worktree,
            find_repository,
        )

        cwd = task.spec.cwd or os.getcwd()
        repo = await anyio.to_thread.run_sync(find_repository, cwd)
        # Absolute: git resolves a relative path against the repository, not our cwd.
        path = worktree_dir(self.data_dir, self.run_id, task.file_stem).absolute()
        try:
            ensure_private_dir(path.parent)
        except OSError as exc:
            raise WorkspaceError(f"worktree: cannot make {path.parent}: {exc}") from None
        # Two names may make the same branch ("a b", "a-b"): `create_worktree` then picks a free
        # variant, under the lock so two tasks of this run cannot both pick it.
        policy = task.spec.policy
        branch = branch_name(self.run_id, task.id)
        make = partial(create_worktree, cwd, str(path), branch, policy.worktree_base)
        async with self._locks.setdefault(repo.top, anyio.Lock()):
            info = await anyio.to_thread.run_sync(make)
        if policy.worktree_copy:
            from oneshot_tui.workspace.worktree import copy_into

            await anyio.to_thread.run_sync(copy_into, info, policy.worktree_copy)
        return info

    async def set_up(self, attempt: Attempt) -> Outcome | None:
        """Run the task's `worktree_setup` in its new worktree, once, its output in the task's log
        between dividers; the outcome that fails the task if it failed, else None."""
        task = attempt.task
        command = task.spec.policy.worktree_setup
        if command is None or attempt.worktree is None or task.worktree_set_up:
            return None
        from oneshot_tui.orchestrator.body import Outcome, child_env
        from oneshot_tui.runner.process import ProcessSpec

        attempt.divider(f"worktree_setup: {command}")
        env = child_env(attempt)
        spec = ProcessSpec(
            command, cwd=attempt.cwd, env=env.env, env_own=env.own, env_unset=env.unset
        )
        status = await attempt.run_process(spec, label="worktree_setup")
        if not status.ok:
            return Outcome(False, f"worktree_setup failed ({status.describe()}): {command}", status)
        task.worktree_set_up = True
        attempt.divider("task")
        return None

    async def leave(self, task: Task) -> None:
        """Report what the attempt left in the worktree (before the task's exit is published)."""
        info = task.worktree
        if info is None or not task.spec.policy.worktree:
            return
        from oneshot_tui.core.worktree import WorktreeSummary
        from oneshot_tui.workspace import summarize

        with anyio.CancelScope(shield=True):  # a stopped run still says what its tasks changed
            try:
                summary = await anyio.to_thread.run_sync(summarize, info)
            except OSError as exc:  # git errors are in the summary; this is the disk failing
                summary = WorktreeSummary(info, None, error=str(exc))
        task.worktree_summary = summary
        self.bus.publish(WorktreeFinished(task.id, task.attempt, self.clock.time(), summary))
