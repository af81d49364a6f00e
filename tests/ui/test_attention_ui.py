"""Attention in the TUI: a task that needs you is marked in the list and counted in the status
bar, `!` jumps to it, and looking at it clears the mark (in the engine, for every client); the
TUI rings its own terminal (OSC read from a real pty)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from oneshot_tui.core.spec import RunSettings, TaskSpec
from oneshot_tui.ui.app import make_app
from tests.fakes import fake
from tests.helpers import cli_argv
from tests.ui.driving import list_row, main_screen, stop_app, until

FAST = RunSettings(max_concurrent=4, heartbeat_interval=0.05)


async def test_a_failed_task_is_marked_counted_and_cleared_by_looking(data_dir: Path) -> None:
    specs = [
        TaskSpec("watch", (sys.executable, fake("quiet.py"), "hello")),
        TaskSpec("bad", (sys.executable, "-c", "raise SystemExit(3)")),
    ]
    app = make_app(specs, FAST, data_dir=data_dir)
    async with app.run_test(size=(100, 24)) as pilot:
        await until(pilot, lambda: app.model.tasks["bad"].needs == "failed: exit 3")
        await pilot.pause()
        screen = main_screen(app)
        assert list_row(app, 1).startswith(" ✘ !bad")
        assert "! 1" in screen.status_bar.render().plain
        assert screen.check_action("next_needing", ()) is True
        assert screen.selected == 0  # the mark stays while you look elsewhere
        await pilot.press("exclamation_mark")
        assert screen.selected == 1
        await until(pilot, lambda: app.model.tasks["bad"].needs == "")
        assert app.orch.attention.reason("bad") is None  # cleared in the engine itself
        await pilot.pause()
        assert list_row(app, 1).startswith(" ✘ bad")  # the mark column gone
        assert "! 1" not in screen.status_bar.render().plain
        await stop_app(pilot)


def test_the_tui_writes_osc_notifications_to_its_terminal(tmp_path: Path) -> None:
    tasks = tmp_path / "bad.toml"
    tasks.write_text(
        f'[[task]]\nname = "bad"\ncommand = "{sys.executable} -c \'raise SystemExit(3)\'"\n'
    )
    env = {**os.environ, "ONESHOT_TUI_HOME": str(tmp_path / "data"), "TERM": "xterm-256color"}
    env.pop("TMUX", None)
    leader, follower = pty.openpty()
    os.set_blocking(leader, True)
    proc = subprocess.Popen(
        [*cli_argv(), "run", "--notify", "osc", str(tasks)],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=env,
        start_new_session=True,
    )
    os.close(follower)
    out, deadline = b"", time.monotonic() + 60
    try:
        while b"\x1b]777;notify;bad needs you;failed: exit 3\x07" not in out:
            assert time.monotonic() < deadline, out[-2000:]
            if select.select([leader], [], [], 0.1)[0]:
                out += os.read(leader, 65536)
        os.write(leader, b"q")
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(leader)
    assert b"\x1b]9;bad needs you: failed: exit 3\x07" in out
