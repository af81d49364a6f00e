"""The engine's conductor: runs task specs under a concurrency limit, watches them, stops them."""

from oneshot_tui.core.events import RunResult
from oneshot_tui.orchestrator.orchestrator import Orchestrator

__all__ = ["Orchestrator", "RunResult"]
