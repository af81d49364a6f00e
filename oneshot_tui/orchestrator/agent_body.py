"""An agent task's body: one agent run inside an attempt (start the executor's argv, parse its
stream into activity, show it as it arrives, keep the totals live, enforce the budget), tried
again after a rate or usage limit in the agent's own session, and carried on by the next agent of
the task's list when one is out of quota. The worker/auditor loop is built from the same runs
(`run_step`).

The raw stream goes to the attempt's log file unchanged (the attempt writes every byte first);
the pane and the headless output get readable lines instead: text line by line as the model
writes it, one line per tool call and result, errors in full.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from oneshot_tui.agents import AgentRequest, Executor, executor
from oneshot_tui.agents.base import error_lines
from oneshot_tui.agents.limits import format_wait, retry_after
from oneshot_tui.agents.usage import LiveUsage
from oneshot_tui.core.activity import (
    ACTIVITY_STREAM,
    AgentError,
    AgentEvent,
    AgentTotals,
    AssistantText,
    FinalResult,
    RawLine,
    RetryNotice,
    SessionStarted,
    TextDelta,
    Thinking,
    ToolCall,
    ToolDenied,
    ToolResult,
    describe,
    folded,
    one_line,
    to_data,
)
from oneshot_tui.core.events import (
    Activity,
    AgentChosen,
    RetryScheduled,
    TotalsChanged,
)
from oneshot_tui.core.spec import AgentSettings, Budget, TaskSpec
from oneshot_tui.orchestrator.attempt import Attempt
from oneshot_tui.orchestrator.body import Outcome, child_env, delivered
from oneshot_tui.orchestrator.messages import Message, joined
from oneshot_tui.orchestrator.task import Task
from oneshot_tui.runner.process import ExitStatus, ProcessSpec, ProgramNotFound, check_spawnable

MAX_BACKOFF = 3600.0
TRANSCRIPT_CHARS = 20_000
"""The most of an earlier run's conversation carried into the next agent's prompt (its end)."""
STDERR_LINES = 40

CONTINUE_TURN = "(Continue the task where you left off.)"
CONVERSATION = """<conversation-so-far>
{conversation}
</conversation-so-far>

You are continuing the conversation above in a new session (the one before cannot be resumed).
The user now says:

{said}"""
"""The next turn for an agent that cannot resume its session: the turns so far, then what the
user says now."""
CONTINUE_NOTE = (
    "(You were stopped by a rate or usage limit and are being resumed in the same session: "
    "continue the task where you left off.)"
)
HANDOVER = """{prompt}

<conversation-so-far agent="{agent}">
{transcript}
</conversation-so-far>

Another agent ({agent}) started on the task above and was stopped ({why}). What it said and did
is quoted above; its changes to the files are in place. Continue the task from there."""


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
    denials: list[ToolDenied] = field(default_factory=list)
    stderr: deque[str] = field(default_factory=lambda: deque(maxlen=STDERR_LINES))
    """Its last lines of stderr, for the reason of a failure."""
    transcript: list[str] = field(default_factory=list)
    """What it said and did, compactly, to hand over to another agent."""
    gave_up: str | None = None
    """Why a rate-limited run is not waited for (the wait is too long), for the reason."""
    stopped: str | None = None
    """Why its process was stopped while the attempt went on (a stalled step)."""

    @property
    def rate_limited(self) -> bool:
        if self.ok:
            return False
        limited = self.result is not None and self.result.rate_limited
        return limited or any(e.rate_limited for e in self.errors) or self.gave_up is not None

    @property
    def retry_after(self) -> float | None:
        waits = [e.retry_after for e in self.errors if e.retry_after is not None]
        if self.result is not None and self.result.is_error:
            wait = retry_after(self.result.text)
            if wait is not None:
                waits.append(wait)
        return max(waits) if waits else None

    @property
    def ok(self) -> bool:
        """It exited 0 and gave a final result that is not an error."""
        return (
            self.status is not None
            and self.status.ok
            and self.result is not None
            and not self.result.is_error
            and self.stopped is None
        )

    @property
    def attention(self) -> str:
        """Why its outcome needs the user: the tool calls it was denied."""
        if not self.denials:
            return ""
        tools = ", ".join(dict.fromkeys(d.tool for d in self.denials))
        n = len(self.denials)
        return f"{n} tool call{'s' if n != 1 else ''} denied permission ({tools})"

    @property
    def reason(self) -> str:
        """One line for the task's reason: why it failed, or how it ended."""
        if self.missing is not None:
            return self.missing
        status = self.status.describe() if self.status is not None else "not started"
        if self.ok:
            return f"{status}; {self.attention}" if self.denials else status
        if self.stopped is not None:
            return f"{self.stopped} ({status})"
        label = "rate limited" if self.rate_limited else "error"
        said = error_lines(list(self.stderr))
        if self.gave_up is not None:
            return f"{label}: {self.gave_up}"
        if self.result is not None and self.result.is_error and self.result.text.strip():
            return f"{label}: {one_line(self.result.text)} ({status})"
        if self.errors:
            return f"{label}: {one_line(self.errors[-1].message)} ({status})"
        if self.status is not None and not self.status.ok:
            return f"{self.executor} failed: {status}" + (f": {said}" if said else "")
        return f"{self.executor} ended without a result ({status})" + (f": {said}" if said else "")

    def note(self, line: str) -> None:
        self.transcript.append(line)


