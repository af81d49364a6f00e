"""The TUI driving real child processes: badges follow states, keys reach the engine."""

from __future__ import annotations

import html
import os
import signal
import sys
from pathlib import Path

from oneshot_tui.core.clock import FakeClock
from oneshot_tui.core.spec import RunSettings, TaskPolicy, TaskSpec
from oneshot_tui.core.states import TaskState
from oneshot_tui.ui.app import OneshotApp, make_app
from oneshot_tui.ui.screens.confirm import ConfirmQuit
from oneshot_tui.ui.screens.help import HelpScreen
from tests.fakes import fake
from tests.helpers import pid_alive
from tests.ui.driving import list_row, main_screen, pane_rows, stop_app, title_text, until

FAST = RunSettings(max_concurrent=4, heartbeat_interval=0.05)


def quiet(name: str, first: str = "hello", **policy: object) -> TaskSpec:
    return TaskSpec(name, (sys.executable, fake("quiet.py"), first), policy=TaskPolicy(**policy))  # type: ignore[arg-type]


def state_of(app: OneshotApp, task_id: str) -> TaskState:
    return app.model.tasks[task_id].state


def child_pid(app: OneshotApp, task_id: str) -> int:
    child = app.orch.tasks[task_id].child
    assert child is not None
    return child.pid


async def test_the_badge_follows_running_idle_running_completed(data_dir: Path) -> None:
    clock = FakeClock()
    app = make_app([quiet("agent", idle_threshold=2.0)], FAST, data_dir=data_dir, clock=clock)
    async with app.run_test(size=(100, 24)) as pilot:
        await until(pilot, lambda: "hello" in pane_rows(app))
        assert " running " in title_text(app) and "running" in list_row(app, 0)
        clock.advance(5)  # silent for 5 s on the engine's clock: the heartbeat sees it idle
        await until(pilot, lambda: state_of(app, "agent") is TaskState.IDLE)
        await pilot.pause()
        assert " idle " in title_text(app) and "up 5.0s · silent for 5.0s" in title_text(app)
        assert "idle" in list_row(app, 0)
        os.kill(child_pid(app, "agent"), signal.SIGUSR1)  # it speaks: running again
        await until(pilot, lambda: "awake" in pane_rows(app))
        assert state_of(app, "agent") is TaskState.RUNNING
        assert " running " in title_text(app)
        os.kill(child_pid(app, "agent"), signal.SIGUSR2)  # it exits 0
        await until(pilot, lambda: state_of(app, "agent") is TaskState.COMPLETED)
        await pilot.pause()
        assert " completed " in title_text(app) and "exit 0" in title_text(app)
        assert "completed" in list_row(app, 0)
        # Ended: no interrupt or kill for it any more (greyed), but a restart is possible.
        screen = main_screen(app)
        assert screen.check_action("interrupt", ()) is None
        assert screen.check_action("kill", ()) is None
        assert screen.check_action("restart", ()) is True
        await stop_app(pilot)


async def test_interrupting_a_task_that_ignores_sigint_ends_it_interrupted(data_dir: Path) -> None:
    spec = TaskSpec("stubborn", (sys.executable, fake("stubborn.py")), policy=TaskPolicy(grace=0.6))
    app = make_app([spec], FAST, data_dir=data_dir)
    async with app.run_test(size=(100, 24)) as pilot:
        await until(pilot, lambda: any(r.startswith("grandchild") for r in pane_rows(app)))
        pids = [int(r.split()[1]) for r in pane_rows(app) if r.startswith(("child", "grand"))]
        assert len(pids) == 2
        await pilot.press("i")
        await until(pilot, lambda: state_of(app, "stubborn") is TaskState.INTERRUPTED)
        await pilot.pause()
        assert " interrupted " in title_text(app) and "SIGKILL" in title_text(app)
        assert not any(pid_alive(pid) for pid in pids)
        await stop_app(pilot)
    assert app.return_code == 1


