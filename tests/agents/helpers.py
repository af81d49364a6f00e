"""Agent task specs and a stand-in agent CLI for engine tests."""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from oneshot_tui.core.activity import from_data
from oneshot_tui.core.events import Activity, Event
from oneshot_tui.core.spec import AgentSettings, Budget, TaskPolicy, TaskSpec
from tests.fakes import fake

TRANSCRIPTS = Path(__file__).parent / "transcripts"


def agent_spec(
    name: str,
    settings: AgentSettings,
    *,
    cwd: Path,
    env: dict[str, str] | None = None,
    policy: TaskPolicy | None = None,
) -> TaskSpec:
    return TaskSpec(
        name=name,
        command=(settings.agent, settings.prompt),
        cwd=str(cwd),
        env=env or {},
        policy=policy or TaskPolicy(grace=2),
        kind="agent",
        agent=settings,
    )


def settings(agent: str = "claude", prompt: str = "do it", **kw: Any) -> AgentSettings:
    budget = Budget(
        kw.pop("max_cost_usd", None), kw.pop("max_tokens", None), kw.pop("max_tool_calls", None)
    )
    return AgentSettings(agent, prompt, budget=budget, **kw)


class FakeAgent:
    """An executable named like the real CLI that replays transcripts (tests/fakes/replay_agent)."""

    def __init__(self, tmp: Path, binary: str, plan: Sequence[dict[str, Any]]) -> None:
        self.dir = tmp / "fake-bin"
        self.dir.mkdir(exist_ok=True)
        self.plan = tmp / f"{binary}-plan.json"
        steps = [
            {**s, "out": str(TRANSCRIPTS / s["out"]) if "/" not in s["out"] else s["out"]}
            for s in plan
        ]
        self.plan.write_text(json.dumps(steps))
        exe = self.dir / binary
        exe.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{fake("replay_agent.py")}" "$@"\n')
        exe.chmod(exe.stat().st_mode | stat.S_IXUSR)

    @property
    def env(self) -> dict[str, str]:
        return {"PATH": f"{self.dir}:{os.environ['PATH']}", "FAKE_AGENT_PLAN": str(self.plan)}

    def argvs(self) -> list[list[str]]:
        path = Path(f"{self.plan}.argv")
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def detached_pid(self) -> int:
        return int(Path(f"{self.plan}.detached").read_text())


def activities(events: Sequence[Event], task_id: str) -> list[Activity]:
    return [e for e in events if isinstance(e, Activity) and e.task_id == task_id]


def kinds(events: Sequence[Event], task_id: str) -> list[str]:
    return [a.kind for a in activities(events, task_id)]


def parsed(events: Sequence[Event], task_id: str) -> list[Any]:
    return [from_data(a.data) for a in activities(events, task_id)]


def write_lines(path: Path, objects: Sequence[dict[str, Any]]) -> str:
    path.write_text("".join(json.dumps(o) + "\n" for o in objects))
    return str(path)
