"""The pure parts of pipelines: cycles, prompt templates, the judge's answer, the backoff."""

from __future__ import annotations

import pytest

from oneshot_tui.config.loader import find_cycle
from oneshot_tui.core.judge import judge_prompt, parse_judgement
from oneshot_tui.core.templates import references, render
from oneshot_tui.orchestrator.orchestrator import restart_delay


def test_find_cycle_names_the_loop_and_nothing_else() -> None:
    assert find_cycle({"a": ["b"], "b": ["c"], "c": []}) is None
    assert find_cycle({"a": ["b"], "b": ["c"], "c": ["a"]}) == ["a", "b", "c", "a"]
    assert find_cycle({"x": ["y"], "y": ["y"]}) == ["y", "y"]
    assert find_cycle({"a": ["outside"], "b": ["a"]}) is None  # names outside are not followed


def test_templates_find_and_fill_references() -> None:
    prompt = "do {{ tasks.plan.result }} on {{tasks.fix#2.branch}}, again {{ tasks.plan.result }}"
    assert references(prompt) == [("plan", "result"), ("fix#2", "branch")]
    filled = render(prompt, {("plan", "result"): "THE PLAN", ("fix#2", "branch"): "b"})
    assert filled == "do THE PLAN on b, again THE PLAN"
    assert render("{{ tasks.gone.result }} and {{ not a ref }}", {}) == " and {{ not a ref }}"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ('{"winner": "f#2", "reasons": "tested"}', ("f#2", "tested")),
        ('```json\n{"winner": "f#1"}\n```', ("f#1", "")),
        ('{"winner": "f#9", "reasons": "x"}', None),  # not a candidate
        ('I pick {"winner": "f#1"}', None),  # prose around it: not read
        ("f#1 is best", None),
        ('["f#1"]', None),
    ],
)
def test_the_judges_answer_is_read_strictly(answer: str, expected: tuple[str, str] | None) -> None:
    assert parse_judgement(answer, ["f#1", "f#2"]) == expected


def test_the_judge_prompt_refers_to_each_candidates_result_and_diff() -> None:
    prompt = judge_prompt("fix it", ["f#1", "f#2"])
    assert references(prompt) == [
        ("f#1", "result"),
        ("f#1", "diff"),
        ("f#2", "result"),
        ("f#2", "diff"),
    ]
    assert "<request>\nfix it\n</request>" in prompt


def test_restart_delays_double_from_one_second_to_the_cap() -> None:
    assert [restart_delay(n, 5.0) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 5.0]
