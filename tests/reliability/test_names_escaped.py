"""Task names never reach the terminal as control sequences: a name holding `\\e]2;TITLE\\a`
(an OSC that retitles the terminal) or a newline is shown escaped, on one line, in the headless
summary, in `show`, and in the TUI's list, pane title and exit summary (`core/printable.py`)."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from tests.helpers import cli_argv
from tests.ui.tmux import Tmux, environment, needs_tmux

TITLED = "a\x1b]2;PWNED-NAME\x07b"
TWO_LINES = "first\nsecond"
ESCAPED = "a\\x1b]2;PWNED-NAME\\x07b"


def _task_file(tmp_path: Path, command: str) -> Path:
    path = tmp_path / "t.toml"
    path.write_text(
        '[[task]]\nname = "a\\u001b]2;PWNED-NAME\\u0007b"\n'
        f"command = {command!r}\n"
        '[[task]]\nname = "first\\nsecond"\ncommand = "exit 3"\n'
    )
    return path


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*cli_argv(), *args], capture_output=True, text=True, cwd=cwd, check=False, timeout=60
    )


def test_the_headless_summary_and_show_print_names_escaped_one_line_each(tmp_path: Path) -> None:
    proc = _cli("run", "--no-ui", str(_task_file(tmp_path, "echo hi")), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    for text in (proc.stdout, proc.stderr):
        assert "\x1b]" not in text and "\x07" not in text
    assert f"{ESCAPED} | hi" in proc.stdout
    rows = {line.split()[0]: line for line in proc.stderr.splitlines() if line.strip()}
    assert rows[ESCAPED].split()[1] == "completed"
    assert rows["first\\nsecond"].split()[1:3] == ["failed", "3"]  # the row is whole
    assert not any(line.startswith("second") for line in proc.stderr.splitlines())
    shown = _cli("show", "last", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "\x1b]" not in shown.stdout and "\x07" not in shown.stdout
    assert ESCAPED in shown.stdout
    assert not any(line.startswith("second") for line in shown.stdout.splitlines())


@needs_tmux
def test_the_tui_never_lets_a_name_retitle_the_terminal(tmux: Tmux, tmp_path: Path) -> None:
    task_file = _task_file(tmp_path, "echo ready; sleep 30")
    tmux.start(
        shlex.join([*cli_argv(), "run", "--grace", "1", str(task_file)]), environment(tmp_path)
    )
    screen = tmux.wait_text("ready")
    assert "PWNED" not in tmux.show("#{pane_title}")
    assert ESCAPED[:12] in screen  # the list (and the pane title) show it escaped
    tmux.keys("q")
    tmux.wait_text("still running")
    tmux.keys("y")
    screen = tmux.wait_text("EXIT=")
    assert "PWNED" not in tmux.show("#{pane_title}")
    assert ESCAPED in screen  # the exit summary too
