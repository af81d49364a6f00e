"""An agent task's body: one agent run inside an attempt (start the executor's argv, parse its
stream into activity, show it, keep the totals, enforce the budget), tried again after a rate or
usage limit. The worker/auditor loop is built from the same runs (`run_with_retries`).

The raw stream goes to the attempt's log file unchanged (the attempt writes every byte first);
the pane and the headless output get one readable line per activity instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from oneshot_tui.agents import AgentRequest, Executor, executor
from oneshot_tui.core.activity import (
    ACTIVITY_STREAM,
    AgentError,
    AgentEvent,
    AgentTotals,
    FinalResult,
    RawLine,
    SessionStarted,
    ToolCall,
    Usage,
    describe,
    one_line,
    to_data,
)
from oneshot_tui.core.events import Activity, RetryScheduled, TotalsChanged
from oneshot_tui.core.spec import AgentSettings, Budget, TaskSpec
from oneshot_tui.orchestrator.attempt import Attempt
from oneshot_tui.orchestrator.body import Outcome, child_env
from oneshot_tui.runner.output import LineSplitter
from oneshot_tui.runner.process import ExitStatus, ProcessSpec, ProgramNotFound, check_spawnable

MAX_BACKOFF = 3600.0


@dataclass
class AgentRun:
    """What one run of an agent produced."""

    executor: str
    status: ExitStatus | None = None
    """None if the agent never started (its binary is missing)."""
    session_id: str | None = None
    model: str | None = None
    result: FinalResult | None = None
    """The agent's final answer, as its own result event said (or as its parser made it)."""
    totals: AgentTotals = field(default_factory=AgentTotals)
    """Tokens, cost and tool calls of this run alone."""
    errors: list[AgentError] = field(default_factory=list)
    missing: str | None = None
    """Why the agent could not start (its binary is not installed), with the install command."""

    @property
    def rate_limited(self) -> bool:
        if self.ok:
            return False
        limited = self.result is not None and self.result.rate_limited
        return limited or any(e.rate_limited for e in self.errors)

    @property
    def retry_after(self) -> float | None:
        waits = [e.retry_after for e in self.errors if e.retry_after is not None]
        return max(waits) if waits else None

    @property
    def ok(self) -> bool:
        """It exited 0 and gave a final result that is not an error."""
        return (
            self.status is not None
            and self.status.ok
            and self.result is not None
            and not self.result.is_error
        )

    @property
    def reason(self) -> str:
        """One line for the task's reason: why it failed, or how it ended."""
        if self.missing is not None:
            return self.missing
        status = self.status.describe() if self.status is not None else "not started"
        if self.ok:
            return status
        label = "rate limited" if self.rate_limited else "error"
        if self.result is not None and self.result.is_error and self.result.text.strip():
            return f"{label}: {one_line(self.result.text)} ({status})"
        if self.errors:
            return f"{label}: {one_line(self.errors[-1].message)} ({status})"
        if self.status is not None and not self.status.ok:
            return f"{self.executor} failed: {status}"
        return f"{self.executor} ended without a result ({status})"


class Meter:
    """The running totals of an agent task, published as they change, and its budget.

    The task's totals add up every attempt (what it cost in all); the budget applies to one
    attempt, across all its runs (rate-limit retries, loop iterations).
    """

    def __init__(self, attempt: Attempt, budget: Budget) -> None:
        self.attempt = attempt
        self.budget = budget
        self._before = attempt.task.totals or AgentTotals()
        self._done = AgentTotals()
        """Finished runs of this attempt."""

    def update(self, run: AgentTotals) -> None:
        task = self.attempt.task
        current = self._done + run
        task.totals = self._before + current
        bus, clock = self.attempt.bus, self.attempt.clock
        bus.publish(TotalsChanged(task.id, task.attempt, clock.time(), task.totals))
        reason = self.over_budget(current)
        if reason is not None and not self.attempt.stopping:
            self.attempt.stop(reason)

    def finish_run(self, run: AgentTotals) -> None:
        self._done = self._done + run

    def over_budget(self, totals: AgentTotals) -> str | None:
        b = self.budget
        if b.max_tool_calls is not None and totals.tool_calls > b.max_tool_calls:
            return (
                f"runaway: {totals.tool_calls} tool calls, over max_tool_calls = {b.max_tool_calls}"
            )
        if b.max_tokens is not None and totals.tokens > b.max_tokens:
            return f"runaway: {totals.tokens} tokens, over max_tokens = {b.max_tokens}"
        cost = totals.cost_usd
        if b.max_cost_usd is not None and cost is not None and cost > b.max_cost_usd:
            return f"runaway: cost ${cost:.4f}, over max_cost_usd = {b.max_cost_usd}"
        return None


