"""Agent columns of a task (executor, model, tokens, ...) from the `Activity` events it publishes.

The executors say what they know in `Activity.data`. Any of the keys below, in any activity,
sets its column (the latest value wins, except `iterations`, which only grows). Supporting a new
executor's spelling is one more alias here; a new column is a migration step plus an entry here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from oneshot_tui.core.events import Activity


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


COLUMNS: Mapping[str, tuple[tuple[str, ...], Callable[[Any], Any]]] = {
    "executor": (("executor",), _text),
    "model": (("model",), _text),
    "iterations": (("iterations", "iteration"), _int),
    "verdict": (("verdict",), _text),
    "input_tokens": (("input_tokens", "tokens_in"), _int),
    "output_tokens": (("output_tokens", "tokens_out"), _int),
    "cost_usd": (("cost_usd", "total_cost_usd"), _float),
    "agent_session_id": (("agent_session_id", "session_id"), _text),
}
"""Column -> (keys of Activity.data that set it, first found wins; converter)."""

GROWING = frozenset({"iterations"})
"""Columns that keep their largest value rather than the latest."""


def agent_updates(activity: Activity) -> dict[str, Any]:
    """The agent columns this activity sets (usually none)."""
    data = activity.data
    if not data:
        return {}
    updates: dict[str, Any] = {}
    for column, (keys, convert) in COLUMNS.items():
        for key in keys:
            if key in data:
                value = convert(data[key])
                if value is not None:
                    updates[column] = value
                    break
    return updates
