"""Engine events to OpenTelemetry spans and metrics: one more bus subscriber.

The span tree of a run, each span timed by the events that open and close it:

    oneshot.run                              RunStarted .. RunFinished
      oneshot.task NAME                      an attempt: its first start .. its TaskExited
        oneshot.loop.iteration N             a loop's iteration: its first step .. its verdict
          oneshot.loop.step ROLE             worker or auditor: its LoopPhase .. the next
            invoke_agent AGENT               an agent turn: one agent process (ProcessStarted)
              execute_tool TOOL              a tool call .. its result

(an agent task's turns hang from its attempt). A restarted attempt's span links to the one before.
Attributes follow the GenAI semantic conventions where they fit (gen_ai.agent.name,
gen_ai.request.model, gen_ai.usage.input_tokens, gen_ai.tool.name, ...), the rest are
`oneshot.*`. Never the task's environment, its secrets or its command line; output lines, agents'
text and tool inputs only with `otel_capture_output` (as span events).

Metrics: `oneshot.tasks` (by state, up and down), `oneshot.tasks.running`, `oneshot.agent.tokens`
(by agent, model and gen_ai.token.type), `oneshot.agent.cost` (USD, by agent and model),
`oneshot.output.lines` and `oneshot.output.bytes` (by task).

The subscription is lossy: telemetry never slows a task. Lines it missed are still counted
(`Output.missed`); their bytes are not.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import anyio
from opentelemetry import trace
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode

from oneshot_tui.core.activity import AgentTotals, Kind
from oneshot_tui.core.bus import EventBus, Subscription
from oneshot_tui.core.events import (
    Activity,
    AgentChosen,
    Event,
    LoopPhase,
    LoopVerdict,
    Output,
    ProcessStarted,
    RunFinished,
    RunStarted,
    StateChanged,
    TaskAdded,
    TaskExited,
)
from oneshot_tui.core.spec import TaskSpec
from oneshot_tui.core.states import TaskState
from oneshot_tui.otel.setup import Providers

SCOPE = "oneshot_tui"
PROVIDERS = {
    "claude": "anthropic",
    "codex": "openai",
    "gemini": "gcp.gemini",
    "qwen": "qwen",
    "direct": "openai",
}
"""gen_ai.provider.name of each agent CLI's service, where it has one."""


def _ns(ts: float) -> int:
    return int(ts * 1e9)


@dataclass
class _Turn:
    span: Span
    tools: dict[str, Span] = field(default_factory=dict)
    """Open tool calls by call id (a made-up one when the CLI gives none)."""


@dataclass
class _Attempt:
    span: Span
    iteration: tuple[int, Span] | None = None
    step: Span | None = None
    role: str = ""
    """The loop step running now: "worker" or "auditor" (empty outside a loop)."""
    turn: _Turn | None = None


@dataclass
class _Task:
    kind: str = "command"
    agent: str = ""
    model: str = ""
    auditor: tuple[str, str] = ("", "")
    """A loop's auditor agent and model, when it has its own."""
    attempts: dict[int, _Attempt] = field(default_factory=dict)
    last_context: Any = None
    """The span context of its latest attempt, for the next one's link."""
    totals: AgentTotals = field(default_factory=AgentTotals)
    """What the metrics have counted of it so far."""


