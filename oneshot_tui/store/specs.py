"""Task specs and run settings to JSON data and back, so `rerun` can start the same tasks again.

Unknown keys are ignored and missing ones take their defaults, so specs recorded by an older or
newer oneshot-tui still load.
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

from oneshot_tui.core.spec import IdleAction, RunSettings, TaskPolicy, TaskSpec


def dumps(data: Any) -> str:
    # `default=str`: an agent's `extra` settings may hold values JSON has no type for (a Path).
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)


def spec_to_json(spec: TaskSpec) -> dict[str, Any]:
    command: str | list[str] = spec.command if isinstance(spec.command, str) else list(spec.command)
    return {
        "name": spec.name,
        "command": command,
        "cwd": spec.cwd,
        "env": dict(spec.env),
        "policy": {f.name: getattr(spec.policy, f.name) for f in fields(TaskPolicy)},
        "kind": spec.kind,
        "extra": dict(spec.extra),
    }


def spec_from_json(data: dict[str, Any]) -> TaskSpec:
    raw_command = data["command"]
    command: str | tuple[str, ...] = (
        raw_command if isinstance(raw_command, str) else tuple(str(p) for p in raw_command)
    )
    policy_data = data.get("policy") or {}
    known = {f.name for f in fields(TaskPolicy)}
    policy_kwargs = {k: v for k, v in policy_data.items() if k in known}
    if "idle_action" in policy_kwargs:
        policy_kwargs["idle_action"] = IdleAction(policy_kwargs["idle_action"])
    return TaskSpec(
        name=str(data["name"]),
        command=command,
        cwd=data.get("cwd"),
        env={str(k): str(v) for k, v in (data.get("env") or {}).items()},
        policy=TaskPolicy(**policy_kwargs),
        kind=str(data.get("kind") or "command"),
        extra=dict(data.get("extra") or {}),
    )


def settings_to_json(settings: RunSettings) -> dict[str, Any]:
    return {f.name: getattr(settings, f.name) for f in fields(RunSettings)}


def settings_from_json(data: dict[str, Any]) -> RunSettings:
    known = {f.name for f in fields(RunSettings)}
    return RunSettings(**{k: v for k, v in data.items() if k in known})
