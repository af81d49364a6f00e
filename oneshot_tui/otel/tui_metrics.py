"""The TUI's own metric: how long a key takes to show (`oneshot.tui.key_latency`, seconds, from
the key's arrival to the screen refresh after it was handled). The TUI is a process of its own,
so it has a meter provider of its own, from the same OTEL_* variables as the run's."""

from __future__ import annotations

from oneshot_tui.otel.setup import Providers, providers_from_env


class KeyLatency:
    def __init__(self, providers: Providers | None = None) -> None:
        self.providers = providers or providers_from_env(traces=False)
        meter = self.providers.meter_provider.get_meter("oneshot_tui.ui")  # type: ignore[attr-defined]
        self._histogram = meter.create_histogram(
            "oneshot.tui.key_latency",
            unit="s",
            description="From a key's arrival to the refresh after it was handled",
        )

    def record(self, seconds: float) -> None:
        self._histogram.record(max(seconds, 0.0))

    def finish(self) -> None:
        self.providers.finish()
