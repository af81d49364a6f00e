"""Scripted stand-in agents and loop task specs for the worker/auditor loop tests."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

from oneshot_tui.core.spec import AgentSettings, Budget, LoopSettings, TaskPolicy, TaskSpec
from tests.fakes import fake


class ScriptedAgents:
    """`claude` and `codex` executables that answer from a script (tests/fakes/scripted_agent)."""

    def __init__(self, tmp: Path, script: list[dict[str, Any]]) -> None:
        self.dir = tmp / "scripted-bin"
        self.dir.mkdir(exist_ok=True)
        self.script = tmp / "script.json"
        self.script.write_text(json.dumps(script))
        for binary in ("claude", "codex"):
            exe = self.dir / binary
            exe.write_text(
                f"#!{sys.executable}\nimport os, runpy\nos.environ['FAKE_AS'] = {binary!r}\n"
                f"runpy.run_path({fake('scripted_agent.py')!r}, run_name='__main__')\n"
            )
            exe.chmod(exe.stat().st_mode | stat.S_IXUSR)

    @property
    def env(self) -> dict[str, str]:
        path = f"{self.dir.resolve()}:{os.environ['PATH']}"
        return {"PATH": path, "FAKE_SCRIPT": str(self.script.resolve())}

    def calls(self) -> list[dict[str, Any]]:
        path = Path(f"{self.script}.calls")
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]

    def prompts(self) -> list[str]:
        return [call["argv"][-1] for call in self.calls()]


def verdict(v: str, feedback: str = "") -> dict[str, Any]:
    return {"result": json.dumps({"verdict": v, "feedback": feedback})}


def loop_spec(
    prompt: str,
    *,
    cwd: Path,
    env: dict[str, str],
    name: str = "loop",
    worker: str = "claude",
    auditor: str = "codex",
    max_iterations: int = 3,
    budget: Budget | None = None,
    grace: float = 1.0,
) -> TaskSpec:
    return TaskSpec(
        name=name,
        command=(worker, prompt),
        cwd=str(cwd),
        env=env,
        policy=TaskPolicy(grace=grace),
        kind="loop",
        agent=AgentSettings(worker, prompt, budget=budget or Budget()),
        loop=LoopSettings(auditor=AgentSettings(auditor, ""), max_iterations=max_iterations),
    )
