"""The worker/auditor loop through the real orchestrator, with scripted stand-in agents that
speak the real claude and codex stream formats and record the prompts they receive."""

from __future__ import annotations

import json
from pathlib import Path

import anyio

from oneshot_tui.core.events import LoopPhase, LoopVerdict
from oneshot_tui.core.spec import Budget
from oneshot_tui.core.states import TaskState as S
from oneshot_tui.loop.session import find_session
from oneshot_tui.loop.verdict import FORMAT_FEEDBACK, REMINDER
from oneshot_tui.orchestrator import Orchestrator
from tests.helpers import Watcher, pid_alive, run_recorded
from tests.loop_helpers import ScriptedAgents, loop_spec, verdict


async def test_retry_with_feedback_then_done_completes(data_dir: Path, tmp_path: Path) -> None:
    agents = ScriptedAgents(
        tmp_path,
        [
            {"result": "I wrote the parser."},
            verdict("RETRY", "the parser has no tests"),
            {"result": "I added tests for the parser."},
            verdict("DONE", "tests pass"),
        ],
    )
    spec = loop_spec("Write a parser", cwd=tmp_path, env=agents.env)
    result, watcher = await run_recorded(Orchestrator([spec], data_dir=data_dir))
    assert result.exit_code == 0
    assert result.results[0].state is S.COMPLETED
    assert result.results[0].reason == "DONE after 2 iterations"
    calls = agents.calls()
    assert [c["binary"] for c in calls] == ["claude", "codex", "claude", "codex"]
    prompts = agents.prompts()
    assert prompts[0].splitlines()[0].endswith("worker #1")
    assert "<instruction>\nWrite a parser\n</instruction>" in prompts[0]
    assert prompts[1].splitlines()[0].endswith("audit #1")
    assert "<worker-result>\nI wrote the parser.\n</worker-result>" in prompts[1]
    assert prompts[2].splitlines()[0].endswith("reworker #2")
    assert "<auditor-feedback>\nthe parser has no tests\n</auditor-feedback>" in prompts[2]
    assert "I added tests for the parser." in prompts[3]
    phases = [(e.role, e.iteration) for e in watcher.all() if isinstance(e, LoopPhase)]
    assert phases == [("worker", 1), ("auditor", 1), ("worker", 2), ("auditor", 2)]
    verdicts = [(e.verdict, e.feedback) for e in watcher.all() if isinstance(e, LoopVerdict)]
    assert verdicts == [("RETRY", "the parser has no tests"), ("DONE", "tests pass")]
    shown = watcher.output_text("loop")
    assert "── auditor #1 of 3 ──" in shown and "⚖ RETRY: the parser has no tests" in shown
    session = find_session(data_dir, "last")
    state = session.load()
    assert state.status == "completed" and len(state.verdicts) == 2
    assert state.sessions == {
        "worker#1": "fake-session-0",
        "auditor#1": "fake-session-1",
        "worker#2": "fake-session-2",
        "auditor#2": "fake-session-3",
    }
    lines = [json.loads(x) for x in session.activity_path.read_text().splitlines()]
    assert {(x["role"], x["iteration"]) for x in lines} == {
        ("worker", 1),
        ("auditor", 1),
        ("worker", 2),
        ("auditor", 2),
    }
    assert all(x["oneshot_id"] == state.oneshot_id and "ts" in x for x in lines)


async def test_impossible_fails_the_task(data_dir: Path, tmp_path: Path) -> None:
    agents = ScriptedAgents(tmp_path, [{"result": "tried"}, verdict("IMPOSSIBLE", "no such API")])
    spec = loop_spec("Use the v9 API", cwd=tmp_path, env=agents.env)
    result, _ = await run_recorded(Orchestrator([spec], data_dir=data_dir))
    assert result.exit_code == 1
    assert result.results[0].state is S.FAILED
    assert result.results[0].reason == "IMPOSSIBLE: no such API"
    assert len(agents.calls()) == 2