class Meter:
    """The running totals of an agent task, published as they change, and its budget.

    The task's totals add up every attempt (what it cost in all); the budget applies to one
    attempt, across all its runs (rate-limit retries, fallback agents, loop iterations), plus
    `spent`: what the earlier turns of the same conversation used (messages go on in it).
    """

    def __init__(self, attempt: Attempt, budget: Budget, spent: AgentTotals | None = None) -> None:
        self.attempt = attempt
        self.budget = budget
        self._before = attempt.task.totals or AgentTotals()
        self._spent = spent or AgentTotals()
        self._done = AgentTotals()
        """Finished runs of this attempt."""

    def update(self, run: AgentTotals) -> None:
        task = self.attempt.task
        current = self._done + run
        task.totals = self._before + current
        bus, clock = self.attempt.bus, self.attempt.clock
        bus.publish(TotalsChanged(task.id, task.attempt, clock.time(), task.totals))
        reason = self.over_budget(self._spent + current)
        if reason is not None and not self.attempt.stopping:
            self.attempt.stop(reason)

    def finish_run(self, run: AgentTotals) -> None:
        self._done = self._done + run

    @property
    def used(self) -> AgentTotals:
        """What this attempt's finished runs used."""
        return self._done

    def over_budget(self, totals: AgentTotals) -> str | None:
        b = self.budget
        about = "an estimated " if totals.estimated else ""
        if b.max_tool_calls is not None and totals.tool_calls > b.max_tool_calls:
            return (
                f"runaway: {totals.tool_calls} tool call{'s' if totals.tool_calls != 1 else ''}, "
                f"over max_tool_calls = {b.max_tool_calls}"
            )
        if b.max_tokens is not None and totals.tokens > b.max_tokens:
            return f"runaway: {about}{totals.tokens} tokens, over max_tokens = {b.max_tokens}"
        cost = totals.cost_usd
        if b.max_cost_usd is not None and cost is not None and cost > b.max_cost_usd:
            dollars = f"{cost:.6f}".rstrip("0").rstrip(".")
            return f"runaway: {about}cost ${dollars}, over max_cost_usd = {b.max_cost_usd}"
        return None


