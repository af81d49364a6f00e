"""The SDK's tracer and meter providers for a run, configured as OpenTelemetry says: the OTLP/HTTP
exporters read OTEL_EXPORTER_OTLP_ENDPOINT (and its _TRACES_/_METRICS_ forms), _HEADERS,
_TIMEOUT; the resource reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES; the metric reader
OTEL_METRIC_EXPORT_INTERVAL. Nothing here is ours to configure."""

from __future__ import annotations

from dataclasses import dataclass

from oneshot_tui.core.exit_codes import UsageError

INSTALL = "pip install 'oneshot-tui[otel]'"


class OtelUnavailable(UsageError):
    """`otel` is on but the extra is not installed: said before anything starts (exit 2)."""


@dataclass
class Providers:
    """Where a run's spans and metric points go. `owned`: made here, so shut down (flushed) when
    the run ends; a test's own providers are only flushed."""

    tracer_provider: object
    """An `opentelemetry.sdk.trace.TracerProvider`."""
    meter_provider: object
    """An `opentelemetry.sdk.metrics.MeterProvider`."""
    owned: bool = False

    def finish(self) -> None:
        for provider in (self.tracer_provider, self.meter_provider):
            flush = getattr(provider, "force_flush", None)
            if flush is not None:
                flush()
            if self.owned:
                shutdown = getattr(provider, "shutdown", None)
                if shutdown is not None:
                    shutdown()


def require_otel() -> None:
    """Raise OtelUnavailable unless the extra is installed; imports nothing (a TUI run asks
    before it forks its server, where the error would reach no one)."""
    from importlib.util import find_spec

    for name in ("opentelemetry.sdk", "opentelemetry.exporter.otlp.proto.http"):
        try:
            found = find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            raise OtelUnavailable(f"otel is on but {name} is not installed: {INSTALL}")


def providers_from_env(*, traces: bool = True) -> Providers:
    """OTLP/HTTP exporters for traces and metrics, as the OTEL_* variables configure them
    (`traces=False`: metrics only, for the TUI's own process)."""
    try:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        raise OtelUnavailable(
            f"otel is on but OpenTelemetry is not installed ({exc.name}): {INSTALL}"
        ) from None
    from importlib.metadata import PackageNotFoundError, version

    try:
        ours = version("oneshot-tui")
    except PackageNotFoundError:  # run from a source tree
        ours = "unknown"
    # Attributes given here would win over OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES: our
    # name goes in only where they named no service (the SDK's "unknown_service:...").
    resource = Resource.create({"service.version": ours})
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": "oneshot-tui"}))
    tracer_provider = TracerProvider(resource=resource)
    if traces:
        tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    reader = PeriodicExportingMetricReader(OTLPMetricExporter())
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    return Providers(tracer_provider, meter_provider, owned=True)
