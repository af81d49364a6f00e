"""The TUI's key latency metric: every key pressed in the real app is one point of
`oneshot.tui.key_latency`, read back from the SDK's in-memory metric reader."""

from __future__ import annotations

import sys
from pathlib import Path

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider

from oneshot_tui.core.spec import RunSettings, TaskSpec
from oneshot_tui.otel.setup import Providers
from oneshot_tui.otel.tui_metrics import KeyLatency
from oneshot_tui.ui.app import make_app
from tests.fakes import fake
from tests.ui.driving import stop_app, until


def key_points(reader: InMemoryMetricReader) -> list[HistogramDataPoint]:
    data = reader.get_metrics_data()
    if data is None:
        return []
    return [
        point
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == "oneshot.tui.key_latency"
        for point in metric.data.data_points
        if isinstance(point, HistogramDataPoint)
    ]


async def test_each_key_is_one_latency_point(data_dir: Path) -> None:
    reader = InMemoryMetricReader()
    metrics = KeyLatency(Providers(TracerProvider(), MeterProvider(metric_readers=[reader])))
    specs = [TaskSpec(name, (sys.executable, fake("quiet.py"), name)) for name in ("one", "two")]
    app = make_app(
        specs,
        RunSettings(heartbeat_interval=0.05),
        data_dir=data_dir,
        key_latency=metrics.record,
    )
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.model.tasks["two"].buffer.end > 0)
        assert key_points(reader) == []
        await pilot.press("j", "k", "j")
        await until(pilot, lambda: sum(p.count for p in key_points(reader)) == 3)
        [point] = key_points(reader)
        assert point.min >= 0 and point.sum >= point.max
        await stop_app(pilot)
