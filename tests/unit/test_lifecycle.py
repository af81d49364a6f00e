"""The task lifecycle: every legal transition, every illegal one, and the events they emit; and
the run-time lifecycle is its python-statemachine chart's (same table, same moves, same events)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st
from statemachine.exceptions import TransitionNotAllowed

from oneshot_tui.core.clock import FakeClock
from oneshot_tui.core.events import StateChanged
from oneshot_tui.core.lifecycle import TRANSITIONS, IllegalTransition, TaskLifecycle
from oneshot_tui.core.lifecycle_chart import TaskLifecycleChart, compile_transitions
from oneshot_tui.core.states import TaskState as S

LEGAL = {
    "start": {S.CREATED: S.RUNNING},
    "went_idle": {S.RUNNING: S.IDLE},
    "resumed": {S.IDLE: S.RUNNING},
    "interrupt": {S.RUNNING: S.INTERRUPTED, S.IDLE: S.INTERRUPTED},
    "finish": {S.RUNNING: S.COMPLETED, S.IDLE: S.COMPLETED},
    "fail": {S.CREATED: S.FAILED, S.RUNNING: S.FAILED, S.IDLE: S.FAILED},
    "restart": {S.INTERRUPTED: S.CREATED, S.COMPLETED: S.CREATED, S.FAILED: S.CREATED},
}

# The shortest way from `created` to each state.
PATHS = {
    S.CREATED: [],
    S.RUNNING: ["start"],
    S.IDLE: ["start", "went_idle"],
    S.INTERRUPTED: ["start", "interrupt"],
    S.COMPLETED: ["start", "finish"],
    S.FAILED: ["fail"],
}


def machine_in(state: S) -> tuple[TaskLifecycle, list[StateChanged], FakeClock]:
    events: list[StateChanged] = []
    clock = FakeClock()
    sm = TaskLifecycle("t1", clock, events.append)
    for event in PATHS[state]:
        sm.send(event)
    assert sm.state is state
    events.clear()
    return sm, events, clock


@pytest.mark.parametrize(
    ("event", "source", "target"),
    [(event, src, dst) for event, moves in LEGAL.items() for src, dst in moves.items()],
)
def test_every_legal_transition_moves_and_emits_one_event(event: str, source: S, target: S) -> None:
    sm, events, clock = machine_in(source)
    clock.advance(2.5)
    sm.send(event, reason="because")
    assert sm.state is target
    assert len(events) == 1
    changed = events[0]
    assert (changed.task_id, changed.source, changed.target) == ("t1", source, target)
    assert changed.reason == "because"
    assert changed.event == event
    assert changed.ts == clock.time()


ILLEGAL = [(event, state) for event, moves in LEGAL.items() for state in S if state not in moves]


@pytest.mark.parametrize(("event", "state"), ILLEGAL)
def test_every_illegal_transition_raises_and_changes_nothing(event: str, state: S) -> None:
    sm, events, _ = machine_in(state)
    with pytest.raises(IllegalTransition):
        sm.send(event)
    assert sm.state is state
    assert events == []


def test_the_illegal_table_is_complete() -> None:
    # 7 events x 6 states = 42 pairs; 13 are legal, so 29 must raise.
    assert len(ILLEGAL) == 42 - sum(len(m) for m in LEGAL.values()) == 29


def test_restart_increments_the_attempt_and_the_event_carries_it() -> None:
    sm, events, _ = machine_in(S.FAILED)
    assert sm.attempt == 1
    sm.restart()
    assert sm.attempt == 2
    assert events[-1].attempt == 2
    sm.start()
    sm.finish()
    sm.restart()
    assert sm.attempt == 3
    assert sm.state is S.CREATED


def test_states_know_whether_they_have_ended() -> None:
    assert {s for s in S if s.ended} == {S.INTERRUPTED, S.COMPLETED, S.FAILED}
    assert {s for s in S if s.active} == {S.RUNNING, S.IDLE}


# -- the run-time lifecycle is the chart's ---------------------------------------------------------


def test_the_table_is_the_charts_compiled() -> None:
    assert compile_transitions(TaskLifecycleChart) == TRANSITIONS
    assert {e: dict(m) for e, m in TRANSITIONS.items()} == LEGAL


def test_the_run_time_lifecycle_does_not_import_python_statemachine() -> None:
    code = (
        "import sys, oneshot_tui.core.lifecycle\n"
        "sys.exit(1 if any(m.split('.')[0] == 'statemachine' for m in sys.modules) else 0)\n"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


@given(st.lists(st.sampled_from(sorted(LEGAL)), max_size=30), st.floats(0, 100))
def test_the_lifecycle_and_its_chart_move_and_report_alike(events: list[str], step: float) -> None:
    clock = FakeClock()
    ours: list[StateChanged] = []
    charts: list[StateChanged] = []
    lifecycle = TaskLifecycle("t", clock, ours.append)
    chart = TaskLifecycleChart("t", clock, charts.append)
    for n, event in enumerate(events):
        clock.advance(step)
        try:
            chart.send(event, reason=f"r{n}")
        except TransitionNotAllowed:
            with pytest.raises(IllegalTransition):
                lifecycle.send(event, reason=f"r{n}")
        else:
            lifecycle.send(event, reason=f"r{n}")
        assert (lifecycle.state, lifecycle.attempt) == (chart.state, chart.attempt)
    assert ours == charts
