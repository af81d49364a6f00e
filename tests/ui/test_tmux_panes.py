"""Panes that show what the task drew, in a real terminal (tmux), read with `capture-pane -e`:
a line still being written (pipe and PTY), a redraw in place, the PTY's size following the pane,
the terminal's own colours, stdout and stderr in the order written, and typing into a PTY task
(input mode, and `send` from another shell)."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from tests.fakes import fake
from tests.helpers import cli_argv
from tests.ui.tmux import Tmux, environment, needs_tmux

pytestmark = needs_tmux


def task_file(tmp_path: Path, *tasks: tuple[str, str | list[str], bool]) -> Path:
    """A task file: (name, command, pty) each."""
    body = ""
    for name, command, pty in tasks:
        # JSON strings and arrays are TOML ones.
        value = json.dumps(command)
        body += f'[[task]]\nname = "{name}"\ncommand = {value}\npty = {str(pty).lower()}\n\n'
    path = tmp_path / "tasks.toml"
    path.write_text(body)
    return path


def start(tmux: Tmux, tmp_path: Path, tasks: Path, size: tuple[int, int] = (100, 24)) -> None:
    command = shlex.join([*cli_argv(), "run", "--idle-threshold", "off", str(tasks)])
    tmux.start(command, environment(tmp_path), size=size)


def colours(tmux: Tmux) -> str:
    return tmux.run("capture-pane", "-p", "-e", "-t", "t")


def drawing(mode: str, gate: Path) -> list[str]:
    return [sys.executable, fake("drawing.py"), mode, str(gate)]


def test_an_unfinished_line_shows_its_latest_state_as_it_changes(
    tmux: Tmux, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    gate.mkdir()
    tasks = task_file(
        tmp_path,
        ("pipe", drawing("progress", gate), False),
        ("term", drawing("progress", gate), True),
    )
    start(tmux, tmp_path, tasks)
    for task in ("pipe", "term"):
        if task == "term":
            tmux.keys("j")
        screen = tmux.wait_text("fetch 1/3 #")
        assert "running" in screen
    (gate / "go1").touch()
    screen = tmux.wait_text("fetch 2/3 ##")
    assert "fetch 1/3" not in screen  # rewritten in place, not a line each
    tmux.keys("k")
    screen = tmux.wait_text("fetch 2/3 ##")
    assert "fetch 1/3" not in screen and "(no output yet)" not in screen
    (gate / "go2").touch()
    (gate / "go3").touch()
    screen = tmux.wait_text("fetched")
    assert "fetch 3/3" not in screen


def test_a_pty_redraw_in_place_replaces_the_lines(tmux: Tmux, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    gate.mkdir()
    start(tmux, tmp_path, task_file(tmp_path, ("pull", drawing("layers", gate), True)))
    tmux.wait_text("layer b: 10%")
    (gate / "go1").touch()
    screen = tmux.wait_text("layer b: 70%")
    assert "layer a: 50%" in screen and "10%" not in screen
    (gate / "go2").touch()
    screen = tmux.wait_text("layer b: done")
    assert screen.count("layer a") == 1 and screen.count("layer b") == 1
    (gate / "go3").touch()
    screen = tmux.wait_text("completed")
    assert screen.count("layer a: done") == 1  # the final screen, kept once
    # The log keeps the raw bytes, cursor moves and all.
    [log] = (tmp_path / "data" / "runs").glob("*/pull.log")
    assert b"\x1b[2Alayer a: 50%" in log.read_bytes()


def test_a_pty_is_the_size_of_the_pane_and_follows_it(tmux: Tmux, tmp_path: Path) -> None:
    # On every SIGWINCH (and at the start): its width, and a row of # exactly that wide.
    script = (
        'show() { c=$(tput cols); echo cols=$c; printf "%$((c - 1))s|\\n" | tr " " "#"; }; '
        "trap show WINCH; show; while true; do sleep 0.05; done"
    )
    start(tmux, tmp_path, task_file(tmp_path, ("size", script, True)), size=(100, 24))
    tmux.keys("z")  # zoomed: the pane is the window's width

    def last_cols(screen: str) -> int | None:
        found = re.findall(r"cols=(\d+)", screen)
        return int(found[-1]) if found else None

    def row_fits(screen: str, cols: int) -> bool:
        # The row of # is cols - 1 wide plus "|": whole on screen, so the pane is that wide.
        return any(line.strip().endswith("#" * (cols - 1) + "|") for line in screen.splitlines())

    # Zoomed in a 100-column window: the pane is nearly all of it (at most a border and the
    # scrollbar less); the unzoomed pane is far narrower.
    screen = tmux.wait_for(
        lambda s: (c := last_cols(s)) is not None and 95 <= c < 100 and row_fits(s, c)
    )
    before = last_cols(screen)
    assert before is not None
    tmux.run("resize-window", "-t", "t", "-x", "130", "-y", "30")
    tmux.wait_for(lambda s: last_cols(s) == before + 30 and row_fits(s, before + 30))
    tmux.keys("z")  # unzoomed: narrower, the list takes its share
    tmux.wait_for(lambda s: (c := last_cols(s)) is not None and c < before and row_fits(s, c))


def test_ansi_colours_are_the_terminals_own(tmux: Tmux, tmp_path: Path) -> None:
    script = "printf '\\033[31mred-text\\033[0m \\033[35mmagenta-text\\033[0m\\n'; sleep 30"
    start(tmux, tmp_path, task_file(tmp_path, ("pipe", script, False), ("term", script, True)))
    for _ in ("pipe", "term"):
        tmux.wait_text("magenta-text")
        screen = colours(tmux)
        line = next(line for line in screen.splitlines() if "red-text" in line)
        # Colours 1 and 5 of the terminal (a background may be set in between), not one
        # theme colour for both.
        for sgr, text in (("31", "red-text"), ("35", "magenta-text")):
            assert re.search(rf"\x1b\[{sgr}m(\x1b\[[0-9;]*m)*{text}", line), repr(line)
        tmux.keys("j")


def test_stdout_and_stderr_show_in_the_order_written(tmux: Tmux, tmp_path: Path) -> None:
    script = "for i in 1 2 3 4 5 6; do echo out $i; echo err $i >&2; done; sleep 30"
    start(tmux, tmp_path, task_file(tmp_path, ("order", script, False)))
    screen = tmux.wait_text("err 6")
    rows = [m.group() for m in re.finditer(r"(out|err) \d", screen)]
    assert rows == [f"{s} {i}" for i in range(1, 7) for s in ("out", "err")]


def test_long_lines_wrap_and_search_and_follow_work_wrapped(tmux: Tmux, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    gate.mkdir()
    start(tmux, tmp_path, task_file(tmp_path, ("long", drawing("long", gate), False)))
    # Wrapped (the default): the long line's start and its end, 300 columns on, both in view.
    screen = tmux.wait_text("END")
    assert "START" in screen
    rows = [line for line in screen.splitlines() if "xxxxxxxxxx" in line]
    assert len(rows) >= 5  # 305 characters in a pane of some 60 columns
    tmux.keys("w")  # cut: the line's end is off to the right
    tmux.wait_for(lambda s: "START" in s and "END" not in s)
    tmux.keys("w")
    tmux.wait_for(lambda s: "START" in s and "END" in s)
    # Search finds a match on the last row of a wrapped line far above, and shows it.
    tmux.keys("/")
    tmux.wait_text("search the output")  # the field has the keys now (D would detach)
    tmux.keys("NEEDLE", "Enter")
    screen = tmux.wait_text("NEEDLE")
    assert "early yyy" in screen and "1/1" in screen
    assert "END" not in screen  # scrolled up, not following
    # Back to following: a line that arrives shows below the wrapped one.
    tmux.keys("G")
    (gate / "go1").touch()
    screen = tmux.wait_text("after the gate")
    assert "END" in screen


def test_lines_selected_with_the_keyboard_are_copied_through_osc52(
    tmux: Tmux, tmp_path: Path
) -> None:
    script = "printf 'alpha one\\nbeta two\\ngamma three\\n'; sleep 30"
    conf = tmp_path / "tmux.conf"
    conf.write_text("set -g set-clipboard on\n")  # an OSC 52 from the app makes a paste buffer
    command = shlex.join([*cli_argv(), "run", "--idle-threshold", "off", "-c", f"words={script}"])
    tmux.start(command, environment(tmp_path), size=(100, 24), config=conf)
    tmux.wait_text("gamma three")
    tmux.keys("V")  # the last line in view
    tmux.wait_text("1 line selected")
    tmux.keys("k")  # and the one above
    tmux.wait_text("2 lines selected")
    tmux.keys("y")
    tmux.wait_text("copied 2 lines")
    assert tmux.run("show-buffer") == "beta two\ngamma three"
    # Nothing selected: y has nothing to copy (a command task has no result).
    tmux.run("delete-buffer")
    tmux.keys("y")
    tmux.wait_for(lambda s: "lines selected" not in s)
    assert tmux.buffers() == ""


def test_a_pty_task_takes_input_from_input_mode_and_from_send(tmux: Tmux, tmp_path: Path) -> None:
    asks = [sys.executable, fake("proceed.py")]
    tasks = task_file(tmp_path, ("keys", asks, True), ("sent", asks, True), ("pipe", asks, False))
    start(tmux, tmp_path, tasks, size=(110, 24))
    tmux.wait_text("Proceed? [y/N]")
    tmux.keys("t")
    tmux.wait_text("typing into keys")
    tmux.keys("y", "Enter")
    screen = tmux.wait_text("proceeding")
    assert "answer: 'y'" in screen
    tmux.keys("C-a")  # leaves input mode: keys are the app's again
    tmux.wait_for(lambda s: "typing into" not in s)
    tmux.keys("j")
    tmux.wait_text("Proceed? [y/N]")

    def send(task: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*cli_argv(), "send", "last", task, "y"],
            env={**os.environ, **environment(tmp_path)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    sent = send("sent")
    assert sent.returncode == 0, sent.stderr
    screen = tmux.wait_text("proceeding")
    assert "answer: 'y'" in screen
    refused = send("pipe")
    assert refused.returncode == 1
    assert "pty = true" in refused.stderr


def test_headless_on_a_terminal_shows_the_unfinished_line_after_its_name(
    tmux: Tmux, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    gate.mkdir()
    tasks = task_file(tmp_path, ("download", drawing("progress", gate), False))
    command = shlex.join([*cli_argv(), "run", "--no-ui", str(tasks)])
    tmux.start(command, environment(tmp_path))
    tmux.wait_text("download | fetch 1/3 #")
    (gate / "go1").touch()
    screen = tmux.wait_text("download | fetch 2/3 ##")
    assert "fetch 1/3" not in screen
    (gate / "go2").touch()
    (gate / "go3").touch()
    screen = tmux.wait_text("EXIT=0")
    assert "download | fetched" in screen and "fetch 3/3" not in screen
