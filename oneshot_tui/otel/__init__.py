"""OpenTelemetry traces and metrics of a run (the optional extra `[otel]`).

`exporter.py` is a bus subscriber turning the engine's events into spans and metric points;
`setup.py` builds the SDK's providers from the standard OTEL_* variables (OTLP over HTTP). Only
these modules import OpenTelemetry, and only a run with `otel` on imports them
(orchestrator/session.py), so a run without it pays nothing and needs nothing installed.
"""