class LiveText:
    """Text as the model streams it, shown a line at a time as each line completes (and the
    line being written in the title), without showing it again when the whole text follows."""

    def __init__(self, show: Callable[[str], None]) -> None:
        self._show = show
        self._streamed = ""
        self._pending = ""
        self._thinking = ""

    def delta(self, event: TextDelta) -> str:
        """Take a piece; the line being written, for the title."""
        if event.thinking:
            self._thinking += event.text
            return "💭 " + _tail(self._thinking)
        self._streamed += event.text
        self._pending += event.text
        if "\n" in self._pending:
            *lines, self._pending = self._pending.split("\n")
            block = "\n".join(lines)
            if block.strip():
                self._show(block)
        return _tail(self._pending)

    def whole(self, event: AssistantText | Thinking) -> bool:
        """The whole text arrived: show what is not on screen yet; False if nothing streamed
        before it (it is then shown as usual)."""
        if isinstance(event, Thinking):
            self._thinking = ""
            return False
        streamed, pending = self._streamed, self._pending
        self._streamed = self._pending = ""
        if not streamed:
            return False
        if event.text.startswith(streamed):
            rest = pending + event.text[len(streamed) :]
        elif event.text.strip() == streamed.strip():
            rest = pending
        else:  # it differs from what streamed: show it all rather than lose any of it
            rest = event.text
        if rest.strip():
            self._show(rest.strip("\n"))
        return True

    def flush(self) -> None:
        """The run ended: what streamed without a whole text to close it."""
        if self._pending.strip():
            self._show(self._pending)
        if self._thinking.strip():
            self._show("💭 " + folded(self._thinking))
        self._streamed = self._pending = self._thinking = ""


def _tail(text: str, limit: int = 160) -> str:
    line = text.rsplit("\n", 1)[-1]
    return line if len(line) <= limit else "…" + line[-(limit - 1) :]


