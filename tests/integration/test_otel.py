"""OpenTelemetry of runs of real commands: a restarted attempt's link, exit codes, output captured
only when asked; and the whole path over OTLP/HTTP, from `oneshot-tui run --otel` to a receiver
started here that decodes the protobuf."""

from __future__ import annotations

import gzip
import os
import subprocess
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio
import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from oneshot_tui.core.spec import RunSettings, TaskSpec
from oneshot_tui.core.states import TaskState as S
from oneshot_tui.orchestrator.session import RunSession
from oneshot_tui.otel.setup import Providers
from tests.helpers import Watcher, cli_argv


def in_memory() -> tuple[Providers, InMemorySpanExporter, InMemoryMetricReader]:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    return Providers(tracer_provider, MeterProvider(metric_readers=[reader])), spans, reader


async def test_a_restarted_attempt_links_to_the_one_before(data_dir: Path) -> None:
    marker = data_dir / "second-time"
    spec = TaskSpec(
        "flaky",
        f"echo SECRET_LINE; test -f {marker} || {{ touch {marker}; exit 4; }}",
        env={"API_TOKEN": "sk-never-seen"},
    )
    providers, spans, _ = in_memory()
    session = RunSession(
        [spec], RunSettings(heartbeat_interval=0), data_dir=data_dir, otel=providers
    )
    watcher = Watcher(session.bus)
    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: session.run(stay_open=True))
        await watcher.wait_state("flaky", S.FAILED)
        assert session.orchestrator.restart("flaky")
        await watcher.wait_state("flaky", S.COMPLETED)
        session.orchestrator.shutdown()
    first, second = sorted(
        (s for s in spans.get_finished_spans() if s.name == "oneshot.task flaky"),
        key=lambda s: s.start_time or 0,
    )
    a1, a2 = dict(first.attributes or {}), dict(second.attributes or {})
    assert (a1["oneshot.task.attempt"], a2["oneshot.task.attempt"]) == (1, 2)
    assert (a1["oneshot.task.state"], a1["process.exit.code"]) == ("failed", 4)
    assert (a2["oneshot.task.state"], a2["process.exit.code"]) == ("completed", 0)
    assert not first.links
    assert first.context is not None
    assert [link.context.span_id for link in second.links] == [first.context.span_id]
    everything = repr([(s.attributes, s.events) for s in spans.get_finished_spans()])
    assert "sk-never-seen" not in everything and "SECRET_LINE" not in everything


async def test_output_is_in_the_spans_only_when_asked(data_dir: Path) -> None:
    providers, spans, reader = in_memory()
    settings = RunSettings(heartbeat_interval=0, otel_capture_output=True)
    session = RunSession(
        [TaskSpec("talk", "printf 'one\\ntwo\\n'")], settings, data_dir=data_dir, otel=providers
    )
    await session.run()
    [task] = [s for s in spans.get_finished_spans() if s.name == "oneshot.task talk"]
    texts = [
        str(dict(e.attributes or {})["text"]) for e in task.events if e.name == "oneshot.output"
    ]
    assert "\n".join(texts) == "one\ntwo"
    data = reader.get_metrics_data()
    assert data is not None
    metrics = {m.name: m for r in data.resource_metrics for s in r.scope_metrics for m in s.metrics}
    [lines] = metrics["oneshot.output.lines"].data.data_points
    [size] = metrics["oneshot.output.bytes"].data.data_points
    assert (lines.value, size.value) == (2, len("one\ntwo\n"))  # type: ignore[union-attr]


class Receiver:
    """An OTLP/HTTP receiver: decodes each export request's protobuf, by path."""

    def __init__(self) -> None:
        self.traces: list[ExportTraceServiceRequest] = []
        self.metrics: list[ExportMetricsServiceRequest] = []
        self.headers: list[dict[str, str]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                encoding = self.headers.get("Content-Encoding", "")
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "deflate":
                    body = zlib.decompress(body)
                receiver.headers.append(dict(self.headers))
                if self.path == "/v1/traces":
                    receiver.traces.append(ExportTraceServiceRequest.FromString(body))
                elif self.path == "/v1/metrics":
                    receiver.metrics.append(ExportMetricsServiceRequest.FromString(body))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> Receiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def test_a_run_with_otel_exports_over_otlp_http(tmp_path: Path, receiver: Receiver) -> None:
    env = {
        **os.environ,
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
        "OTEL_EXPORTER_OTLP_HEADERS": "x-test=yes",
        "OTEL_SERVICE_NAME": "stats-test",
        "OTEL_METRIC_EXPORT_INTERVAL": "600000",  # only the final export, when the run ends
    }
    argv = [*cli_argv(), "run", "--no-ui", "--otel", "--data-dir", str(tmp_path / "data")]
    proc = subprocess.run(
        [*argv, "-c", "echo=echo hi", "-c", "exit=exit 3"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    spans = [
        (span, rs.resource)
        for request in receiver.traces
        for rs in request.resource_spans
        for ss in rs.scope_spans
        for span in ss.spans
    ]
    names = sorted(span.name for span, _ in spans)
    assert names == ["oneshot.run", "oneshot.task echo", "oneshot.task exit"]
    services = {
        a.value.string_value for _, r in spans for a in r.attributes if a.key == "service.name"
    }
    assert services == {"stats-test"}
    [exit_span] = [s for s, _ in spans if s.name == "oneshot.task exit"]
    attrs = {a.key: a.value for a in exit_span.attributes}
    assert attrs["process.exit.code"].int_value == 3
    assert attrs["oneshot.task.state"].string_value == "failed"
    [run_span] = [s for s, _ in spans if s.name == "oneshot.run"]
    assert exit_span.parent_span_id == run_span.span_id
    assert exit_span.trace_id == run_span.trace_id
    assert all(h.get("x-test") == "yes" for h in receiver.headers)
    metrics = {
        m.name: m
        for request in receiver.metrics
        for rm in request.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
    }
    assert {"oneshot.tasks", "oneshot.output.lines", "oneshot.output.bytes"} <= set(metrics)
    states = {
        p.attributes[0].value.string_value: p.as_int
        for p in metrics["oneshot.tasks"].sum.data_points
    }
    assert (states["completed"], states["failed"]) == (1, 1)


def test_otel_without_the_extra_is_a_usage_error(tmp_path: Path) -> None:
    """`--otel` where OpenTelemetry cannot be imported: exit 2 before anything starts."""
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "opentelemetry").mkdir()
    (blocker / "opentelemetry" / "__init__.py").write_text("raise ImportError('not here')\n")
    env = {**os.environ, "PYTHONPATH": str(blocker)}
    proc = subprocess.run(
        [*cli_argv(), "run", "--no-ui", "--otel", "--data-dir", str(tmp_path / "d"), "-c", "true"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert "oneshot-tui[otel]" in proc.stderr
