"""Worker/auditor loops and agent tasks in the TUI: the loop's phase in the pane title and the
task list, the verdict history (v), running totals and the rate-limit countdown."""

from __future__ import annotations

import sys
from pathlib import Path

from textual.widgets import Static

from oneshot_tui.core.activity import AgentTotals
from oneshot_tui.core.clock import FakeClock
from oneshot_tui.core.events import (
    LoopPhase,
    LoopVerdict,
    ProcessStarted,
    RetryScheduled,
    StateChanged,
    TaskAdded,
    TotalsChanged,
)
from oneshot_tui.core.spec import RunSettings, TaskSpec
from oneshot_tui.core.states import TaskState as S
from oneshot_tui.ui.app import make_app
from oneshot_tui.ui.format import phase_text, retry_text, short_phase
from oneshot_tui.ui.model import RunModel
from oneshot_tui.ui.screens.verdicts import VerdictScreen, verdict_history
from tests.agents.helpers import FakeAgent, agent_spec, settings, write_lines
from tests.loop_helpers import ScriptedAgents, loop_spec, verdict
from tests.ui.driving import list_row, main_screen, stop_app, title_text, until

FAST = RunSettings(max_concurrent=4, heartbeat_interval=0.05)
CLAUDE_429 = {
    "type": "result",
    "subtype": "success",
    "is_error": True,
    "api_error_status": 429,
    "result": "API Error: Request rejected (429) · rate limited",
    "usage": {},
}


def test_the_model_follows_a_loop_its_totals_and_a_retry() -> None:
    model = RunModel(lambda _: 100)
    model.apply([TaskAdded("l", 0.0, "claude 'fix it'", "loop")])
    info = model.tasks["l"]
    assert info.loop is not None and phase_text(info) == ""
    changes = model.apply(
        [
            StateChanged("l", 1, S.CREATED, S.RUNNING, 1.0),
            LoopPhase("l", 1, 1.0, "os-1", "worker", 1, 3),
        ]
    )
    assert "l" in changes.rows
    assert (phase_text(info), short_phase(info)) == ("worker 1/3", "w1/3")
    model.apply(
        [
            LoopPhase("l", 1, 2.0, "os-1", "auditor", 1, 3),
            LoopVerdict("l", 1, 3.0, "os-1", 1, "RETRY", "add tests\n\x1b]0;pwned\x07please"),
            LoopPhase("l", 1, 3.0, "os-1", "worker", 2, 3),
            TotalsChanged("l", 1, 3.0, AgentTotals(1200, 300, 0.0123, 4)),
            RetryScheduled("l", 1, 4.0, 30.0, 34.0, "rate limited", 1, 2),
        ]
    )
    assert (phase_text(info), short_phase(info)) == ("worker 2/3", "w2/3")
    assert info.totals is not None and info.totals.brief() == "1.5k tok  $0.012  4 tools"
    assert retry_text(info, now=4.0) == "retry 1/2 in 30s"
    assert retry_text(info, now=33.2) == "retry 1/2 in 1s"
    assert retry_text(info, now=40.0) == "retry 1/2: retrying…"
    model.apply([ProcessStarted("l", 1, 42, 34.0, "/x.log", "worker #2 (try 2)")])
    assert info.retry is None  # the next try started: no countdown any more
    # The verdict history shows every verdict with its feedback, escape sequences dropped.
    shown = _plain(verdict_history(info))
    rows = [row.strip() for row in shown.splitlines()]
    assert "#1   RETRY" in rows and rows[-2:] == ["add tests", "please"]
    assert "\x1b" not in shown and "pwned" not in shown
    model.apply([StateChanged("l", 1, S.RUNNING, S.COMPLETED, 9.0)])
    assert phase_text(info) == "" and info.loop.verdicts[0].feedback.startswith("add tests")


def _plain(renderable: object) -> str:
    from rich.console import Console

    console = Console(width=100, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(renderable)
    text = console.export_text()
    console.file.close()
    return text


async def test_a_loop_shows_its_phase_and_v_shows_each_verdict(
    data_dir: Path, tmp_path: Path
) -> None:
    agents = ScriptedAgents(
        tmp_path,
        [
            {"result": "I wrote the parser."},
            verdict("RETRY", "the parser has no tests"),
            {"result": "I added tests.", "sleep": 3},  # worker #2 takes a while: look at it
            verdict("DONE", "tests pass"),
        ],
    )
    specs = [
        loop_spec("Write a parser", cwd=tmp_path, env=agents.env),
        TaskSpec("plain", (sys.executable, "-c", "print('not a loop')")),
    ]
    app = make_app(specs, FAST, data_dir=data_dir)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = main_screen(app)
        await until(pilot, lambda: phase_text(app.model.tasks["loop"]) == "worker 2/3")
        await pilot.pause()
        assert "worker 2/3" in title_text(app)
        assert "tok" in title_text(app)  # running totals of the agents so far
        assert "w2/3" in list_row(app, 0)
        # Not a loop: v is greyed for it (a run with loops keeps the key in the footer).
        await pilot.press("j")
        assert screen.check_action("verdicts", ()) is None
        await pilot.press("v")
        assert not isinstance(app.screen, VerdictScreen)
        palette = [c.title for c in app.get_system_commands(screen)]
        assert "History" in palette and "Verdicts" not in palette
        await pilot.press("k")
        assert "Verdicts" in [c.title for c in app.get_system_commands(screen)]
        await pilot.press("v")
        await until(pilot, lambda: isinstance(app.screen, VerdictScreen))
        body = _plain(verdict_history(app.model.tasks["loop"]))
        assert "RETRY" in body and "the parser has no tests" in body and "DONE" not in body
        # The screen stays open while the loop goes on: the next verdict appears in it.
        await until(pilot, lambda: app.model.tasks["loop"].state is S.COMPLETED)
        await pilot.pause()
        verdicts_screen = app.screen
        assert isinstance(verdicts_screen, VerdictScreen)
        static = verdicts_screen.query_one("#verdicts", Static)
        shown = _plain(static.content)
        assert "RETRY" in shown and "DONE" in shown and "tests pass" in shown
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, VerdictScreen))
        assert "worker" not in title_text(app)  # ended: no phase, the reason says how
        assert "DONE after 2 iterations" in title_text(app)
        await stop_app(pilot)