async def run_agent(
    attempt: Attempt,
    executor: Executor,
    request: AgentRequest,
    *,
    meter: Meter,
    label: str = "",
    on_event: Callable[[AgentEvent], None] | None = None,
    max_wait: float | None = None,
) -> AgentRun:
    """Run `executor` on `request` in the task's cwd and environment, to its end.

    `on_event` sees every parsed activity as it arrives (the loop records session ids and its
    activity log from it). `max_wait` bounds how long the CLI may keep retrying a limit on its
    own (its notices say how long it waits): past it, the run is stopped as rate limited.

    Each activity is published as an `Activity` event and shown as lines; the raw stream is in
    the attempt's log. A stop request (interrupt, budget) reaches the process through the
    interrupt ladder; afterwards, anything the agent detached from its group is stopped too.
    """
    run = AgentRun(executor.name)
    invocation = executor.invocation(request)
    env = child_env(attempt, executor_env=invocation.env, secret_env=invocation.secret_env)
    spec = ProcessSpec(
        invocation.argv,
        cwd=attempt.cwd,
        env=env.env,
        env_own=env.own,
        env_unset=env.unset,
        stdout_file=executor.stdout_file,
    )
    parser = executor.parser()
    pool = attempt.agents
    prices = pool.prices
    # A model the table does not know (a local one's name) is priced as the CLI's default,
    # as claude prices one itself.
    default_price = prices.price(executor.default_model) if executor.default_model else None
    live = LiveUsage(request.prompt, prices.price(request.model or "") or default_price)
    calls: dict[str, ToolCall] = {}
    last_call: list[str | None] = [None]
    agent_waits = [0.0]
    going: list[Callable[[], None]] = []

    def show(text: str) -> None:
        attempt.show(ACTIVITY_STREAM, text, text.count("\n") + 1)

    text = LiveText(show)

    def handle(events: list[AgentEvent]) -> None:
        for event in events:
            if live.see(event):
                run.totals = live.totals()
                meter.update(run.totals)
            line, shown = note(event)
            publish(event, line, shown)
            if on_event is not None:
                on_event(event)

    def note(event: AgentEvent) -> tuple[str | None, bool]:
        """Book-keeping for one event; the line it reads as, and whether that is on screen
        already (text shown line by line as it streamed)."""
        if isinstance(event, SessionStarted):
            run.session_id = event.session_id or run.session_id
            if event.model:
                run.model = event.model
                live.price = pool.prices.price(event.model) or live.price
            for started in going:
                started()
        elif isinstance(event, FinalResult):
            run.result = event
        elif isinstance(event, AgentError):
            run.errors.append(event)
        elif isinstance(event, ToolDenied):
            run.denials.append(event)
            run.note(f"[denied: {event.tool} {event.summary}]")
        elif isinstance(event, RawLine) and event.stream == "stderr":
            run.stderr.append(event.text)
        elif isinstance(event, RetryNotice):
            agent_retries(event)
        elif isinstance(event, TextDelta):
            return text.delta(event), True
        elif isinstance(event, AssistantText):
            run.note(event.text)
            if text.whole(event):
                last_call[0] = None
                return describe(event), True
        elif isinstance(event, Thinking):
            text.whole(event)
        elif isinstance(event, ToolCall):
            calls[event.call_id] = event
            run.note(f"[tool call: {event.tool} {event.summary}]")
        elif isinstance(event, ToolResult):
            run.note(f"[tool result: {'ok' if event.ok else 'error'}] {one_line(event.output)}")
            call = calls.get(event.call_id)
            paired = call is not None and call.call_id and call.call_id == last_call[0]
            line = describe(event, call=None if paired or call is None else call)
            last_call[0] = None
            return line, False
        line = describe(event, run.totals if isinstance(event, FinalResult) else None)
        last_call[0] = event.call_id if isinstance(event, ToolCall) and event.call_id else None
        return line, False

    def agent_retries(event: RetryNotice) -> None:
        task, now = attempt.task, attempt.clock.time()
        delay = event.delay if event.delay is not None else 0.0
        agent_waits[0] += delay
        attempt.bus.publish(
            RetryScheduled(
                task.id,
                task.attempt,
                now,
                delay,
                now + delay,
                one_line(event.message),
                event.attempt,
                event.attempts,
                by_agent=True,
            )
        )
        if max_wait is not None and agent_waits[0] > max_wait:
            run.gave_up = (
                f"{executor.name} kept retrying a limit for {format_wait(agent_waits[0])}, "
                f"over max_rate_limit_wait ({format_wait(max_wait)})"
            )
            attempt.stop_process(run.gave_up)

    def publish(event: AgentEvent, line: str | None, shown: bool) -> None:
        task = attempt.task
        if line and not shown:
            show(line)
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
        handle(parser.feed_stderr(data) if stream == "stderr" else parser.feed(data))

    def not_found(where: str = "") -> AgentRun:
        run.missing = executor.missing_message() + where
        handle([AgentError(run.missing)])
        return run

    if attempt.backend.local:  # on a cluster, only the node can tell
        try:
            check_spawnable(spec)
        except ProgramNotFound:
            return not_found()
    home = env.env.get("HOME", "")
    async with pool.first_run(executor.name, home, executor.first_runs_race) as started:
        going.append(started)
        try:
            run.status = await attempt.run_process(
                spec, label=label, show_lines=False, observe=observe
            )
        except ProgramNotFound as exc:
            return not_found(f" (on node {exc.node})" if exc.node else "")
        finally:
            handle(parser.close())
            text.flush()
            meter.finish_run(run.totals)
            if attempt.process_stop_reason is not None and run.gave_up is None:
                run.stopped = attempt.process_stop_reason
            # A helper the agent detached into a session of its own (cline's hub daemon)
            # carries the attempt's marker and was stopped with the process.
    return run


def request_for(
    settings: AgentSettings,
    prompt: str | None = None,
    resume_session: str | None = None,
    *,
    agent: str | None = None,
    output_schema: str | None = None,
    output_schema_file: str | None = None,
) -> AgentRequest:
    """What to ask `settings`' agent (or `agent` of its list): its own prompt unless given
    another (a loop step's)."""
    name = agent or settings.agent
    return AgentRequest(
        prompt=settings.prompt if prompt is None else prompt,
        model=settings.model_for(name),
        args=settings.args_for(name),
        resume_session=resume_session,
        base_url=settings.base_url,
        api_key=settings.api_key,
        output_schema=output_schema,
        output_schema_file=output_schema_file,
    )


def outcome(run: AgentRun) -> Outcome:
    return Outcome(run.ok, run.reason, run.status, attention=run.attention)