class OtelExporter:
    """Turns one run's events into spans and metric points. Feed it with `take(event)`."""

    def __init__(
        self,
        providers: Providers,
        spec_of: Callable[[str], TaskSpec | None],
        *,
        capture_output: bool = False,
    ) -> None:
        self._tracer = trace.get_tracer(
            SCOPE,
            tracer_provider=providers.tracer_provider,  # type: ignore[arg-type]
        )
        meter = providers.meter_provider.get_meter(SCOPE)  # type: ignore[attr-defined]
        self._spec_of = spec_of
        self._capture = capture_output
        self._run: Span | None = None
        self._tasks: dict[str, _Task] = {}
        self._tasks_by_state = meter.create_up_down_counter(
            "oneshot.tasks", unit="{task}", description="Tasks of the run, by state"
        )
        self._running = meter.create_up_down_counter(
            "oneshot.tasks.running", unit="{task}", description="Tasks running now"
        )
        self._tokens = meter.create_counter(
            "oneshot.agent.tokens", unit="{token}", description="Tokens agents used"
        )
        self._cost = meter.create_counter(
            "oneshot.agent.cost", unit="USD", description="What agents cost (reported or estimated)"
        )
        self._lines = meter.create_counter(
            "oneshot.output.lines", unit="{line}", description="Lines tasks wrote"
        )
        self._bytes = meter.create_counter(
            "oneshot.output.bytes", unit="By", description="Bytes of the lines tasks wrote"
        )

    # -- events ----------------------------------------------------------------------------------

    def take(self, event: Event) -> None:
        if isinstance(event, Output):
            self._output(event)
        elif isinstance(event, StateChanged):
            self._state_changed(event)
        elif isinstance(event, Activity):
            self._activity(event)
        elif isinstance(event, ProcessStarted):
            self._process_started(event)
        elif isinstance(event, LoopPhase):
            self._loop_phase(event)
        elif isinstance(event, LoopVerdict):
            self._loop_verdict(event)
        elif isinstance(event, TaskExited):
            self._task_exited(event)
        elif isinstance(event, TaskAdded):
            self._task_added(event)
        elif isinstance(event, AgentChosen):
            self._task(event.task_id).agent = event.agent
        elif isinstance(event, RunStarted):
            self._run = self._tracer.start_span(
                "oneshot.run",
                start_time=_ns(event.ts),
                kind=SpanKind.INTERNAL,
                attributes={
                    "oneshot.run.id": event.run_id,
                    "oneshot.run.tasks": len(event.task_ids),
                    "oneshot.run.max_concurrent": event.max_concurrent,
                },
            )
        elif isinstance(event, RunFinished):
            self._run_finished(event)

    def _task(self, task_id: str) -> _Task:
        task = self._tasks.get(task_id)
        if task is None:
            task = self._tasks[task_id] = _Task()
        return task

    def _task_added(self, event: TaskAdded) -> None:
        task = self._task(event.task_id)
        task.kind = event.kind
        spec = self._spec_of(event.task_id)
        if spec is not None and spec.agent is not None:
            task.agent = spec.agent.agent
            task.model = spec.agent.model or ""
        if spec is not None and spec.loop is not None:
            auditor = spec.loop.auditor
            task.auditor = (auditor.agent, auditor.model or "")
        self._tasks_by_state.add(1, {"oneshot.task.state": str(TaskState.CREATED)})

    def _state_changed(self, event: StateChanged) -> None:
        self._tasks_by_state.add(-1, {"oneshot.task.state": str(event.source)})
        self._tasks_by_state.add(1, {"oneshot.task.state": str(event.target)})
        active = {TaskState.RUNNING, TaskState.IDLE}
        if (event.target in active) != (event.source in active):
            self._running.add(1 if event.target in active else -1)
        if event.target is TaskState.RUNNING:
            self._attempt(event.task_id, event.attempt, event.ts)

    def _attempt(self, task_id: str, attempt: int, ts: float) -> _Attempt:
        task = self._task(task_id)
        found = task.attempts.get(attempt)
        if found is not None:
            return found
        links = [Link(task.last_context)] if task.last_context is not None else []
        attributes: dict[str, Any] = {
            "oneshot.task.name": task_id,
            "oneshot.task.kind": task.kind,
            "oneshot.task.attempt": attempt,
        }
        if task.agent:
            attributes["gen_ai.agent.name"] = task.agent
        if task.model:
            attributes["gen_ai.request.model"] = task.model
        span = self._tracer.start_span(
            f"oneshot.task {task_id}",
            context=trace.set_span_in_context(self._run) if self._run is not None else None,
            start_time=_ns(ts),
            links=links,
            attributes=attributes,
        )
        task.last_context = span.get_span_context()
        found = task.attempts[attempt] = _Attempt(span)
        return found

    def _process_started(self, event: ProcessStarted) -> None:
        task = self._task(event.task_id)
        attempt = self._attempt(event.task_id, event.attempt, event.ts)
        if task.kind == "command":
            attempt.span.set_attribute("process.pid", event.pid)
            return
        self._end_turn(attempt, event.ts)
        parent = attempt.step or attempt.span
        agent, model = task.agent or "agent", task.model
        if attempt.role == "auditor" and task.auditor[0]:
            agent, model = task.auditor
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": agent,
            "process.pid": event.pid,
        }
        if provider := PROVIDERS.get(agent):
            attributes["gen_ai.provider.name"] = provider
        if model:
            attributes["gen_ai.request.model"] = model
        if event.label:
            attributes["oneshot.step"] = event.label
        span = self._tracer.start_span(
            f"invoke_agent {agent}",
            context=trace.set_span_in_context(parent),
            start_time=_ns(event.ts),
            kind=SpanKind.CLIENT,
            attributes=attributes,
        )
        attempt.turn = _Turn(span)

    def _activity(self, event: Activity) -> None:
        attempt = self._tasks.get(event.task_id, _Task()).attempts.get(event.attempt)
        turn = attempt.turn if attempt is not None else None
        if turn is None:
            return
        data, kind = event.data, event.kind
        if kind == Kind.SESSION:
            if session := data.get("session_id"):
                turn.span.set_attribute("gen_ai.conversation.id", str(session))
            if model := data.get("model"):
                turn.span.set_attribute("gen_ai.response.model", str(model))
        elif kind == Kind.USAGE:
            turn.span.set_attribute("gen_ai.usage.input_tokens", int(data.get("input_tokens", 0)))
            turn.span.set_attribute("gen_ai.usage.output_tokens", int(data.get("output_tokens", 0)))
            if data.get("cost_usd") is not None:
                turn.span.set_attribute("oneshot.cost_usd", float(data["cost_usd"]))
        elif kind in (Kind.TOOL_CALL, Kind.DENIED):
            call_id = str(data.get("call_id") or f"call-{len(turn.tools)}")
            attributes: dict[str, Any] = {
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": str(data.get("tool", "")),
                "gen_ai.tool.call.id": call_id,
            }
            if self._capture:
                attributes["gen_ai.tool.call.arguments"] = str(data.get("summary", ""))
            span = self._tracer.start_span(
                f"execute_tool {data.get('tool', '')}",
                context=trace.set_span_in_context(turn.span),
                start_time=_ns(event.ts),
                attributes=attributes,
            )
            if kind == Kind.DENIED:
                span.set_status(Status(StatusCode.ERROR, "permission denied"))
                span.end(end_time=_ns(event.ts))
            else:
                turn.tools[call_id] = span
        elif kind == Kind.TOOL_RESULT:
            call_id = str(data.get("call_id") or "")
            done: Span | None = turn.tools.pop(call_id, None)
            if done is None and turn.tools:
                done = turn.tools.pop(next(iter(turn.tools)))  # the oldest open call
            if done is not None:
                if not data.get("ok", True):
                    done.set_status(Status(StatusCode.ERROR))
                if self._capture:
                    done.set_attribute("gen_ai.tool.call.result", str(data.get("output", "")))
                done.end(end_time=_ns(event.ts))
        elif kind == Kind.RESULT:
            if data.get("is_error"):
                turn.span.set_status(Status(StatusCode.ERROR, "the agent answered with an error"))
            if self._capture:
                turn.span.add_event(
                    "gen_ai.choice", {"text": str(data.get("text", ""))}, _ns(event.ts)
                )
        elif kind == Kind.TEXT and self._capture:
            turn.span.add_event("gen_ai.choice", {"text": str(data.get("text", ""))}, _ns(event.ts))

    def _loop_phase(self, event: LoopPhase) -> None:
        attempt = self._attempt(event.task_id, event.attempt, event.ts)
        self._end_step(attempt, event.ts)
        if attempt.iteration is None or attempt.iteration[0] != event.iteration:
            self._end_iteration(attempt, event.ts)
            span = self._tracer.start_span(
                f"oneshot.loop.iteration {event.iteration}",
                context=trace.set_span_in_context(attempt.span),
                start_time=_ns(event.ts),
                attributes={
                    "oneshot.loop.id": event.oneshot_id,
                    "oneshot.loop.iteration": event.iteration,
                    "oneshot.loop.max_iterations": event.max_iterations,
                },
            )
            attempt.iteration = (event.iteration, span)
        assert attempt.iteration is not None
        attempt.role = event.role
        attempt.step = self._tracer.start_span(
            f"oneshot.loop.step {event.role}",
            context=trace.set_span_in_context(attempt.iteration[1]),
            start_time=_ns(event.ts),
            attributes={"oneshot.loop.role": event.role, "oneshot.loop.iteration": event.iteration},
        )

    def _loop_verdict(self, event: LoopVerdict) -> None:
        attempt = self._tasks.get(event.task_id, _Task()).attempts.get(event.attempt)
        if attempt is None or attempt.iteration is None:
            return
        attempt.iteration[1].set_attribute("oneshot.loop.verdict", event.verdict)
        attempt.iteration[1].set_attribute("oneshot.loop.well_formed", event.well_formed)
        if event.well_formed:  # an unreadable answer is asked again, in the same iteration
            self._end_iteration(attempt, event.ts)

    def _end_turn(self, attempt: _Attempt, ts: float) -> None:
        turn, attempt.turn = attempt.turn, None
        if turn is None:
            return
        for span in turn.tools.values():
            span.end(end_time=_ns(ts))
        turn.span.end(end_time=_ns(ts))

    def _end_step(self, attempt: _Attempt, ts: float) -> None:
        self._end_turn(attempt, ts)
        step, attempt.step = attempt.step, None
        if step is not None:
            step.end(end_time=_ns(ts))

    def _end_iteration(self, attempt: _Attempt, ts: float) -> None:
        self._end_step(attempt, ts)
        iteration, attempt.iteration = attempt.iteration, None
        if iteration is not None:
            iteration[1].end(end_time=_ns(ts))

    def _task_exited(self, event: TaskExited) -> None:
        task = self._task(event.task_id)
        attempt = task.attempts.pop(event.attempt, None)
        if attempt is None:  # it never ran (stopped while queued): an attempt of no time
            attempt = self._attempt(event.task_id, event.attempt, event.ts)
            task.attempts.pop(event.attempt, None)
        self._end_iteration(attempt, event.ts)
        span = attempt.span
        span.set_attribute("oneshot.task.state", str(event.state))
        if event.exit_code is not None:
            span.set_attribute("process.exit.code", event.exit_code)
        if event.signal is not None:
            span.set_attribute("oneshot.task.signal", event.signal)
        if event.reason:
            span.set_attribute("oneshot.task.reason", event.reason)
        if event.cpu_seconds is not None:
            span.set_attribute("oneshot.task.cpu_seconds", event.cpu_seconds)
        if event.totals is not None:
            totals = event.totals
            span.set_attribute("gen_ai.usage.input_tokens", totals.input_tokens)
            span.set_attribute("gen_ai.usage.output_tokens", totals.output_tokens)
            span.set_attribute("oneshot.agent.tool_calls", totals.tool_calls)
            if totals.cost_usd is not None:
                span.set_attribute("oneshot.cost_usd", totals.cost_usd)
                span.set_attribute("oneshot.cost_estimated", totals.estimated)
            self._count_usage(task, totals)
        if event.state is not TaskState.COMPLETED:
            span.set_status(Status(StatusCode.ERROR, event.reason or str(event.state)))
        span.end(end_time=_ns(event.ts))

    def _count_usage(self, task: _Task, totals: AgentTotals) -> None:
        """Add what the task used since it was last counted (its totals cover every attempt)."""
        seen, task.totals = task.totals, totals
        attributes = {"gen_ai.agent.name": task.agent or "agent"}
        if task.model:
            attributes["gen_ai.request.model"] = task.model
        for kind, now, before in (
            ("input", totals.input_tokens, seen.input_tokens),
            ("output", totals.output_tokens, seen.output_tokens),
        ):
            if now > before:
                self._tokens.add(now - before, {**attributes, "gen_ai.token.type": kind})
        spent = (totals.cost_usd or 0.0) - (seen.cost_usd or 0.0)
        if spent > 0:
            self._cost.add(spent, attributes)

    def _output(self, event: Output) -> None:
        attributes = {"oneshot.task.name": event.task_id}
        self._lines.add(event.lines + event.missed, attributes)
        self._bytes.add(len(event.text.encode()) + (1 if event.lines else 0), attributes)
        if self._capture and event.lines:
            attempt = self._tasks.get(event.task_id, _Task()).attempts.get(event.attempt)
            if attempt is not None:
                attempt.span.add_event(
                    "oneshot.output", {"stream": event.stream, "text": event.text}, _ns(event.ts)
                )

    def _run_finished(self, event: RunFinished) -> None:
        for task in self._tasks.values():
            for attempt in task.attempts.values():
                self._end_iteration(attempt, event.ts)
                attempt.span.end(end_time=_ns(event.ts))
            task.attempts.clear()
        if self._run is not None:
            self._run.set_attribute("oneshot.run.exit_code", event.exit_code)
            if event.exit_code != 0:
                self._run.set_status(Status(StatusCode.ERROR, f"exit {event.exit_code}"))
            self._run.end(end_time=_ns(event.ts))
            self._run = None

    def close(self, ts: float) -> None:
        """The run ended without its RunFinished (cancelled): end what is open."""
        if self._run is not None:
            self._run_finished(RunFinished("", ts, 1, ()))


async def _consume(exporter: OtelExporter, sub: Subscription) -> None:
    with suppress(anyio.EndOfStream):
        while True:
            for event in await sub.receive_batch():
                exporter.take(event)


@asynccontextmanager
async def export_run(
    bus: EventBus,
    spec_of: Callable[[str], TaskSpec | None],
    providers: Providers,
    *,
    capture_output: bool = False,
    now: Callable[[], float],
) -> AsyncIterator[OtelExporter]:
    """Export the events of the run on `bus` while the block runs; on leaving, take what is
    queued, end what is open and flush the providers (shut them down if they are the run's
    own). Enter it before the run starts, leave it after it returns."""
    exporter = OtelExporter(providers, spec_of, capture_output=capture_output)
    sub = bus.subscribe("otel")
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_consume, exporter, sub, name="otel exporter")
            try:
                yield exporter
            finally:
                tg.cancel_scope.cancel()
    finally:
        sub.close()
        for event in sub.receive_nowait(10**9):
            exporter.take(event)
        exporter.close(now())
        await anyio.to_thread.run_sync(providers.finish)
