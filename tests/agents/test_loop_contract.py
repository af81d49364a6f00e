"""The worker/auditor loop end to end with the real CLIs: claude works, codex audits, both against
the fake model server (which makes the first audit a RETRY and the second a DONE)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from oneshot_tui.core.events import LoopPhase, LoopVerdict
from oneshot_tui.core.spec import RunSettings, TaskPolicy
from oneshot_tui.core.states import TaskState as S
from oneshot_tui.loop.session import find_session
from oneshot_tui.orchestrator import Orchestrator
from tests.agents.clis import require_clis, setup
from tests.fakes.model_server import FakeModelServer
from tests.helpers import run_recorded
from tests.loop_helpers import loop_spec

pytestmark = pytest.mark.contract


async def test_claude_works_and_codex_audits_until_done(tmp_path: Path, data_dir: Path) -> None:
    require_clis()
    with FakeModelServer() as server:
        home = tmp_path / "home"
        claude_env, claude_extra = setup("claude", home, server.url)
        codex_env, _ = setup("codex", home, server.url)
        work = tmp_path / "work"
        work.mkdir()
        spec = loop_spec(
            "RUN_TOOL: echo hi FAKE_RETRY_FIRST",
            cwd=work,
            env={**claude_env, **codex_env},
            worker="claude",
            auditor="codex",
            grace=3,
        )
        assert spec.agent is not None
        spec = replace(
            spec,
            agent=replace(spec.agent, model=claude_extra["model"]),
            policy=TaskPolicy(timeout=240, grace=3),
        )
        orch = Orchestrator([spec], RunSettings(heartbeat_interval=0.2), data_dir=data_dir)
        result, watcher = await run_recorded(orch)
    [r] = result.results
    log = Path(r.log_path or "").read_text(errors="replace")
    assert r.state is S.COMPLETED, f"{r.reason}\n{log[-3000:]}"
    phases = [(e.role, e.iteration) for e in watcher.all() if isinstance(e, LoopPhase)]
    assert phases == [("worker", 1), ("auditor", 1), ("worker", 2), ("auditor", 2)]
    verdicts = [e.verdict for e in watcher.all() if isinstance(e, LoopVerdict)]
    assert verdicts == ["RETRY", "DONE"]
    state = find_session(data_dir, "last").load()
    assert state.worker_result is not None and state.worker_result.startswith("FAKE_DONE")
    assert set(state.sessions) == {"worker#1", "auditor#1", "worker#2", "auditor#2"}
    # The auditor's RETRY feedback reached the second worker's prompt, as the server saw it.
    worker_requests = [q for q in server.requests if "reworker #2" in str(q.get("body"))]
    assert worker_requests and "add a line saying FIXED" in str(worker_requests[0]["body"])
    assert r.totals is not None and r.totals.tool_calls >= 2
