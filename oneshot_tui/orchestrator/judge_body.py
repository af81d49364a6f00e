"""A best-of-N judge: its agent compares the replicas' results and diffs (its prompt, filled in
from them) and names the winner; the verdict is an event, the losers' worktrees and branches are
removed unless kept, and the winner's branch is the task's result."""

from __future__ import annotations

from functools import partial

import anyio

from oneshot_tui.core.events import JudgeVerdict
from oneshot_tui.core.judge import parse_judgement
from oneshot_tui.core.spec import TaskSpec
from oneshot_tui.core.states import TaskState
from oneshot_tui.orchestrator.agent_body import AgentBody
from oneshot_tui.orchestrator.attempt import Attempt
from oneshot_tui.orchestrator.body import Outcome


class JudgeBody:
    def __init__(self, spec: TaskSpec) -> None:
        if spec.judge is None:
            raise ValueError(f"task {spec.name!r} is not a judge")
        self.judge = spec.judge
        self.agent = AgentBody(spec)

    async def run(self, attempt: Attempt) -> Outcome:
        outcome = await self.agent.run(attempt)
        if not outcome.ok:
            return outcome
        task = attempt.task
        candidates = [
            name
            for name in self.judge.candidates
            if (peer := attempt.peers.get(name)) is not None and peer.state is TaskState.COMPLETED
        ]
        verdict = parse_judgement(task.answer, candidates)
        if verdict is None:
            named = ", ".join(candidates) or "none completed"
            return Outcome(False, f"the judge named no winner among the replicas ({named})")
        winner, reasons = verdict
        task.winner = winner
        losers = tuple(name for name in self.judge.candidates if name != winner)
        removed = () if self.judge.keep_losers else await self._remove(attempt, losers)
        ts = attempt.clock.time()
        event = JudgeVerdict(task.id, task.attempt, ts, winner, reasons, losers, removed)
        attempt.bus.publish(event)
        peer = attempt.peers.get(winner)
        branch = peer.worktree.branch if peer is not None and peer.worktree is not None else ""
        where = f" (branch {branch})" if branch else ""
        return Outcome(True, f"winner {winner}{where}: {reasons}")

    async def _remove(self, attempt: Attempt, losers: tuple[str, ...]) -> tuple[str, ...]:
        """The losers' worktrees and branches, removed; the names of those that went."""
        from oneshot_tui.store.paths import worktrees_root
        from oneshot_tui.workspace import GitError, WorkspaceError, remove_worktree

        root = str(worktrees_root(attempt.data_dir)) if attempt.data_dir is not None else "/"
        removed: list[str] = []
        for name in losers:
            peer = attempt.peers.get(name)
            if peer is None or peer.worktree is None:
                continue
            try:
                remove = partial(remove_worktree, peer.worktree, force=True, root=root)
                await anyio.to_thread.run_sync(remove)
            except (WorkspaceError, GitError, OSError):
                continue  # kept: `worktrees` lists it, `worktrees clean` can still remove it
            removed.append(name)
        return tuple(removed)