async def test_restart_starts_attempt_2_in_the_same_pane(data_dir: Path) -> None:
    spec = TaskSpec("echo", (sys.executable, "-c", "import os; print('pid-free output')"))
    app = make_app([spec, quiet("live")], FAST, data_dir=data_dir)
    async with app.run_test(size=(100, 24)) as pilot:
        await until(pilot, lambda: state_of(app, "echo") is TaskState.COMPLETED)
        await pilot.press("r")
        await until(pilot, lambda: app.model.tasks["echo"].attempt == 2)
        await until(pilot, lambda: state_of(app, "echo") is TaskState.COMPLETED)
        await until(pilot, lambda: pane_rows(app)[2] == "pid-free output")
        rows = pane_rows(app)
        assert rows[0] == "pid-free output"
        assert rows[1].startswith("── attempt 2 ──")
        assert "attempt 2" in title_text(app)
        # A live task restarts too: it is stopped, then a new attempt runs in its pane.
        await pilot.press("j")
        await until(pilot, lambda: "hello" in pane_rows(app))
        await pilot.press("r")
        await until(pilot, lambda: app.model.tasks["live"].attempt == 2)
        await until(pilot, lambda: pane_rows(app).count("hello") == 2)
        assert state_of(app, "live") is TaskState.RUNNING
        assert "↻1" in list_row(app, 1)  # restarted once
        await stop_app(pilot)


async def test_quit_with_tasks_running_asks_then_leaves_no_child(data_dir: Path) -> None:
    specs = [
        TaskSpec("stubborn", (sys.executable, fake("stubborn.py")), policy=TaskPolicy(grace=0.6)),
        quiet("polite"),
        quiet("queued"),
    ]
    app = make_app(specs, RunSettings(max_concurrent=2, heartbeat_interval=0.05), data_dir=data_dir)
    async with app.run_test(size=(100, 24)) as pilot:
        await until(pilot, lambda: any(r.startswith("grandchild") for r in pane_rows(app)))
        pids = [int(r.split()[1]) for r in pane_rows(app) if r.startswith(("child", "grand"))]
        await until(pilot, lambda: state_of(app, "polite") is TaskState.RUNNING)
        pids.append(child_pid(app, "polite"))
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, ConfirmQuit))
        await pilot.press("n")  # changed my mind: nothing is stopped
        await until(pilot, lambda: not isinstance(app.screen, ConfirmQuit))
        assert all(pid_alive(pid) for pid in pids) and not app.stopping
        await pilot.press("ctrl+c")  # ctrl+c asks the same question
        await until(pilot, lambda: isinstance(app.screen, ConfirmQuit))
        await pilot.press("y")
        await until(pilot, lambda: app.result is not None)
    assert app.result is not None
    states = {r.task_id: r.state for r in app.result.results}
    assert states == {
        "stubborn": TaskState.INTERRUPTED,
        "polite": TaskState.INTERRUPTED,
        "queued": TaskState.FAILED,  # never started
    }
    assert app.return_code == app.result.exit_code == 1
    assert not any(pid_alive(pid) for pid in pids)


async def test_quit_when_everything_has_ended_needs_no_question(data_dir: Path) -> None:
    app = make_app([TaskSpec("ok", "true")], FAST, data_dir=data_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.model.finished is not None)
        await pilot.pause()
        assert "finished · exit 0" in main_screen(app).status_bar.render().plain
        await pilot.press("q")
        await until(pilot, lambda: app.result is not None)
    assert app.return_code == 0


async def test_exit_on_finish_closes_with_the_headless_exit_code(data_dir: Path) -> None:
    app = make_app(
        [TaskSpec("ok", "true"), TaskSpec("bad", "exit 3")],
        FAST,
        data_dir=data_dir,
        exit_on_finish=True,
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.result is not None)
    assert app.return_code == 1
    assert app.result is not None and {r.exit_code for r in app.result.results} == {0, 3}


