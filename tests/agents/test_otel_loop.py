"""The span tree and metrics of a real loop (claude works, claude audits, against the fake model
server) as the OpenTelemetry SDK's in-memory exporters receive them from a RunSession."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from oneshot_tui.core.spec import RunSettings, TaskPolicy
from oneshot_tui.core.states import TaskState as S
from oneshot_tui.orchestrator.session import RunSession
from oneshot_tui.otel.setup import Providers
from tests.agents.clis import require_clis, setup
from tests.fakes.model_server import INPUT_TOKENS, FakeModelServer
from tests.loop_helpers import loop_spec

pytestmark = pytest.mark.contract


def metric_points(reader: InMemoryMetricReader) -> dict[str, list[tuple[dict[str, Any], Any]]]:
    data = reader.get_metrics_data()
    assert data is not None
    points: dict[str, list[tuple[dict[str, Any], Any]]] = {}
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                points[metric.name] = [
                    (dict(p.attributes or {}), p.value)  # type: ignore[union-attr]
                    for p in metric.data.data_points
                ]
    return points


async def test_the_span_tree_of_a_real_loop(tmp_path: Path, data_dir: Path) -> None:
    require_clis()
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    providers = Providers(tracer_provider, MeterProvider(metric_readers=[reader]))
    with FakeModelServer() as server:
        env, extra = setup("claude", tmp_path / "home", server.url)
        work = tmp_path / "work"
        work.mkdir()
        spec = loop_spec(
            "RUN_TOOL: echo hi FAKE_RETRY_FIRST", cwd=work, env=env, auditor="claude", grace=3
        )
        assert spec.agent is not None
        spec = replace(
            spec,
            agent=replace(spec.agent, model=extra["model"]),
            policy=TaskPolicy(timeout=240, grace=3),
        )
        session = RunSession(
            [spec], RunSettings(heartbeat_interval=0.2), data_dir=data_dir, otel=providers
        )
        result = await session.run()
    [r] = result.results
    assert r.state is S.COMPLETED, r.reason

    finished: list[ReadableSpan] = list(spans.get_finished_spans())
    by_id = {s.context.span_id: s for s in finished if s.context is not None}

    def children(span: ReadableSpan) -> list[ReadableSpan]:
        assert span.context is not None
        mine = [s for s in finished if s.parent and s.parent.span_id == span.context.span_id]
        return sorted(mine, key=lambda s: s.start_time or 0)

    def tree(span: ReadableSpan) -> Any:
        return (span.name, [tree(c) for c in children(span)])

    [root] = [s for s in finished if s.parent is None]
    assert all(s.parent is None or s.parent.span_id in by_id for s in finished)  # one tree
    turn: Any = ("invoke_agent claude", [])
    tool_turn: Any = ("invoke_agent claude", [("execute_tool Bash", [])])
    assert tree(root) == (
        "oneshot.run",
        [
            (
                "oneshot.task loop",
                [
                    (
                        "oneshot.loop.iteration 1",
                        [
                            ("oneshot.loop.step worker", [tool_turn]),
                            ("oneshot.loop.step auditor", [turn]),
                        ],
                    ),
                    (
                        "oneshot.loop.iteration 2",
                        [
                            ("oneshot.loop.step worker", [tool_turn]),
                            ("oneshot.loop.step auditor", [turn]),
                        ],
                    ),
                ],
            )
        ],
    )
    [task] = children(root)
    attrs = dict(task.attributes or {})
    assert attrs["oneshot.task.name"] == "loop" and attrs["oneshot.task.state"] == "completed"
    assert attrs["gen_ai.agent.name"] == "claude"
    assert r.totals is not None
    assert attrs["gen_ai.usage.input_tokens"] == r.totals.input_tokens
    assert attrs["oneshot.cost_usd"] == pytest.approx(r.totals.cost_usd)
    verdicts = [dict(i.attributes or {})["oneshot.loop.verdict"] for i in children(task)]
    assert verdicts == ["RETRY", "DONE"]
    turns = [s for s in finished if s.name == "invoke_agent claude"]
    for t in turns:
        a = dict(t.attributes or {})
        assert a["gen_ai.operation.name"] == "invoke_agent"
        assert a["gen_ai.provider.name"] == "anthropic"
        assert int(str(a["gen_ai.usage.input_tokens"])) >= INPUT_TOKENS
        assert a["gen_ai.conversation.id"]
    for span in finished:  # every span is within its parent's time
        if span.parent is not None:
            parent = by_id[span.parent.span_id]
            assert parent.start_time is not None and span.start_time is not None
            assert parent.start_time <= span.start_time
            assert span.end_time is not None and parent.end_time is not None
            assert span.end_time <= parent.end_time
    # No secrets, and no prompt or output text (otel_capture_output is off).
    everything = repr([(s.attributes, s.events) for s in finished])
    assert "sk-ant-fake" not in everything and "FAKE_RETRY_FIRST" not in everything
    assert "echo hi" not in everything and not any(s.events for s in finished)

    points = metric_points(reader)
    tokens = {p[0]["gen_ai.token.type"]: p[1] for p in points["oneshot.agent.tokens"]}
    assert tokens == {"input": r.totals.input_tokens, "output": r.totals.output_tokens}
    assert {p[0]["gen_ai.agent.name"] for p in points["oneshot.agent.tokens"]} == {"claude"}
    [(_, cost)] = points["oneshot.agent.cost"]
    assert cost == pytest.approx(r.totals.cost_usd)
    states = {p[0]["oneshot.task.state"]: p[1] for p in points["oneshot.tasks"]}
    assert states["completed"] == 1 and states.get("running", 0) == 0
    assert [p[1] for p in points["oneshot.tasks.running"]] == [0]
