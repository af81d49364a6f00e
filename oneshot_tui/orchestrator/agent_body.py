"""The body of an agent task: one agent run, tried again after a rate or usage limit."""

from __future__ import annotations

from collections.abc import Callable

from oneshot_tui.agents import AgentRequest, Executor, executor
from oneshot_tui.core.activity import ACTIVITY_STREAM, AgentEvent
from oneshot_tui.core.events import RetryScheduled
from oneshot_tui.core.spec import AgentSettings, TaskSpec
from oneshot_tui.orchestrator.agent_run import AgentRun, Meter, run_agent
from oneshot_tui.orchestrator.attempt import Attempt
from oneshot_tui.orchestrator.bodies import Outcome

MAX_BACKOFF = 3600.0


def request_for(settings: AgentSettings) -> AgentRequest:
    return AgentRequest(
        prompt=settings.prompt,
        model=settings.model,
        args=settings.args,
        base_url=settings.base_url,
        api_key=settings.api_key,
    )


def outcome(run: AgentRun) -> Outcome:
    return Outcome(run.ok, run.reason, run.status)


def backoff(settings: AgentSettings, run: AgentRun, retry: int) -> float:
    """What the service asked for, else the configured backoff, doubled for each later retry."""
    if run.retry_after is not None:
        return min(run.retry_after, MAX_BACKOFF)
    return min(settings.rate_limit_backoff * 2.0 ** (retry - 1), MAX_BACKOFF)


async def run_with_retries(
    attempt: Attempt,
    agent: Executor,
    request: AgentRequest,
    settings: AgentSettings,
    meter: Meter,
    *,
    label: str = "",
    on_event: Callable[[AgentEvent], None] | None = None,
) -> AgentRun:
    """One agent run; after a rate or usage limit, wait and run it again (if allowed)."""
    retries = settings.retry_on_rate_limit
    retry = 0
    while True:
        try_label = f"try {retry + 1}" if retry else ""
        if label and try_label:
            try_label = f"{label} ({try_label})"
        run = await run_agent(
            attempt, agent, request, meter=meter, label=try_label or label, on_event=on_event
        )
        if run.ok or not run.rate_limited or retry >= retries or attempt.stopping:
            return run
        retry += 1
        delay = backoff(settings, run, retry)
        task, now = attempt.task, attempt.clock.time()
        attempt.bus.publish(
            RetryScheduled(
                task.id, task.attempt, now, delay, now + delay, run.reason, retry, retries
            )
        )
        line = f"⏳ {run.reason}; retry {retry} of {retries} in {delay:g}s"
        attempt.show(ACTIVITY_STREAM, line, 1)
        if not await attempt.pause(delay):
            return run


class AgentBody:
    """Runs the task's agent; on a rate or usage limit, waits and tries again (if allowed)."""

    def __init__(self, spec: TaskSpec) -> None:
        if spec.agent is None:
            raise ValueError(f"task {spec.name!r} is not an agent task")
        self.spec = spec
        self.settings = spec.agent

    async def run(self, attempt: Attempt) -> Outcome:
        settings = self.settings
        meter = Meter(attempt, settings.budget)
        run = await run_with_retries(
            attempt, executor(settings.agent), request_for(settings), settings, meter
        )
        return outcome(run)