async def test_keys_greyed_for_queued_and_idle_interrupt(data_dir: Path) -> None:
    clock = FakeClock()
    specs = [quiet("a", idle_threshold=1.0), quiet("b", idle_threshold=1.0), quiet("c")]
    settings = RunSettings(max_concurrent=2, heartbeat_interval=0.05)
    app = make_app(specs, settings, data_dir=data_dir, clock=clock)
    async with app.run_test(size=(100, 24)) as pilot:
        screen = main_screen(app)
        await until(pilot, lambda: state_of(app, "b") is TaskState.RUNNING)
        await pilot.press("j", "j")  # the queued one
        assert state_of(app, "c") is TaskState.CREATED
        assert screen.check_action("kill", ()) is None  # nothing to kill yet
        assert screen.check_action("restart", ()) is None
        assert screen.check_action("interrupt", ()) is True  # drops it from the queue
        assert screen.check_action("interrupt_idle", ()) is False  # nobody idle: hidden
        clock.advance(3)
        await until(pilot, lambda: state_of(app, "a") is TaskState.IDLE)
        await until(pilot, lambda: state_of(app, "b") is TaskState.IDLE)
        await pilot.press("I")
        await until(pilot, lambda: state_of(app, "a") is TaskState.INTERRUPTED)
        await until(pilot, lambda: state_of(app, "b") is TaskState.INTERRUPTED)
        await until(pilot, lambda: state_of(app, "c") is TaskState.RUNNING)  # got a slot
        await stop_app(pilot)


async def test_follow_new_lines_marker_and_back_to_the_tail(data_dir: Path) -> None:
    script = (
        "import signal, sys, time\n"
        "def more(*_):\n"
        "    print('\\n'.join(f'late {i}' for i in range(50)), flush=True)\n"
        "signal.signal(signal.SIGUSR1, more)\n"
        "print('\\n'.join(f'line {i}' for i in range(3000)), flush=True)\n"
        "while True: time.sleep(0.05)\n"
    )
    spec = TaskSpec("flood", (sys.executable, "-c", script))
    app = make_app([spec], FAST, data_dir=data_dir)
    async with app.run_test(size=(100, 24)) as pilot:
        await until(pilot, lambda: "line 2999" in pane_rows(app))
        view = main_screen(app).pane.output
        # The rows can be painted a frame before the scroll range takes them in: a page up then
        # finds nothing above and changes nothing. Wait until the view is scrolled to its tail.
        await until(pilot, lambda: view.max_scroll_y > 0 and view.scroll_y == view.max_scroll_y)
        # Known: a page up in the app's first moments (while its first frames settle) can be
        # undone by the follow of a late resize; let them settle first.
        await pilot.pause(1.0)
        await pilot.press("pageup")  # the scroll lands after a refresh: wait for it
        await until(pilot, lambda: view.state is not None and not view.state.follow)
        assert view.state is not None
        before = pane_rows(app)
        os.kill(child_pid(app, "flood"), signal.SIGUSR1)
        await until(pilot, lambda: "50 new lines" in pane_rows(app)[-1])
        assert pane_rows(app)[:-1] == before[:-1]  # the reader keeps their place
        await pilot.press("end")
        await pilot.pause()
        assert view.state.follow and "late 49" in pane_rows(app)
        await pilot.press("f")  # follow off: stays put
        assert not view.state.follow
        await stop_app(pilot)


async def test_search_finds_and_steps_through_matches(data_dir: Path) -> None:
    lines = "; ".join(f"print('{w}')" for w in ("alpha", "needle one", "beta", "Needle two", "x"))
    app = make_app([TaskSpec("words", (sys.executable, "-c", lines))], FAST, data_dir=data_dir)
    async with app.run_test(size=(100, 24)) as pilot:
        await until(pilot, lambda: "x" in pane_rows(app))
        screen = main_screen(app)
        assert screen.check_action("search_step", ()) is False
        await pilot.press("slash", *"needle", "enter")
        await pilot.pause()
        assert 'search "needle" 2/2' in title_text(app)
        assert screen.check_action("search_step", ()) is True
        await pilot.press("n")
        assert 'search "needle" 1/2' in title_text(app)
        await pilot.press("N")
        assert 'search "needle" 2/2' in title_text(app)
        # While searching, `/` leaves the footer to n N, and still starts a new search.
        assert screen.check_action("search", ()) is False
        await pilot.press("slash", *"alpha", "enter")
        await pilot.pause()
        assert 'search "alpha" 1/1' in title_text(app)
        await pilot.press("escape")
        assert "search" not in title_text(app)
        await pilot.press("slash", *"nothing", "enter")
        await pilot.pause()
        assert 'search "nothing" no match' in title_text(app)
        await stop_app(pilot)