def backoff(settings: AgentSettings, run: AgentRun, retry: int) -> float:
    """What the service asked for, else the configured backoff, doubled for each later retry."""
    if run.retry_after is not None:
        return run.retry_after
    return min(settings.rate_limit_backoff * 2.0 ** (retry - 1), MAX_BACKOFF)


def _too_long(attempt: Attempt, settings: AgentSettings, wait: float) -> str | None:
    """Why a wait is not worth it (longer than the setting or the task's time left), or None."""
    if wait > settings.max_rate_limit_wait:
        return (
            f"the wait ({format_wait(wait)}) is over max_rate_limit_wait "
            f"({format_wait(settings.max_rate_limit_wait)})"
        )
    left = attempt.time_left()
    if left is not None and wait > left:
        return f"the wait ({format_wait(wait)}) is over the task's time left ({format_wait(left)})"
    return None


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
    """One agent run; after a rate or usage limit, wait and go on (if allowed): in the agent's
    own session where the CLI can resume one, so its work is kept, else from the prompt with what
    it did so far. A wait longer than `max_rate_limit_wait` (or the task's time left) is not
    waited for: the run ends rate limited, saying why (a fallback agent may go on)."""
    retries = settings.retry_on_rate_limit
    retry = 0
    first = request
    while True:
        try_label = f"try {retry + 1}" if retry else ""
        if label and try_label:
            try_label = f"{label} ({try_label})"
        run = await run_agent(
            attempt,
            agent,
            request,
            meter=meter,
            label=try_label or label,
            on_event=on_event,
            max_wait=settings.max_rate_limit_wait,
        )
        if run.ok or not run.rate_limited or attempt.stopping or run.gave_up is not None:
            return run
        delay = backoff(settings, run, retry + 1)
        too_long = _too_long(attempt, settings, delay)
        if too_long is not None:
            said = run.reason.removeprefix("rate limited: ")
            run.gave_up = f"{said}; {too_long}"
            return run
        if retry >= retries:
            return run
        retry += 1
        task, now = attempt.task, attempt.clock.time()
        attempt.bus.publish(
            RetryScheduled(
                task.id, task.attempt, now, delay, now + delay, run.reason, retry, retries
            )
        )
        attempt.show(
            ACTIVITY_STREAM,
            f"⏳ {run.reason}; retry {retry} of {retries} in {format_wait(delay)}",
            1,
        )
        if not await attempt.pause(delay):
            return run
        request = continuation(agent, first, run)


def continuation(agent: Executor, first: AgentRequest, run: AgentRun) -> AgentRequest:
    """The request that goes on after `run` stopped: its session resumed where the CLI can,
    else the first request with what the run did so far."""
    from dataclasses import replace

    if agent.can_resume and run.session_id:
        return replace(first, prompt=CONTINUE_NOTE, resume_session=run.session_id)
    if run.transcript:
        return replace(first, prompt=handover(first.prompt, agent.name, run, "a rate limit"))
    return first


def handover(prompt: str, agent: str, run: AgentRun, why: str) -> str:
    transcript = "\n".join(run.transcript).strip()
    if len(transcript) > TRANSCRIPT_CHARS:
        transcript = "…\n" + transcript[-TRANSCRIPT_CHARS:]
    return HANDOVER.format(prompt=prompt, agent=agent, transcript=transcript, why=why)


