"""Which body runs a task: a command as it is, an agent task through its executor, a loop task as
worker and auditor in turn. The agent and loop bodies are imported only for tasks that need them
(a run of plain commands never loads the agents or the loop)."""

from __future__ import annotations

from oneshot_tui.core.spec import TaskSpec
from oneshot_tui.orchestrator.body import CommandBody, TaskBody


def default_body(spec: TaskSpec) -> TaskBody:
    if spec.loop is not None:
        from oneshot_tui.orchestrator.loop_body import LoopBody

        return LoopBody(spec)
    if spec.judge is not None:
        from oneshot_tui.orchestrator.judge_body import JudgeBody

        return JudgeBody(spec)
    if spec.agent is not None:
        from oneshot_tui.orchestrator.agent_body import AgentBody

        return AgentBody(spec)
    return CommandBody(spec)