async def test_an_unreadable_verdict_is_asked_again_in_the_auditors_session(
    data_dir: Path, tmp_path: Path
) -> None:
    agents = ScriptedAgents(
        tmp_path,
        [
            {"result": "did it"},
            {"result": "Verdict: DONE is not justified here, tests fail."},
            {"result": "**Verdict:** RETRY — missing test"},
            verdict("DONE", "now it reads"),
        ],
    )
    spec = loop_spec("Do it", cwd=tmp_path, env=agents.env, max_iterations=2)
    result, watcher = await run_recorded(Orchestrator([spec], data_dir=data_dir))
    assert result.results[0].state is S.COMPLETED, result.results[0].reason
    calls = agents.calls()
    # One worker run: an unreadable audit never spends a worker iteration.
    assert [c["binary"] for c in calls] == ["claude", "codex", "codex", "codex"]
    # Asked again in its own session, with the reminder alone.
    assert calls[2]["argv"][calls[2]["argv"].index("resume") + 1 :][-2:] == [
        "fake-session-1",
        REMINDER,
    ]
    assert agents.prompts()[3] == REMINDER
    verdicts = [e for e in watcher.all() if isinstance(e, LoopVerdict)]
    assert [(v.verdict, v.well_formed) for v in verdicts] == [
        ("RETRY", False),
        ("RETRY", False),
        ("DONE", True),
    ]
    # The auditor's own words are kept for the verdict screen.
    assert verdicts[0].answer == "Verdict: DONE is not justified here, tests fail."
    assert verdicts[2].answer == ""


async def test_an_auditor_that_stays_unreadable_fails_the_loop(
    data_dir: Path, tmp_path: Path
) -> None:
    agents = ScriptedAgents(tmp_path, [{"result": "did it"}, {"result": "Looks fine to me!"}])
    spec = loop_spec("Do it", cwd=tmp_path, env=agents.env, max_iterations=2)
    result, watcher = await run_recorded(Orchestrator([spec], data_dir=data_dir))
    assert result.results[0].state is S.FAILED
    assert result.results[0].reason == "auditor #1 gave no readable verdict in 3 answers"
    assert [c["binary"] for c in agents.calls()] == ["claude", "codex", "codex", "codex"]
    assert FORMAT_FEEDBACK not in "".join(
        agents.prompts()
    )  # nothing meant for it reaches the worker
    verdicts = [e for e in watcher.all() if isinstance(e, LoopVerdict)]
    assert [v.well_formed for v in verdicts] == [False, False, False]


async def test_an_auditor_crash_fails_the_task_with_the_reason(
    data_dir: Path, tmp_path: Path
) -> None:
    agents = ScriptedAgents(tmp_path, [{"result": "did it"}, {"crash": True}])
    spec = loop_spec("Do it", cwd=tmp_path, env=agents.env)
    result, _ = await run_recorded(Orchestrator([spec], data_dir=data_dir))
    assert result.results[0].state is S.FAILED
    assert result.results[0].reason.startswith("auditor #1 failed: ")
    assert "exit 1" in result.results[0].reason


async def test_budgets_count_across_iterations(data_dir: Path, tmp_path: Path) -> None:
    agents = ScriptedAgents(
        tmp_path, [{"result": "w"}, verdict("RETRY", "more"), {"result": "w2"}, verdict("DONE")]
    )
    spec = loop_spec("Do it", cwd=tmp_path, env=agents.env, budget=Budget(max_tokens=40))
    result, _ = await run_recorded(Orchestrator([spec], data_dir=data_dir))
    # 15 tokens a run: the third run (worker #2) crosses 40 in all, though no run alone does.
    assert result.results[0].state is S.INTERRUPTED
    assert result.results[0].reason.startswith("runaway: 45 tokens")