async def run_agent(
    attempt: Attempt,
    executor: Executor,
    request: AgentRequest,
    *,
    meter: Meter,
    label: str = "",
    on_event: Callable[[AgentEvent], None] | None = None,
) -> AgentRun:
    """Run `executor` on `request` in the task's cwd and environment, to its end.

    `on_event` sees every parsed activity as it arrives (the loop records session ids and its
    activity log from it).

    Each activity is published as an `Activity` event and shown as a line; the raw stream is in
    the attempt's log. A stop request (interrupt, budget) reaches the process through the
    interrupt ladder; afterwards, anything the agent detached from its group is stopped too.
    """
    run = AgentRun(executor.name)
    invocation = executor.invocation(request)
    env = child_env(attempt, executor_env=invocation.env, secret_env=invocation.secret_env)
    spec = ProcessSpec(invocation.argv, cwd=attempt.cwd, env=env)
    parser = executor.parser()
    stderr = LineSplitter()
    usage = Usage(0, 0)
    tool_calls = 0

    def handle(events: list[AgentEvent]) -> None:
        nonlocal usage, tool_calls
        counted = False
        for event in events:
            if isinstance(event, SessionStarted):
                run.session_id = event.session_id or run.session_id
                run.model = event.model or run.model
            elif isinstance(event, FinalResult):
                run.result = event
            elif isinstance(event, AgentError):
                run.errors.append(event)
            elif isinstance(event, Usage):
                usage, counted = event, True
            elif isinstance(event, ToolCall):
                tool_calls, counted = tool_calls + 1, True
            if counted:
                run.totals = AgentTotals(
                    usage.input_tokens, usage.output_tokens, usage.cost_usd, tool_calls
                )
                meter.update(run.totals)
                counted = False
            publish(event)
            if on_event is not None:
                on_event(event)

    def publish(event: AgentEvent) -> None:
        task = attempt.task
        line = describe(event, run.totals if isinstance(event, FinalResult) else None)
        if line:
            attempt.show(ACTIVITY_STREAM, line, line.count("\n") + 1)
        attempt.bus.publish(
            Activity(
                task.id,
                task.attempt,
                attempt.clock.time(),
                event.kind.value,
                line or "",
                to_data(event),
                label,
            )
        )

    def observe(stream: str, data: bytes) -> None:
        if stream == "stderr":
            text, count = stderr.feed(data)
            if count:
                handle([RawLine(line, "stderr") for line in text.split("\n") if line.strip()])
        else:
            handle(parser.feed(data))

    def not_found(where: str = "") -> AgentRun:
        run.missing = executor.missing_message() + where
        handle([AgentError(run.missing)])
        return run

    if attempt.backend.local:  # on a cluster, only the node can tell
        try:
            check_spawnable(spec)
        except ProgramNotFound:
            return not_found()
    try:
        run.status = await attempt.run_process(spec, label=label, show_lines=False, observe=observe)
    except ProgramNotFound as exc:
        return not_found(f" (on node {exc.node})" if exc.node else "")
    finally:
        handle(parser.close())
        text, count = stderr.flush()
        if count:
            handle([RawLine(line, "stderr") for line in text.split("\n") if line.strip()])
        meter.finish_run(run.totals)
        # A helper the agent detached into a session of its own (cline's hub daemon) carries the
        # attempt's marker and was stopped with the process (runner/descendants.py).
    return run


def request_for(
    settings: AgentSettings, prompt: str | None = None, resume_session: str | None = None
) -> AgentRequest:
    """What to ask `settings`' agent: its own prompt unless given another (a loop step's)."""
    return AgentRequest(
        prompt=settings.prompt if prompt is None else prompt,
        model=settings.model,
        args=settings.args,
        resume_session=resume_session,
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
