"""oneshot-tui: run many AI coding agents and shell commands in parallel; watch and steer them live.

The public Python API (`run_tasks`, `open_run`, `run_agent`, `run_oneshot`, ...) lives in
`oneshot_tui.api` and is exported here lazily: `import oneshot_tui` stays cheap (`oneshot-tui
--help` and headless runs must not pay for what they do not use; tests/unit/test_import_hygiene.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from oneshot_tui.api import (
        AgentResult,
        LoopResult,
        Run,
        RunResult,
        Task,
        TaskResult,
        Verdict,
        call_executor_async,
        open_run,
        run_agent,
        run_oneshot,
        run_oneshot_async,
        run_tasks,
    )

__all__ = [
    "AgentResult",
    "LoopResult",
    "Run",
    "RunResult",
    "Task",
    "TaskResult",
    "Verdict",
    "__version__",
    "call_executor_async",
    "open_run",
    "run_agent",
    "run_oneshot",
    "run_oneshot_async",
    "run_tasks",
]


def __getattr__(name: str) -> Any:
    if name in __all__ and name != "__version__":
        from oneshot_tui import api

        return getattr(api, name)
    raise AttributeError(f"module 'oneshot_tui' has no attribute {name!r}")