async def test_interrupt_inside_the_loop_stops_the_agent_and_saves_the_state(
    data_dir: Path, tmp_path: Path
) -> None:
    agents = ScriptedAgents(tmp_path, [{"result": "did it"}, {"sleep": 60, "result": "late"}])
    spec = loop_spec("Do it", cwd=tmp_path, env=agents.env)
    orch = Orchestrator([spec], data_dir=data_dir)
    watcher = Watcher(orch.bus)
    async with anyio.create_task_group() as tg:
        tg.start_soon(orch.run)
        await watcher.wait_for(lambda e: isinstance(e, LoopPhase) and e.role == "auditor")
        await watcher.wait_until(lambda _: len(agents.calls()) == 2)
        pid = orch.tasks["loop"].child.pid  # type: ignore[union-attr]
        orch.interrupt("loop")
        ended = await watcher.wait_state("loop", S.INTERRUPTED)
    assert ended.reason == "interrupted by user"
    assert not pid_alive(pid)
    state = find_session(data_dir, "last").load()
    assert state.status == "interrupted" and state.worker_result == "did it"


async def test_history_records_the_loop_and_rerun_keeps_its_settings(
    data_dir: Path, tmp_path: Path
) -> None:
    from oneshot_tui.store.history import History
    from oneshot_tui.store.history_data import RunOrigin
    from oneshot_tui.store.live_recorder import record_history
    from oneshot_tui.store.specs import spec_from_json

    agents = ScriptedAgents(
        tmp_path,
        [{"result": "w"}, verdict("RETRY", "more"), {"result": "w2"}, verdict("DONE", "ok")],
    )
    spec = loop_spec("Do it", cwd=tmp_path, env=agents.env)
    orch = Orchestrator([spec], data_dir=data_dir)
    async with record_history(orch, RunOrigin.of(("oneshot", "Do it"))):
        await orch.run()
    with History.open(data_dir) as reader:
        [task] = reader.tasks(reader.resolve("last"))
    assert (task.agent.executor, task.agent.iterations, task.agent.verdict) == ("claude", 2, "DONE")
    assert task.agent.input_tokens == 40 and task.agent.output_tokens == 20
    assert task.spec is not None
    again = spec_from_json(dict(task.spec))
    assert again.kind == "loop" and again.loop is not None and again.agent is not None
    assert (again.agent.agent, again.loop.auditor.agent, again.loop.max_iterations) == (
        "claude",
        "codex",
        3,
    )


async def test_a_resumed_loop_announces_its_earlier_verdicts(
    data_dir: Path, tmp_path: Path
) -> None:
    from dataclasses import replace

    agents = ScriptedAgents(
        tmp_path,
        [
            {"result": "w1"},
            verdict("RETRY", "more"),
            {"result": "w2"},
            {"crash": True},
            verdict("DONE", "ok"),
        ],
    )
    spec = loop_spec("Do it", cwd=tmp_path, env=agents.env)
    first, _ = await run_recorded(Orchestrator([spec], data_dir=data_dir))
    assert first.results[0].reason.startswith("auditor #2 failed")
    state = find_session(data_dir, "last").load()
    assert spec.loop is not None
    resumed = replace(spec, loop=replace(spec.loop, oneshot_id=state.oneshot_id))
    result, watcher = await run_recorded(Orchestrator([resumed], data_dir=data_dir))
    assert result.exit_code == 0
    verdicts = [(e.iteration, e.verdict) for e in watcher.all() if isinstance(e, LoopVerdict)]
    assert verdicts == [(1, "RETRY"), (2, "DONE")]
    assert [c["binary"] for c in agents.calls()][-1] == "codex"  # the auditor ran again, alone
    assert len(agents.calls()) == 5


