"""Task specs and run settings to JSON data and back, so `rerun` can start the same tasks again.

Unknown keys are ignored and missing ones take their defaults, so specs recorded by an older or
newer oneshot-tui still load.
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

from oneshot_tui.core.redact import REDACTED, MissingSecret, Redactor, is_secret_name, restore_named
from oneshot_tui.core.spec import (
    AgentSettings,
    Budget,
    IdleAction,
    JudgeSettings,
    LoopSettings,
    RunSettings,
    TaskPolicy,
    TaskSpec,
)

__all__ = ["MissingSecret", "spec_from_json", "spec_to_json"]


def dumps(data: Any) -> str:
    # `default=str`: an agent's `extra` settings may hold values JSON has no type for (a Path).
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)


def _hide_secrets(values: Any) -> Any:
    """Secret-named values (API keys, tokens, passwords) are never written to history."""
    if isinstance(values, dict):
        return {
            k: (REDACTED if is_secret_name(str(k)) and v not in (None, "") else _hide_secrets(v))
            for k, v in values.items()
        }
    return values


def _hide_literals(values: Any, redactor: Redactor) -> Any:
    """Secret values typed into any text (a command, a prompt, a flag) stored by name."""
    if isinstance(values, str):
        return redactor.stored(values)
    if isinstance(values, dict):
        return {k: _hide_literals(v, redactor) for k, v in values.items()}
    if isinstance(values, list):
        return [_hide_literals(v, redactor) for v in values]
    return values


def _restore_literals(values: Any, environ: dict[str, str], where: str) -> Any:
    if isinstance(values, str):
        return restore_named(values, environ, where)
    if isinstance(values, dict):
        return {k: _restore_literals(v, environ, where) for k, v in values.items()}
    if isinstance(values, list):
        return [_restore_literals(v, environ, where) for v in values]
    return values


def spec_to_json(spec: TaskSpec, redactor: Redactor | None = None) -> dict[str, Any]:
    """`spec` as history keeps it: secret-named values left out, and with `redactor` the
    secret values typed literally anywhere else replaced by the name of their variable."""
    data = _spec_to_json(spec)
    return _hide_literals(data, redactor) if redactor else data


def _spec_to_json(spec: TaskSpec) -> dict[str, Any]:
    command: str | list[str] = spec.command if isinstance(spec.command, str) else list(spec.command)
    return {
        "name": spec.name,
        "command": command,
        "cwd": spec.cwd,
        "env": _hide_secrets(dict(spec.env)),
        "policy": {f.name: getattr(spec.policy, f.name) for f in fields(TaskPolicy)},
        "kind": spec.kind,
        "agent": _hide_secrets(_agent_to_json(spec.agent)) if spec.agent else None,
        "loop": _loop_to_json(spec.loop) if spec.loop else None,
        "depends_on": dict(spec.depends_on),
        "ready_line": spec.ready_line,
        "ready_after": spec.ready_after,
        "group": spec.group,
        "judge": None
        if spec.judge is None
        else {"candidates": list(spec.judge.candidates), "keep_losers": spec.judge.keep_losers},
    }


def _agent_to_json(agent: AgentSettings) -> dict[str, Any]:
    return {
        "agent": agent.agent,
        "prompt": agent.prompt,
        "model": agent.model,
        "args": list(agent.args),
        "budget": {f.name: getattr(agent.budget, f.name) for f in fields(Budget)},
        "retry_on_rate_limit": agent.retry_on_rate_limit,
        "rate_limit_backoff": agent.rate_limit_backoff,
        "base_url": agent.base_url,
        "api_key": agent.api_key,
        "max_rate_limit_wait": agent.max_rate_limit_wait,
        "fallback": list(agent.fallback),
        "models": dict(agent.models),
        "agent_args": {k: list(v) for k, v in agent.agent_args.items()},
    }


def _agent_from_json(data: dict[str, Any]) -> AgentSettings:
    budget = data.get("budget") or {}
    return AgentSettings(
        agent=str(data["agent"]),
        prompt=str(data.get("prompt", "")),
        model=data.get("model"),
        args=tuple(str(a) for a in data.get("args") or ()),
        budget=Budget(**{f.name: budget.get(f.name) for f in fields(Budget)}),
        retry_on_rate_limit=int(data.get("retry_on_rate_limit") or 0),
        rate_limit_backoff=float(data.get("rate_limit_backoff") or 30.0),
        base_url=data.get("base_url"),
        api_key=data.get("api_key"),
        max_rate_limit_wait=float(data.get("max_rate_limit_wait") or 3600.0),
        fallback=tuple(str(a) for a in data.get("fallback") or ()),
        models={str(k): str(v) for k, v in (data.get("models") or {}).items()},
        agent_args={
            str(k): tuple(str(a) for a in v) for k, v in (data.get("agent_args") or {}).items()
        },
    )


def _loop_to_json(loop: LoopSettings) -> dict[str, Any]:
    return {
        "auditor": _hide_secrets(_agent_to_json(loop.auditor)),
        "max_iterations": loop.max_iterations,
        "headers": dict(loop.headers),
        "templates": dict(loop.templates),
    }


def _loop_from_json(data: dict[str, Any]) -> LoopSettings:
    # A rerun starts a new loop: it does not resume the recorded one (`oneshot --resume` does).
    return LoopSettings(
        auditor=_agent_from_json(dict(data["auditor"])),
        max_iterations=int(data.get("max_iterations") or 3),
        headers=dict(data.get("headers") or {}),
        templates=dict(data.get("templates") or {}),
    )


def restore_secrets(values: dict[str, Any], environ: dict[str, str], where: str) -> dict[str, Any]:
    """Fill the secrets history left out from the current environment, by the same name."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if value == REDACTED:
            if key not in environ:
                raise MissingSecret(
                    f"{where}: {key} is a secret, and history does not keep secrets; "
                    f"set {key} in the environment to rerun"
                )
            value = environ[key]
        elif isinstance(value, dict):
            value = restore_secrets(value, environ, where)
        out[key] = value
    return out


