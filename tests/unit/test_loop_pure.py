"""The loop's pure parts: verdict parsing, prompts, the policy and the session file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oneshot_tui.loop.policy import (
    LoopState,
    LoopStatus,
    Role,
    auditor_finished,
    next_step,
    worker_finished,
)
from oneshot_tui.loop.prompts import PromptSet, auditor_prompt, truncate, worker_prompt
from oneshot_tui.loop.session import LoopSession, SessionError, find_session, reopen
from oneshot_tui.loop.verdict import FORMAT_FEEDBACK, AuditResult, Verdict, parse_verdict


@pytest.mark.parametrize(
    ("text", "verdict", "feedback"),
    [
        ('{"verdict": "DONE", "feedback": "all good"}', Verdict.DONE, "all good"),
        ('  {"verdict":"retry","feedback":"tests fail"}\n', Verdict.RETRY, "tests fail"),
        (
            '```json\n{"verdict": "IMPOSSIBLE", "reason": "no network"}\n```',
            Verdict.IMPOSSIBLE,
            "no network",
        ),
        ('{"verdict": "REITERATE", "reason": "more"}', Verdict.RETRY, "more"),
        ('{"verdict": "DONE"}', Verdict.DONE, ""),
    ],
)
def test_one_json_verdict_object_alone_is_read(text: str, verdict: Verdict, feedback: str) -> None:
    assert parse_verdict(text) == AuditResult(verdict, feedback, well_formed=True)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "The task is done.",  # a keyword in prose is not a verdict
        "I think it is mostly complete but I am not sure.",
        # Prose that names DONE but means the opposite (issue 15, item 1):
        "Verdict: DONE is not justified here, tests fail.",
        'I would say {"verdict": "DONE"} only if the tests passed. They did not.',
        "DONE - not really, the tests fail",
        # Well meant, but not the format: asked again, never guessed at.
        "**Verdict:** RETRY — missing test",
        "Verdict: DONE\nEverything was implemented.",
        "DONE",
        'Here is my audit:\n```json\n{"verdict": "DONE"}\n```\n',
        '{"verdict": "PASS"}',
        '{"verdict": "DONE"} and also {"verdict": "RETRY"}',
        '{"status": "DONE"}',
        '["DONE"]',
    ],
)
def test_anything_else_is_unreadable_and_never_done(text: str) -> None:
    result = parse_verdict(text)
    assert result.verdict is Verdict.RETRY
    assert not result.well_formed
    assert result.feedback == FORMAT_FEEDBACK


def test_prompts_have_a_header_line_and_tagged_sections() -> None:
    prompts = PromptSet()
    first = worker_prompt(prompts, "abc", 1, "Fix the bug")
    assert first.splitlines()[0] == "oneshot abc worker #1"
    assert "<instruction>\nFix the bug\n</instruction>" in first
    assert "<auditor-feedback>" not in first
    again = worker_prompt(prompts, "abc", 2, "Fix the bug", feedback="tests still fail")
    assert again.splitlines()[0] == "oneshot abc reworker #2"
    assert "<auditor-feedback>\ntests still fail\n</auditor-feedback>" in again
    audit = auditor_prompt(prompts, "abc", 2, "Fix the bug", "I fixed it {with braces} $HOME")
    assert audit.splitlines()[0] == "oneshot abc audit #2"
    assert "<what-was-requested>\nFix the bug\n</what-was-requested>" in audit
    assert "<worker-result>\nI fixed it {with braces} $HOME\n</worker-result>" in audit
    assert '"verdict"' in audit


def test_headers_are_overridable_and_long_results_truncated_with_a_marker() -> None:
    prompts = PromptSet(
        headers={"worker": "job $oneshot_id/$n", "auditor": "check $n"}, max_result_chars=1000
    )
    assert worker_prompt(prompts, "x", 3, "do").startswith("job x/3\n")
    audit = auditor_prompt(prompts, "x", 3, "do", "A" * 500 + "B" * 5000 + "END")
    assert audit.startswith("check 3\n")
    assert "TRUNCATED" in audit and audit.count("A") > 100 and "END" in audit
    assert len(truncate("z" * 10_000, 1000)) <= 1000


def run_loop(answers: list[str], max_iterations: int = 3) -> tuple[LoopState, list[str]]:
    """Drive the policy with scripted worker results and auditor answers."""
    state = LoopState("id1", "Do X", max_iterations)
    prompts: list[str] = []
    answer_iter = iter(answers)
    while (step := next_step(state, PromptSet())) is not None:
        prompts.append(step.prompt)
        if step.role is Role.WORKER:
            worker_finished(state, f"result {step.iteration}")
        else:
            auditor_finished(state, parse_verdict(next(answer_iter)))
    return state, prompts


def test_retry_feeds_the_feedback_to_the_next_worker_then_done_completes() -> None:
    state, prompts = run_loop(['{"verdict":"RETRY","feedback":"add tests"}', '{"verdict":"DONE"}'])
    assert state.status is LoopStatus.COMPLETED
    assert [p.splitlines()[0] for p in prompts] == [
        "oneshot id1 worker #1",
        "oneshot id1 audit #1",
        "oneshot id1 reworker #2",
        "oneshot id1 audit #2",
    ]
    assert "add tests" in prompts[2]
    assert "result 2" in prompts[3]


def test_impossible_fails() -> None:
    state, _ = run_loop(['{"verdict":"IMPOSSIBLE","feedback":"no such API"}'])
    assert state.status is LoopStatus.FAILED and state.reason == "IMPOSSIBLE: no such API"


def test_an_unreadable_audit_is_asked_again_and_spends_no_worker_iteration() -> None:
    state = LoopState("id1", "Do X", 3)
    steps = []
    answers = iter(["looks fine to me", "**Verdict:** RETRY — missing test", '{"verdict":"DONE"}'])
    while (step := next_step(state, PromptSet())) is not None:
        steps.append((step.role, step.iteration, step.reminder))
        if step.role is Role.WORKER:
            worker_finished(state, "result")
        else:
            text = next(answers)
            auditor_finished(state, parse_verdict(text), answer=text)
    assert state.status is LoopStatus.COMPLETED
    assert steps == [
        (Role.WORKER, 1, 0),
        (Role.AUDITOR, 1, 0),
        (Role.AUDITOR, 1, 1),
        (Role.AUDITOR, 1, 2),
    ]
    assert [v.answer for v in state.verdicts] == [
        "looks fine to me",
        "**Verdict:** RETRY — missing test",
        "",
    ]


def test_an_auditor_unreadable_three_times_fails_the_loop() -> None:
    state, prompts = run_loop(["looks fine to me"] * 3, max_iterations=3)
    assert state.status is LoopStatus.FAILED
    assert state.reason == "auditor #1 gave no readable verdict in 3 answers"
    assert len(prompts) == 4  # one worker, the audit asked three times
    assert all(FORMAT_FEEDBACK not in p for p in prompts)


def test_a_crashed_step_fails_the_loop_with_its_reason() -> None:
    state = LoopState("id", "x", 2)
    worker_finished(state, "ok")
    auditor_finished(state, None, error="exit 1: API Error 500")
    assert state.status is LoopStatus.FAILED
    assert state.reason == "auditor #1 failed: exit 1: API Error 500"


def test_the_session_file_round_trips_and_resume_continues_after_the_last_step(
    tmp_path: Path,
) -> None:
    state = LoopState("20261129-010203-abcd", "Do X", 3)
    session = LoopSession.create(tmp_path, state)
    worker_finished(state, "worker said this")
    session.save(state)
    assert oct(session.state_path.stat().st_mode & 0o777) == "0o600"
    # A crash mid-auditor: the saved state still says the worker step is done.
    loaded = find_session(tmp_path, "last").load()
    reopen(loaded, force=False)
    step = next_step(loaded, PromptSet())
    assert step is not None and step.role is Role.AUDITOR and "worker said this" in step.prompt
    session.log_activity(loaded, "auditor", {"kind": "text", "text": "hi"})
    line = json.loads(session.activity_path.read_text())
    assert line["oneshot_id"] == state.oneshot_id and line["role"] == "auditor"
    assert line["iteration"] == 1 and line["activity"]["text"] == "hi"


def test_a_completed_session_is_refused_unless_forced(tmp_path: Path) -> None:
    state, _ = run_loop(['{"verdict":"DONE"}'])
    with pytest.raises(SessionError, match="already completed"):
        reopen(state, force=False)
    reopen(state, force=True)
    step = next_step(state, PromptSet())
    assert step is not None and step.role is Role.WORKER and step.iteration == 2


def test_find_session_by_prefix(tmp_path: Path) -> None:
    for oid in ("20261129-010101-aaaa", "20261129-020202-bbbb"):
        LoopSession.create(tmp_path, LoopState(oid, "x", 1))
    assert find_session(tmp_path, "20261129-01").directory.name == "20261129-010101-aaaa"
    assert find_session(tmp_path, "last").directory.name == "20261129-020202-bbbb"
    with pytest.raises(SessionError, match="ambiguous"):
        find_session(tmp_path, "20261129")
    with pytest.raises(SessionError, match="no oneshot session matches"):
        find_session(tmp_path, "zzz")


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_parses_and_is_done_only_if_it_says_done(text: str) -> None:
    result = parse_verdict(text)
    if "done" not in text.lower():
        assert result.verdict is not Verdict.DONE
    if result.well_formed:
        assert text.strip().startswith(("{", "```"))