async def test_a_stopped_loop_is_continued_in_the_same_oneshot_id_and_r_starts_afresh(
    data_dir: Path, tmp_path: Path
) -> None:
    """Item 3: `continue_task` (the TUI's `c`) goes on from the last completed step, resuming the
    agent's session of the step that was cut short; `restart` (`r`) is a new loop."""
    agents = ScriptedAgents(
        tmp_path,
        [
            {"result": "w1"},
            verdict("RETRY", "more"),
            {"sleep": 60, "result": "never"},
            {"result": "w2"},
            verdict("DONE", "good"),
            {"result": "fresh"},
            verdict("DONE", "good"),
        ],
    )
    spec = loop_spec("Do it", cwd=tmp_path, env=agents.env)
    orch = Orchestrator([spec], data_dir=data_dir)
    watcher = Watcher(orch.bus)
    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: orch.run(stay_open=True))
        await watcher.wait_for(lambda e: isinstance(e, LoopPhase) and e.iteration == 2)
        await watcher.wait_until(lambda _: len(agents.calls()) == 3)
        orch.interrupt("loop")
        await watcher.wait_state("loop", S.INTERRUPTED)
        first_id = orch.tasks["loop"].oneshot_id
        assert first_id is not None
        assert orch.continue_task("loop")
        await watcher.wait_state("loop", S.COMPLETED)
        continued = find_session(data_dir, first_id).load()
        assert orch.restart("loop")
        await watcher.wait_for(lambda e: isinstance(e, LoopPhase) and e.oneshot_id != first_id)
        await watcher.wait_state("loop", S.COMPLETED)
        orch.shutdown()
    assert continued.oneshot_id == first_id and continued.status == "completed"
    calls = agents.calls()
    # The cut-short worker #2 was resumed in its own session, told it was resumed.
    assert calls[3]["argv"][calls[3]["argv"].index("--resume") + 1] == "fake-session-2"
    assert calls[3]["argv"][-1].startswith("(This session was interrupted")
    # Its history stayed in view: the continued attempt re-announced the first verdict.
    verdicts = [(e.attempt, e.verdict) for e in watcher.all() if isinstance(e, LoopVerdict)]
    assert (2, "RETRY") in verdicts and (2, "DONE") in verdicts
    # `r` is a fresh start: a new oneshot id, worker #1 from the prompt.
    fresh_id = orch.tasks["loop"].oneshot_id
    assert fresh_id is not None
    fresh = find_session(data_dir, fresh_id).load()
    assert fresh.oneshot_id != first_id and fresh.verdicts[0].iteration == 1
    assert "--resume" not in calls[5]["argv"]


async def test_a_stalled_step_is_run_again_in_its_session_not_the_whole_loop(
    data_dir: Path, tmp_path: Path
) -> None:
    """Item 4: with idle_action = restart, a step that stalls is stopped and run again (in its
    agent's session); the loop goes on in the same attempt."""
    from dataclasses import replace

    from oneshot_tui.core.spec import IdleAction, RunSettings, TaskPolicy

    agents = ScriptedAgents(
        tmp_path,
        [{"sleep": 60, "result": "stuck"}, {"result": "w1"}, verdict("DONE", "ok")],
    )
    spec = loop_spec("Do it", cwd=tmp_path, env=agents.env)
    # Generous: a scripted agent that is merely slow to start (a loaded machine) must not
    # count as stalled; only the one that sleeps does.
    policy = TaskPolicy(
        idle_threshold=2.0, idle_action=IdleAction.RESTART, idle_timeout=0.5, grace=1
    )
    spec = replace(spec, policy=policy)
    settings = RunSettings(heartbeat_interval=0.05)
    result, watcher = await run_recorded(Orchestrator([spec], settings, data_dir=data_dir))
    [r] = result.results
    assert r.state is S.COMPLETED, r.reason
    assert r.attempts == 1  # not a restart of the whole task
    calls = agents.calls()
    assert [c["binary"] for c in calls] == ["claude", "claude", "codex"]
    assert calls[1]["argv"][calls[1]["argv"].index("--resume") + 1] == "fake-session-0"
    assert "↻ worker #1 stalled: idle for" in watcher.output_text("loop")