async def run_step(
    attempt: Attempt,
    settings: AgentSettings,
    meter: Meter,
    *,
    prompt: str | None = None,
    resume: tuple[str, str] | None = None,
    label: str = "",
    on_event: Callable[[AgentEvent], None] | None = None,
    on_agent: Callable[[str], None] | None = None,
    output_schema: str | None = None,
    output_schema_file: str | None = None,
) -> AgentRun:
    """One step of an agent task: run it on the first agent of its list with room (the run's
    `agent_limits`), retrying limits; when that agent is out of quota (or its wait too long), go
    on with the next agent of the list, handing it the conversation so far.

    `resume` is (agent, session id) of a session to continue, used if that agent is chosen;
    `on_agent` hears the agent each run is on before it starts."""
    candidates = list(settings.agents)
    base = settings.prompt if prompt is None else prompt
    current_prompt = base
    previous = ""
    why = ""
    run: AgentRun | None = None
    pool = attempt.agents
    while candidates:
        async with pool.take(candidates) as name:
            if len(settings.agents) > 1 or previous:
                publish_agent(attempt, name, previous, why)
            if on_agent is not None:
                on_agent(name)
            session = resume[1] if resume is not None and resume[0] == name else None
            request = request_for(
                settings,
                current_prompt,
                session,
                agent=name,
                output_schema=output_schema,
                output_schema_file=output_schema_file,
            )
            agent = executor(name)
            run = await run_with_retries(
                attempt, agent, request, settings, meter, label=label, on_event=on_event
            )
        candidates.remove(name)
        if run.ok or not run.rate_limited or attempt.stopping or not candidates:
            return run
        why = f"{name}: {run.reason.removeprefix('rate limited: ')}"
        attempt.show(ACTIVITY_STREAM, f"⇢ {why}; going on with {candidates[0]}", 1)
        current_prompt = handover(base, name, run, "a usage limit")
        previous = name
    assert run is not None
    return run


def publish_agent(attempt: Attempt, agent: str, previous: str, reason: str) -> None:
    task = attempt.task
    attempt.bus.publish(
        AgentChosen(task.id, task.attempt, attempt.clock.time(), agent, previous, reason)
    )


class AgentBody:
    """Runs the task's agent (or the first of its list with room), retrying limits and going on
    with the next agent of its list when one is out of quota.

    An attempt is one turn of a conversation: the first runs the task's prompt; a later one
    (continued, or started by messages from the user) goes on in the agent's own session where
    the CLI can resume one, else in a new one told the conversation so far. Totals and budgets
    count across the turns of a conversation; a fresh start begins a new one."""

    def __init__(self, spec: TaskSpec) -> None:
        if spec.agent is None:
            raise ValueError(f"task {spec.name!r} is not an agent task")
        self.spec = spec
        self.settings = spec.agent

    async def run(self, attempt: Attempt) -> Outcome:
        task = attempt.task
        messages = task.inbox.take()
        going_on = (task.continuing or bool(messages)) and bool(task.conversation)
        task.continuing = task.fresh_start = False
        if not going_on:
            task.conversation = [f"User: {self.settings.prompt}"]
            task.agent_session = None
            task.spent = AgentTotals()
        prompt, resume = self._turn(task, messages, going_on)
        delivered(attempt, messages)
        task.conversation.extend(f"User: {message.text}" for message in messages)
        meter = Meter(attempt, self.settings.budget, task.spent)
        run = await run_step(attempt, self.settings, meter, prompt=prompt, resume=resume)
        if run.session_id:
            task.agent_session = (run.executor, run.session_id)
        if run.result is not None and run.result.text.strip():
            task.conversation.append(f"Assistant: {run.result.text.strip()}")
            task.answer = run.result.text.strip()
        task.spent = (task.spent or AgentTotals()) + meter.used
        return outcome(run)

    def _turn(
        self, task: Task, messages: list[Message], going_on: bool
    ) -> tuple[str | None, tuple[str, str] | None]:
        """The prompt of this turn (None: the task's own) and the session it resumes."""
        if not going_on:
            return None, None
        said = joined(messages) if messages else CONTINUE_TURN
        session = task.agent_session
        if session is not None and executor(session[0]).can_resume:
            return said, session
        return CONVERSATION.format(conversation="\n\n".join(task.conversation), said=said), None


def agents_in(specs: Sequence[TaskSpec]) -> list[str]:
    """Every agent the specs may run (workers, fallbacks and auditors), each once."""
    names: dict[str, None] = {}
    for spec in specs:
        if spec.agent is not None:
            names.update(dict.fromkeys(spec.agent.agents))
        if spec.loop is not None:
            names.update(dict.fromkeys(spec.loop.auditor.agents))
    return list(names)
