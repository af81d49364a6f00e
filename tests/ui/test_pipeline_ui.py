"""A pipeline in the TUI: a task waiting for its dependencies says so (list, title, pane), and a
restart policy's wait is a countdown in the list, on the run's clock."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from oneshot_tui.core.clock import FakeClock
from oneshot_tui.core.spec import RunSettings, TaskPolicy, TaskSpec
from oneshot_tui.core.states import TaskState
from oneshot_tui.ui.app import make_app
from tests.fakes import fake
from tests.ui.driving import list_row, main_screen, stop_app, title_text, until

FAST = RunSettings(max_concurrent=4, heartbeat_interval=0.05)


async def test_a_task_waiting_for_a_dependency_shows_on_what(data_dir: Path) -> None:
    server = TaskSpec("server", (sys.executable, fake("quiet.py"), "booting"))
    client = replace(
        TaskSpec("client", (sys.executable, "-c", "print('hi')")), depends_on={"server": "ready"}
    )
    server = replace(server, ready_line="listening")
    app = make_app([server, client], FAST, data_dir=data_dir)
    async with app.run_test(size=(120, 24)) as pilot:
        await until(pilot, lambda: "waiting" in list_row(app, 1))
        assert "queued" not in list_row(app, 1)
        bar = main_screen(app).status_bar.render().plain
        # State words only when the whole line fits them (a long data dir: `◌ 1w`).
        assert ("1 waiting" in bar or "◌ 1w" in bar) and "queued" not in bar
        await pilot.press("j")
        await until(pilot, lambda: "waiting for server (ready)" in title_text(app))
        assert app.model.tasks["client"].state is TaskState.CREATED
        await stop_app(pilot)


async def test_a_restart_waits_with_a_countdown_in_the_list(data_dir: Path) -> None:
    clock = FakeClock()
    policy = TaskPolicy(restart="on-failure", max_restarts=3, restart_backoff=30)
    flaky = TaskSpec("flaky", (sys.executable, "-c", "raise SystemExit(1)"), policy=policy)
    app = make_app([flaky], FAST, data_dir=data_dir, clock=clock)
    async with app.run_test(size=(120, 24)) as pilot:
        await until(pilot, lambda: "⏳1s" in list_row(app, 0) and "↻1" in list_row(app, 0))
        clock.advance(1.0)  # the first restart's second: attempt 2 runs, fails, waits 2 s
        await until(pilot, lambda: "⏳2s" in list_row(app, 0) and "↻2" in list_row(app, 0))
        assert "restart 2/3 in 2s" in title_text(app)
        await stop_app(pilot)


def test_a_best_of_n_group_folds_its_verdict_into_the_rows() -> None:
    from oneshot_tui.core.events import JudgeVerdict, TaskAdded
    from oneshot_tui.ui.model import RunModel

    model = RunModel()
    model.apply(
        [
            TaskAdded("fix", 1.0, "claude judge", "agent", group="fix"),
            *(TaskAdded(f"fix#{n}", 1.0, "claude fix", "agent", group="fix") for n in (1, 2, 3)),
        ]
    )
    assert [model.tasks[n].group for n in model.order] == ["fix"] * 4
    changes = model.apply(
        [JudgeVerdict("fix", 1, 2.0, "fix#2", "it has the test", ("fix#1", "fix#3"), ())]
    )
    assert changes.rows == {"fix", "fix#1", "fix#2", "fix#3"}
    assert model.tasks["fix"].winner == "fix#2" == model.tasks["fix#2"].winner
    assert model.tasks["fix#1"].lost and model.tasks["fix#3"].lost
    assert not model.tasks["fix#2"].lost
    # `v` on the judge: the winner, the reasons in full, and what became of the others.
    from rich.console import Console

    from oneshot_tui.ui.screens.verdicts import verdict_history

    console = Console(width=80, record=True, color_system=None)
    console.print(verdict_history(model.tasks["fix"]))
    shown = console.export_text()
    assert "WINNER   fix#2" in shown and "it has the test" in shown
    assert "fix#1 (kept)" in shown and "fix#3 (kept)" in shown


async def test_replicas_are_listed_under_their_group(data_dir: Path) -> None:
    specs = [
        replace(TaskSpec(name, (sys.executable, "-c", "print('x')")), group="fix")
        for name in ("fix", "fix#1", "fix#2")
    ]
    app = make_app(specs, FAST, data_dir=data_dir)
    async with app.run_test(size=(120, 24)) as pilot:
        await until(pilot, lambda: all(t.state.ended for t in app.model.tasks.values()))
        rows = [list_row(app, i) for i in range(3)]
        assert "fix" in rows[0] and "#" not in rows[0]
        assert "   #1" in rows[1] and "fix#1" not in rows[1]
        assert "   #2" in rows[2]
        await stop_app(pilot)


async def test_space_folds_a_best_of_n_group_under_its_judge_and_unfolds_it(
    data_dir: Path,
) -> None:
    specs = [
        *(
            replace(TaskSpec(name, (sys.executable, "-c", "print('x')")), group="fix")
            for name in ("fix", "fix#1", "fix#2")
        ),
        TaskSpec("other", (sys.executable, "-c", "print('y')")),
    ]
    app = make_app(specs, FAST, data_dir=data_dir)
    async with app.run_test(size=(120, 24)) as pilot:
        await until(pilot, lambda: all(t.state.ended for t in app.model.tasks.values()))
        screen = main_screen(app)
        await pilot.press("j", "j")  # a replica: folding selects its judge
        await pilot.press("space")
        await until(pilot, lambda: screen.rows == ["fix", "other"])
        assert "fix +2" in list_row(app, 0) and "other" in list_row(app, 1)
        assert screen.selected_info is not None and screen.selected_info.task_id == "fix"
        await pilot.press("j", "space")  # not in a group: nothing changes
        assert screen.rows == ["fix", "other"]
        await pilot.press("k", "space")
        await until(pilot, lambda: screen.rows == ["fix", "fix#1", "fix#2", "other"])
        assert "+2" not in list_row(app, 0) and "   #1" in list_row(app, 1)
        await stop_app(pilot)
