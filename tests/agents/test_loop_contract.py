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
from tests.fakes.model_server import UNREADABLE, FakeModelServer
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


@pytest.mark.parametrize("auditor", ["claude", "qwen", "codex"])
async def test_an_auditor_with_a_schema_flag_is_asked_for_a_json_verdict(
    auditor: str, tmp_path: Path, data_dir: Path
) -> None:
    """Item 1: claude (--json-schema, its StructuredOutput tool), qwen (--json-schema, its
    structured_output tool) and codex (--output-schema FILE) give the verdict as the schema says,
    and it is read strictly."""
    require_clis()
    with FakeModelServer() as server:
        home = tmp_path / "home"
        env: dict[str, str] = {}
        extra_by_agent = {}
        for agent in dict.fromkeys(("claude", auditor)):
            agent_env, extra = setup(agent, home, server.url)
            env |= agent_env
            extra_by_agent[agent] = extra
        work = tmp_path / "work"
        work.mkdir()
        spec = loop_spec("say hi FAKE_VERDICT:DONE", cwd=work, env=env, auditor=auditor)
        assert spec.agent is not None and spec.loop is not None
        audit = extra_by_agent[auditor]
        spec = replace(
            spec,
            agent=replace(spec.agent, model="fake-model"),
            loop=replace(
                spec.loop,
                auditor=replace(
                    spec.loop.auditor,
                    model=audit.get("model"),
                    args=tuple(audit.get("args", ())),
                ),
            ),
            policy=TaskPolicy(timeout=240, grace=3),
        )
        orch = Orchestrator([spec], RunSettings(heartbeat_interval=0.2), data_dir=data_dir)
        result, watcher = await run_recorded(orch)
    [r] = result.results
    assert r.state is S.COMPLETED, f"{r.reason}\n{Path(r.log_path or '').read_text()[-3000:]}"
    [verdict] = [e for e in watcher.all() if isinstance(e, LoopVerdict)]
    assert (verdict.verdict, verdict.well_formed) == ("DONE", True)
    audits = [q for q in server.main_requests() if "<worker-result>" in str(q["body"])]
    assert audits
    body = str(audits[0]["body"])
    if auditor == "codex":
        assert "json_schema" in body and "IMPOSSIBLE" in body  # text.format with our schema
    else:
        assert {"StructuredOutput", "structured_output"} & set(audits[0]["tools"])


async def test_an_unreadable_audit_is_asked_again_in_the_auditors_session(
    tmp_path: Path, data_dir: Path
) -> None:
    """Item 2: gemini has no schema flag; its first answer is prose. It is asked again, in its
    own session, with the format reminder; the worker runs once; the verdict screen gets the
    auditor's own words."""
    require_clis()
    with FakeModelServer() as server:
        home = tmp_path / "home"
        claude_env, _ = setup("claude", home, server.url)
        gemini_env, gemini_extra = setup("gemini", home, server.url)
        work = tmp_path / "work"
        work.mkdir()
        spec = loop_spec(
            "say hi FAKE_UNREADABLE_FIRST",
            cwd=work,
            env={**claude_env, **gemini_env},
            worker="claude",
            auditor="gemini",
        )
        assert spec.agent is not None and spec.loop is not None
        spec = replace(
            spec,
            agent=replace(spec.agent, model="fake-model"),
            loop=replace(
                spec.loop, auditor=replace(spec.loop.auditor, model=gemini_extra["model"])
            ),
            policy=TaskPolicy(timeout=240, grace=3),
        )
        orch = Orchestrator([spec], RunSettings(heartbeat_interval=0.2), data_dir=data_dir)
        result, watcher = await run_recorded(orch)
    [r] = result.results
    assert r.state is S.COMPLETED, f"{r.reason}\n{Path(r.log_path or '').read_text()[-3000:]}"
    phases = [(e.role, e.iteration) for e in watcher.all() if isinstance(e, LoopPhase)]
    assert phases == [("worker", 1), ("auditor", 1), ("auditor", 1)]
    verdicts = [e for e in watcher.all() if isinstance(e, LoopVerdict)]
    assert [(v.verdict, v.well_formed) for v in verdicts] == [("RETRY", False), ("DONE", True)]
    assert verdicts[0].answer == UNREADABLE
    # The second audit continued the first's session (its history was sent again) with the
    # reminder: not a new worker iteration whose "feedback" was meant for the auditor.
    gemini = [q for q in server.main_requests() if "generatecontent" in q["path"].lower()]
    assert len(gemini) == 2
    assert "could not be read" in str(gemini[1]["body"]) and UNREADABLE in str(gemini[1]["body"])
    workers = [q for q in server.main_requests() if "/messages" in q["path"]]
    assert all("reworker" not in str(q["body"]) for q in workers)
    state = find_session(data_dir, "last").load()
    assert state.iteration == 1 and state.agents["auditor#1"] == "gemini"
