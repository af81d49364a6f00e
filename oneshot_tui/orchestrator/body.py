"""What an attempt does: a task body runs processes through an `Attempt` and says how it went.

The types every body shares, the one place a child's environment is built, and the plain command
body. This module imports no other body: `dispatch` picks the body for a spec, and the agent and
loop bodies build on what is here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from oneshot_tui.core.events import MessageSent
from oneshot_tui.core.record import record
from oneshot_tui.core.spec import TaskSpec
from oneshot_tui.orchestrator.attempt import Attempt
from oneshot_tui.orchestrator.messages import Message
from oneshot_tui.runner.process import ExitStatus, ProcessSpec, environment

NO_VARS: Mapping[str, str] = {}


@record
class Outcome:
    """How an attempt ended by itself (a stop we asked for is decided by the orchestrator)."""

    ok: bool
    reason: str
    status: ExitStatus | None = None
    lost: bool = False
    """The node or worker running it went away (a remote backend): its end is unknown."""
    attention: str = ""
    """Why the outcome needs its user's attention (the agent's tool calls were denied)."""


class TaskBody(Protocol):
    async def run(self, attempt: Attempt) -> Outcome: ...


BodyFactory = Callable[[TaskSpec], TaskBody]


def child_env(
    attempt: Attempt,
    *,
    executor_env: Mapping[str, str] = NO_VARS,
    secret_env: Mapping[str, str] = NO_VARS,
) -> ChildEnv:
    """The environment of a process the attempt starts, in layers: ours; without the variables
    that would point git at another repository when the task runs in a worktree; then what an
    agent's CLI needs; then the task's own `env`; then secrets (never shown or logged). What is
    set over ours is kept apart (`own`): a remote backend sends that, and only that, exactly."""
    task_env = attempt.task.spec.env
    own: dict[str, str] = {}
    unset: list[str] = []
    if attempt.cwd is not None:
        # Ours would be wrong: a CLI that trusts $PWD over getcwd() (opencode) would run its
        # tools in oneshot-tui's directory instead of the task's.
        own["PWD"] = attempt.cwd
    if attempt.worktree is not None:
        from oneshot_tui.workspace.git import REPOSITORY_VARS  # worktree tasks only

        unset = [name for name in REPOSITORY_VARS if name not in task_env]
    own.update(executor_env)
    own.update(task_env)
    own.update(secret_env)
    env = environment()
    for name in unset:
        env.pop(name, None)
    env.update(own)
    return ChildEnv(env, own, tuple(unset))


@record
class ChildEnv:
    """A child's whole environment (`env`), and what of it is set on purpose (`own`, over ours
    less `unset`): ProcessSpec's `env`, `env_own` and `env_unset`."""

    env: dict[str, str]
    own: dict[str, str]
    unset: tuple[str, ...]


class CommandBody:
    """Runs the task's command once; success is exit status 0."""

    def __init__(self, spec: TaskSpec) -> None:
        self.spec = spec

    async def run(self, attempt: Attempt) -> Outcome:
        policy = self.spec.policy
        env = child_env(attempt)
        spec = ProcessSpec(
            self.spec.command,
            cwd=attempt.cwd,
            env=env.env,
            env_own=env.own,
            env_unset=env.unset,
            pty=policy.pty,
            pty_size=attempt.pty_size(),
            merge_stderr=not policy.separate_stderr,
        )
        status = await attempt.run_process(spec)
        return Outcome(status.ok, status.describe(), status)


def delivered(attempt: Attempt, messages: Sequence[Message]) -> None:
    """Say that the user's messages start this attempt's turn (they were queued before), and
    show each as a block of its own above the turn's activity."""
    from oneshot_tui.core.activity import ACTIVITY_STREAM

    task, ts = attempt.task, attempt.clock.time()
    for m in messages:
        event = MessageSent(task.id, task.attempt, ts, m.message_id, m.text, "delivered")
        attempt.bus.publish(event)
        lines = [f"  {line}" for line in m.text.split("\n")]
        lines[0] = "▶ you:" + lines[0][1:]
        attempt.show(ACTIVITY_STREAM, "\n".join(lines), len(lines))