async def test_zoom_help_and_selection_with_many_tasks(data_dir: Path) -> None:
    specs = [TaskSpec(f"task-{i:02d}", f"echo out-{i:02d}") for i in range(60)]
    app = make_app(specs, RunSettings(max_concurrent=8, heartbeat_interval=0.05), data_dir=data_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = main_screen(app)
        await until(pilot, lambda: app.model.finished is not None)
        for _ in range(45):
            await pilot.press("j")
        assert screen.selected == 45
        await pilot.pause()
        assert "task-45" in title_text(app) and "out-45" in pane_rows(app)
        assert screen.task_list.scroll_y > 0  # the list scrolled to keep the selection in view
        await pilot.press("tab")
        assert screen.selected == 46
        await pilot.press("shift+tab", "shift+tab")
        assert screen.selected == 44
        await pilot.press("z")
        await pilot.pause()
        assert not screen.task_list.display or screen.task_list.size.width == 0
        await pilot.press("z")
        await pilot.pause()
        assert screen.task_list.size.width > 0
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)
        await pilot.press("q")
        await until(pilot, lambda: app.result is not None)
    assert app.return_code == 0


async def test_the_question_goes_away_when_the_tasks_end_meanwhile(data_dir: Path) -> None:
    app = make_app([quiet("brief")], FAST, data_dir=data_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "hello" in pane_rows(app))
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, ConfirmQuit))
        os.kill(child_pid(app, "brief"), signal.SIGUSR2)  # it finishes while we are asked
        await until(pilot, lambda: app.result is not None)
    assert app.return_code == 0


async def test_kill_ends_a_stubborn_task_at_once_with_sigkill(data_dir: Path) -> None:
    # A 60 s grace: if `x` fell back to the ladder, the wait below would time out first.
    spec = TaskSpec("stubborn", (sys.executable, fake("stubborn.py")), policy=TaskPolicy(grace=60))
    app = make_app([spec], FAST, data_dir=data_dir)
    async with app.run_test(size=(100, 24)) as pilot:
        await until(pilot, lambda: any(r.startswith("grandchild") for r in pane_rows(app)))
        pids = [int(r.split()[1]) for r in pane_rows(app) if r.startswith(("child", "grand"))]
        await pilot.press("x")
        await until(pilot, lambda: state_of(app, "stubborn") is TaskState.INTERRUPTED, 30)
        await pilot.pause()
        assert "SIGKILL" in title_text(app)
        assert not any(pid_alive(pid) for pid in pids)
        await stop_app(pilot)


async def test_palette_click_activity_and_step_label(data_dir: Path) -> None:
    from oneshot_tui.core.events import Activity, ProcessStarted
    from oneshot_tui.ui.widgets.task_list import TaskList

    app = make_app([quiet("first"), quiet("second")], FAST, data_dir=data_dir)
    async with app.run_test(size=(100, 24)) as pilot:
        await until(pilot, lambda: state_of(app, "second") is TaskState.RUNNING)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        # The palette names each action as the footer and the help do.
        assert {"Interrupt", "Kill", "Fresh start", "Search", "Next failed"} <= set(titles)
        assert "Continue" not in titles  # no loop here
        assert "Stop idle" not in titles  # nobody is idle
        assert "Run summary" not in titles  # not every task has ended
        # Textual's own entries that are not this app's are left out; Quit and Theme stay.
        assert {"Quit", "Theme"} <= set(titles) and not {"Keys", "Screenshot"} & set(titles)
        assert {"Wrap lines", "Select lines"} <= set(titles)
        await pilot.click(TaskList, offset=(3, 1))
        assert main_screen(app).selected == 1 and "second" in title_text(app)
        bus = app.orch.bus
        activity = Activity("second", 1, 0.0, "tool", "Read src/main.py\nmore")
        step = ProcessStarted("second", 1, 1, 0.0, "/dev/null", "auditor #1")
        assert app.local is not None
        app.local.call(bus.publish, step)  # as if the engine said so
        app.local.call(bus.publish, activity)
        await until(pilot, lambda: "Read src/main.py" in title_text(app))
        assert "· auditor #1" in title_text(app) and "more" not in title_text(app)
        await stop_app(pilot)


