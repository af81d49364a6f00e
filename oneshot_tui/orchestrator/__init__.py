"""The engine's conductor: runs task specs under a concurrency limit, watches them, stops them."""

from oneshot_tui.orchestrator.orchestrator import Orchestrator, RunResult

__all__ = ["Orchestrator", "RunResult"]