def spec_from_json(data: dict[str, Any], environ: dict[str, str] | None = None) -> TaskSpec:
    """A spec back from history; secrets come from `environ` (default: ours)."""
    import os

    env_now = dict(os.environ) if environ is None else environ
    where = f"task {data.get('name')!r}"
    data = _restore_literals(data, env_now, where)
    data = {
        **data,
        "env": restore_secrets(dict(data.get("env") or {}), env_now, where),
    }
    agent = data.get("agent")
    if isinstance(agent, dict):
        agent = restore_secrets(agent, env_now, where)
    raw_command = data["command"]
    command: str | tuple[str, ...] = (
        raw_command if isinstance(raw_command, str) else tuple(str(p) for p in raw_command)
    )
    policy_data = data.get("policy") or {}
    known = {f.name for f in fields(TaskPolicy)}
    policy_kwargs = {k: v for k, v in policy_data.items() if k in known}
    if "idle_action" in policy_kwargs:
        policy_kwargs["idle_action"] = IdleAction(policy_kwargs["idle_action"])
    if "worktree_copy" in policy_kwargs:
        policy_kwargs["worktree_copy"] = tuple(policy_kwargs["worktree_copy"] or ())
    return TaskSpec(
        name=str(data["name"]),
        command=command,
        cwd=data.get("cwd"),
        env={str(k): str(v) for k, v in (data.get("env") or {}).items()},
        policy=TaskPolicy(**policy_kwargs),
        kind=str(data.get("kind") or "command"),
        agent=_agent_from_json(agent) if isinstance(agent, dict) else None,
        loop=_loop_from_json(data["loop"]) if isinstance(data.get("loop"), dict) else None,
        depends_on={str(k): str(v) for k, v in (data.get("depends_on") or {}).items()},
        ready_line=data.get("ready_line"),
        ready_after=data.get("ready_after"),
        group=data.get("group"),
        judge=_judge_from_json(data.get("judge")),
    )


def _judge_from_json(data: Any) -> JudgeSettings | None:
    if not isinstance(data, dict):
        return None
    candidates = tuple(str(name) for name in data.get("candidates") or ())
    return JudgeSettings(candidates, bool(data.get("keep_losers", False)))


def settings_to_json(settings: RunSettings) -> dict[str, Any]:
    return {f.name: getattr(settings, f.name) for f in fields(RunSettings)}


def settings_from_json(data: dict[str, Any]) -> RunSettings:
    known = {f.name for f in fields(RunSettings)}
    values = {k: v for k, v in data.items() if k in known}
    if isinstance(values.get("prices"), dict):
        values["prices"] = {k: tuple(v) for k, v in values["prices"].items()}
    if isinstance(values.get("forward_env"), list):
        values["forward_env"] = tuple(values["forward_env"])
    return RunSettings(**values)