async def test_v_is_hidden_in_a_run_without_loops(data_dir: Path) -> None:
    app = make_app([TaskSpec("plain", (sys.executable, "-c", "print(1)"))], FAST, data_dir=data_dir)
    async with app.run_test(size=(100, 24)) as pilot:
        await until(pilot, lambda: app.model.tasks["plain"].state is S.COMPLETED)
        assert main_screen(app).check_action("verdicts", ()) is False
        await stop_app(pilot)


async def test_a_rate_limited_agent_shows_a_countdown_on_the_apps_clock(
    tmp_path: Path, data_dir: Path
) -> None:
    limited = write_lines(tmp_path / "429.out", [CLAUDE_429])
    agent = FakeAgent(tmp_path, "claude", [{"out": limited, "exit": 1}])
    spec = agent_spec(
        "c", settings(retry_on_rate_limit=2, rate_limit_backoff=600), cwd=tmp_path, env=agent.env
    )
    clock = FakeClock()
    app = make_app([spec], FAST, data_dir=data_dir, clock=clock)
    async with app.run_test(size=(160, 24)) as pilot:
        await until(pilot, lambda: app.model.tasks["c"].retry is not None)
        await pilot.pause()
        assert "⏳ retry 1/2 in 10m00s" in title_text(app)
        clock.advance(591.5)
        main_screen(app).tick()  # what the app's one-second timer does
        await pilot.pause()
        assert "⏳ retry 1/2 in 9s" in title_text(app)
        await pilot.press("i")  # interrupted during the pause: no countdown left
        await until(pilot, lambda: app.model.tasks["c"].state is S.INTERRUPTED)
        await pilot.pause()
        assert "⏳" not in title_text(app)
        await stop_app(pilot)


async def test_c_continues_an_ended_loop_and_the_verdict_screen_shows_unread_words(
    data_dir: Path, tmp_path: Path
) -> None:
    agents = ScriptedAgents(
        tmp_path,
        [
            {"result": "w1"},
            {"result": "I think it is fine?"},
            {"result": "still prose"},
            {"result": "prose again"},
            verdict("DONE", "now it is"),
        ],
    )
    app = make_app([loop_spec("Do it", cwd=tmp_path, env=agents.env)], FAST, data_dir=data_dir)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = main_screen(app)
        await until(pilot, lambda: app.model.tasks["loop"].state is S.FAILED)
        await pilot.pause()
        assert screen.check_action("continue_task", ()) is True
        assert "Continue" in [c.title for c in app.get_system_commands(screen)]
        body = _plain(verdict_history(app.model.tasks["loop"]))
        assert "The auditor said:" in body and "I think it is fine?" in body
        await pilot.press("c")
        await until(pilot, lambda: app.model.tasks["loop"].state is S.COMPLETED)
        assert app.model.tasks["loop"].attempt == 2
        # The same loop went on: one worker run in all, the auditor asked a fourth time.
        assert [c["binary"] for c in agents.calls()] == ["claude", *["codex"] * 4]
        assert screen.check_action("continue_task", ()) is True
        await stop_app(pilot)


def test_an_agents_own_retry_and_its_agent_show_in_the_model() -> None:
    from oneshot_tui.core.events import Activity, AgentChosen

    model = RunModel(lambda _: 100)
    model.apply(
        [
            TaskAdded("a", 0.0, "qwen hi", "agent"),
            AgentChosen("a", 1, 1.0, "codex", "claude", "claude: usage limit"),
            RetryScheduled("a", 1, 2.0, 45.0, 47.0, "HTTP 429", 3, 0, by_agent=True),
        ]
    )
    info = model.tasks["a"]
    assert (info.agent, info.previous_agent) == ("codex", "claude")
    assert retry_text(info, now=2.0) == "agent retries 3 in 45s"
    model.apply([Activity("a", 1, 3.0, "retrying", "⏳ the agent retries in 45s")])
    assert info.retry is not None  # its own notice keeps the countdown
    model.apply([Activity("a", 1, 50.0, "text", "hello")])
    assert info.retry is None  # it got on with it


async def test_y_copies_the_agents_last_result_to_the_clipboard(
    data_dir: Path, tmp_path: Path
) -> None:
    agents = ScriptedAgents(tmp_path, [{"result": "The answer:\nline two of it"}])
    specs = [
        agent_spec("ask", settings("claude", "answer"), cwd=tmp_path, env=agents.env),
        TaskSpec("plain", (sys.executable, "-c", "print('no result')")),
    ]
    app = make_app(specs, FAST, data_dir=data_dir)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = main_screen(app)
        await until(pilot, lambda: app.model.tasks["ask"].state is S.COMPLETED)
        await pilot.press("j")  # a command has no result: nothing to copy
        assert screen.check_action("copy", ()) is None
        await pilot.press("y")
        assert app.clipboard == ""
        await pilot.press("k")
        await pilot.press("y")
        assert app.clipboard == "The answer:\nline two of it"
        await stop_app(pilot)
