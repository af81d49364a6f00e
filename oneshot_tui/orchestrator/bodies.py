"""What an attempt does: a task body runs processes through an `Attempt` and says how it went.

A plain command is one process. Agent executors and the worker/auditor loop are bodies too, so
they share the lifecycle, the logs, idle detection and the interrupt ladder.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from oneshot_tui.core.spec import TaskSpec
from oneshot_tui.orchestrator.attempt import Attempt
from oneshot_tui.runner.process import ExitStatus, ProcessSpec


@dataclass(frozen=True, slots=True)
class Outcome:
    """How an attempt ended by itself (a stop we asked for is decided by the orchestrator)."""

    ok: bool
    reason: str
    status: ExitStatus | None = None
    lost: bool = False
    """The node or worker running it went away (a remote backend): its end is unknown."""


class TaskBody(Protocol):
    async def run(self, attempt: Attempt) -> Outcome: ...


BodyFactory = Callable[[TaskSpec], TaskBody]


def child_env(spec: TaskSpec) -> dict[str, str]:
    """The inherited environment with the task's own variables on top."""
    env = dict(os.environ)
    env.update(spec.env)
    return env


def process_spec(
    spec: TaskSpec, cwd: str | None, command: str | tuple[str, ...] | None = None
) -> ProcessSpec:
    return ProcessSpec(
        command=spec.command if command is None else command,
        cwd=cwd,
        env=child_env(spec),
        pty=spec.policy.pty,
    )


class CommandBody:
    """Runs the task's command once; success is exit status 0."""

    def __init__(self, spec: TaskSpec) -> None:
        self.spec = spec

    async def run(self, attempt: Attempt) -> Outcome:
        status = await attempt.run_process(process_spec(self.spec, attempt.cwd))
        return Outcome(status.ok, status.describe(), status)


def default_body(spec: TaskSpec) -> TaskBody:
    """A command runs as it is; an agent task runs its executor (`agent_body`); a loop task runs
    worker and auditor in turn (`loop_body`)."""
    if spec.loop is not None:
        from oneshot_tui.orchestrator.loop_body import LoopBody  # it imports the bodies

        return LoopBody(spec)
    if spec.agent is not None:
        from oneshot_tui.orchestrator.agent_body import AgentBody  # it imports the bodies

        return AgentBody(spec)
    return CommandBody(spec)