async def test_a_chosen_theme_is_kept_for_the_next_run(data_dir: Path) -> None:
    from oneshot_tui.ui import preferences

    app = make_app([quiet("one")], FAST, data_dir=data_dir)
    async with app.run_test(size=(100, 24)) as pilot:
        await until(pilot, lambda: state_of(app, "one") is TaskState.RUNNING)
        assert app.theme != "nord"
        app.theme = "nord"  # as the palette's Theme command does
        await until(pilot, lambda: preferences.load(data_dir).get("theme") == "nord")
        await stop_app(pilot)
    again = make_app([quiet("two")], FAST, data_dir=data_dir)
    async with again.run_test(size=(100, 24)) as pilot:
        await pilot.pause()
        assert again.theme == "nord"
        await stop_app(pilot)
    # A broken file is no choice, not an error.
    (data_dir / preferences.FILE).write_text("{not json")
    assert preferences.load(data_dir) == {}


async def test_quit_again_while_stopping_kills_at_once(data_dir: Path) -> None:
    # A 60 s grace: the run can only end within the wait below if the second quit kills.
    spec = TaskSpec("stubborn", (sys.executable, fake("stubborn.py")), policy=TaskPolicy(grace=60))
    app = make_app([spec], FAST, data_dir=data_dir)
    async with app.run_test(size=(100, 24)) as pilot:
        await until(pilot, lambda: any(r.startswith("grandchild") for r in pane_rows(app)))
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, ConfirmQuit))
        await pilot.press("y")
        await until(pilot, lambda: "stopping" in main_screen(app).status_bar.render().plain)
        assert main_screen(app).check_action("restart", ()) is None  # no restarts while stopping
        await pilot.press("q")
        await until(pilot, lambda: app.result is not None, timeout=30)
    assert app.result is not None and app.result.results[0].state is TaskState.INTERRUPTED


def painted(app: OneshotApp) -> str:
    """The screen as the terminal would show it (not what a widget would render now)."""
    return html.unescape(app.export_screenshot()).replace("\xa0", " ")


async def test_a_queued_pane_says_so_then_no_output_yet_once_it_runs(data_dir: Path) -> None:
    specs = [
        TaskSpec("first", (sys.executable, "-c", "import time; time.sleep(1)")),
        TaskSpec("silent", (sys.executable, fake("quiet.py"), "--silent")),
    ]
    app = make_app(specs, RunSettings(max_concurrent=1, heartbeat_interval=0.05), data_dir=data_dir)
    async with app.run_test(size=(100, 24)) as pilot:
        await pilot.press("j")
        await until(pilot, lambda: "(queued: waiting for a free slot)" in painted(app))
        await until(pilot, lambda: state_of(app, "silent") is TaskState.RUNNING)
        await until(pilot, lambda: "(no output yet)" in painted(app), timeout=5)
        await stop_app(pilot)


async def test_a_adds_a_task_through_the_form_and_a_bad_one_is_refused(data_dir: Path) -> None:
    app = make_app([quiet("first")], FAST, data_dir=data_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: state_of(app, "first") is TaskState.RUNNING)
        await pilot.press("a")
        await pilot.press(*"echo from the form")
        await pilot.press("enter")
        await until(pilot, lambda: state_of(app, "echo-from-the") is TaskState.COMPLETED)
        assert app.model.order == ["first", "echo-from-the"]
        await pilot.press("a")
        await pilot.press(*"true", "tab")  # the command, then to the name field
        await pilot.press(*"first", "enter")  # a name that is taken
        await until(
            pilot, lambda: any("duplicate task name" in str(n.message) for n in app._notifications)
        )
        assert app.model.order == ["first", "echo-from-the"]
        await stop_app(pilot)
