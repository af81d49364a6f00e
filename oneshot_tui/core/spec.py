"""What to run: task specs and run settings, as plain frozen data (the config layer builds them)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import field
from enum import StrEnum

from oneshot_tui.core.record import record


class IdleAction(StrEnum):
    """What happens to a task that has been idle for `idle_timeout` seconds."""

    NONE = "none"
    INTERRUPT = "interrupt"
    RESTART = "restart"


@record
class TaskPolicy:
    """Per-task limits and behaviour; every field can be set per run and overridden per task."""

    idle_threshold: float | None = 30.0
    """Seconds without output before a running task counts as idle (None: never)."""
    idle_action: IdleAction = IdleAction.NONE
    idle_timeout: float = 300.0
    """Seconds a task may stay idle before `idle_action` is taken."""
    timeout: float | None = None
    """Wall-time limit of one attempt, in seconds (None: no limit)."""
    grace: float = 5.0
    """Seconds from SIGINT to SIGKILL when stopping (SIGTERM at half-time)."""
    scrollback: int = 10_000
    """Lines of recent output kept in memory for display (the log file keeps everything)."""
    scrollback_bytes: int = 4 * 1024 * 1024
    """Bytes of memory those lines may take: whichever bound is reached first holds."""
    pty: bool = False
    """Give the task a pseudo-terminal instead of pipes (line-buffered output, colours)."""
    separate_stderr: bool = False
    """Read a command's stderr apart from its stdout (each line tagged with its stream); by
    default both go through one pipe, so lines stay in the order the task wrote them."""
    worktree: bool = False
    """Run the task in a git worktree of its own, on a new branch `oneshot/RUN/TASK` made from
    the HEAD of the repository its cwd is in (the user's checkout is left alone)."""
    worktree_base: str | None = None
    """Where a new worktree starts: a branch, tag or commit (None: the HEAD of the checkout)."""
    worktree_copy: tuple[str, ...] = ()
    """Files (or directories) copied from the user's checkout into a new worktree, relative to
    its top directory: what git does not carry (`.env`, local config)."""
    worktree_setup: str | None = None
    """A shell command run in a new worktree before the task (its output in the task's log); its
    failure fails the task."""
    num_cpus: float = 1.0
    """CPUs a task reserves on a cluster node (the ray backend; ignored when run locally)."""
    resources: Mapping[str, float] = field(default_factory=dict)
    """Custom cluster resources a task reserves, e.g. {"gpu_box": 1} (the ray backend)."""
    restart_on_node_lost: int = 0
    """How many times a task whose node or worker died is started again before it fails."""
    restart: str = "no"
    """Start the task again when it ends by itself: "no", "on-failure" or "always" (one of
    RESTART_POLICIES); never when it was stopped (by its user, a limit or the run)."""
    max_restarts: int = 3
    """How many times the restart policy starts it again in a run."""
    restart_backoff: float = 30.0
    """The longest wait before a restart: the first waits 1 s, each later one twice as long."""
    on_dependency_failure: str = "fail"
    """When a dependency fails or is interrupted before its condition holds: "fail" (end
    `failed` without starting) or "run" (start anyway); one of DEPENDENCY_FAILURE_ACTIONS."""


RESTART_POLICIES = ("no", "on-failure", "always")
DEPENDENCY_FAILURE_ACTIONS = ("fail", "run")
DEPENDENCY_CONDITIONS = ("completed", "ready", "started")
"""What a task may wait for in a dependency: that it completed, that it is ready (its
`ready_line` was written, or `ready_after` passed; without either, that it started), or that it
started."""


AGENTS = ("claude", "codex", "gemini", "qwen", "opencode", "cline", "aider", "direct")
"""The agent executors there are (`oneshot_tui.agents` has one module each)."""


@record
class Budget:
    """Limits on what an agent task may use; crossing one stops it as a runaway."""

    max_cost_usd: float | None = None
    max_tokens: int | None = None
    max_tool_calls: int | None = None


@record
class AgentSettings:
    """What an agent task runs: which executor, the prompt, and how it may behave."""

    agent: str
    """One of AGENTS."""
    prompt: str
    model: str | None = None
    args: tuple[str, ...] = ()
    """Extra command-line flags for the agent CLI, placed before the prompt."""
    budget: Budget = field(default_factory=Budget)
    retry_on_rate_limit: int = 0
    """How many times to try again after a rate or usage limit (0: never)."""
    rate_limit_backoff: float = 30.0
    """Seconds before the first retry; each later one waits twice as long."""
    base_url: str | None = None
    """The `direct` executor's OpenAI-compatible endpoint."""
    api_key: str | None = field(default=None, repr=False)
    """The `direct` executor's key; passed to the client in its environment, never shown."""
    max_rate_limit_wait: float = 3600.0
    """The longest wait after a rate or usage limit worth waiting: a longer one (or one longer
    than the task's time left) ends the run with the reason, or goes on with a fallback."""
    fallback: tuple[str, ...] = ()
    """Agents to go on with, in order, when `agent` (then each of these) is out of quota or its
    limit's wait is too long; a task naming several starts on the first with room."""
    models: Mapping[str, str] = field(default_factory=dict)
    """Models by agent name, for the fallback agents (`model` is the first agent's)."""
    agent_args: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Extra flags by agent name, for the fallback agents (`args` are the first agent's)."""

    @property
    def agents(self) -> tuple[str, ...]:
        """Every agent the task may use, in order of preference."""
        return (self.agent, *(a for a in self.fallback if a != self.agent))

    def model_for(self, agent: str) -> str | None:
        return self.model if agent == self.agent and self.model else self.models.get(agent)

    def args_for(self, agent: str) -> tuple[str, ...]:
        return self.args if agent == self.agent else tuple(self.agent_args.get(agent, ()))


@record
class LoopSettings:
    """A worker/auditor loop: the task's `agent` is the worker; this says who audits and how long
    to keep trying. Its pure logic lives in `oneshot_tui.loop`."""

    auditor: AgentSettings
    """The auditor's executor, model and flags (its prompt is built by the loop)."""
    max_iterations: int = 3
    """Worker runs to judge before giving up."""
    headers: Mapping[str, str] = field(default_factory=dict)
    """Header templates by role ("worker", "reworker", "auditor"), e.g. "fix $oneshot_id #$n"."""
    templates: Mapping[str, str] = field(default_factory=dict)
    """Whole prompt templates by role, overriding the built-in ones."""
    oneshot_id: str | None = None
    """Continue this saved loop (`--resume`) instead of starting a new one."""
    force: bool = False
    """Resume even a loop that already completed."""
    activity_log: str | None = None
    """Also append the loop's activity lines to this file (the original's `--session-log`)."""


@record
class JudgeSettings:
    """A best-of-N judge: an agent task that compares its dependencies, the replicas of one
    task, and names the winner."""

    candidates: tuple[str, ...]
    """The replicas' task names."""
    keep_losers: bool = False
    """Keep the other replicas' worktrees and branches (else they are removed)."""


@record
class TaskSpec:
    """One task: a command (a string goes through the shell; a tuple is an argv) and its policy."""

    name: str
    command: str | tuple[str, ...]
    cwd: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    """Variables set on top of the inherited environment."""
    policy: TaskPolicy = field(default_factory=TaskPolicy)
    kind: str = "command"
    agent: AgentSettings | None = None
    """Set for an agent task (kind "agent"): `command` is then the agent's argv, for display."""
    loop: LoopSettings | None = None
    """Set for a worker/auditor loop (kind "loop"), whose worker is `agent`."""
    depends_on: Mapping[str, str] = field(default_factory=dict)
    """Tasks of the run this one waits for, with the condition of each (DEPENDENCY_CONDITIONS):
    it starts once every condition holds."""
    ready_line: str | None = None
    """A regular expression: the task is ready once a line of its output matches it."""
    ready_after: float | None = None
    """Seconds after its start when the task counts as ready (a simple alternative)."""
    group: str | None = None
    """Best of N: the task the replicas (and their judge) were made from, shown as one group."""
    judge: JudgeSettings | None = None
    """Set for the judge of a best-of-N group."""

    @property
    def display_command(self) -> str:
        if isinstance(self.command, str):
            return self.command
        return " ".join(_quote(part) for part in self.command)


def _quote(part: str) -> str:
    import shlex

    return shlex.quote(part)


@record
class RunSettings:
    """Settings of the run as a whole."""

    max_concurrent: int = 8
    heartbeat_interval: float = 1.0
    fail_fast: bool = False
    backend: str = "local"
    """Where task processes run: one of BACKENDS."""
    ray_address: str | None = None
    """The Ray cluster of the ray backend, HOST:PORT; None: $RAY_ADDRESS, else the cluster
    started on this machine with `ray start` (a run never starts a cluster of its own)."""
    forward_env: tuple[str, ...] = ()
    """Names of the driver's variables a remote backend gives every process on its node (a
    task's own `env` goes anyway; nothing else of ours does). Their values are secrets."""
    on_hangup: str = "stop"
    """What happens when the TUI that started the run loses its terminal (or dies): "stop" the
    run (exit 129), or "detach" from it (it goes on in the background; `attach` finds it)."""
    agent_limits: Mapping[str, int] = field(default_factory=dict)
    """At most this many processes of an agent at once, by agent name (no entry: no cap)."""
    prices: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    """Model-name patterns -> (input, output) US dollars per million tokens, before the built-in
    price table, for live cost estimates."""
    notify: tuple[str, ...] | None = None
    """Notifiers (NOTIFIERS) for a task that needs its user and for the run's end; None: the
    bell, only when a task needs you."""
    notify_command: str | None = None
    """The `command` notifier's shell command (the alert as JSON on its stdin)."""
    otel: bool = False
    """Export traces and metrics of the run over OTLP/HTTP (the extra `[otel]`), configured by
    the standard OTEL_* environment variables."""
    otel_capture_output: bool = False
    """Put output lines and agents' text in the spans; off, spans carry counts only."""


HANGUP_ACTIONS = ("stop", "detach")

NOTIFIERS = ("bell", "osc", "desktop", "command")
"""The ways to notify (core/notify.py says what each does)."""

BACKENDS = ("local", "ray")
"""`local` runs processes on this machine; `ray` runs them on the nodes of a Ray cluster."""


def ray_address(given: str | None) -> str:
    """The Ray cluster a run given `given` (RunSettings.ray_address) connects to: that, else
    $RAY_ADDRESS, else "auto" (Ray's word for the cluster started on this machine)."""
    return given or os.environ.get("RAY_ADDRESS") or "auto"
