"""What no process could run is a config error at its file:line (exit 2) before anything
starts, never an internal error at run time: a NUL byte in a command (string or argv list)
or in a cwd, and a cwd that is a file."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers import cli_argv


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[[task]]\ncommand = "echo a\\u0000b"\n', ':2: "command" contains a NUL byte'),
        (
            '[[task]]\nname = "t"\n\ncommand = ["echo", "ok", "a\\u0000b"]\n',
            ':4: "command": element 3 contains a NUL byte',
        ),
        ('[[task]]\ncommand = "true"\ncwd = "a\\u0000b"\n', ':3: "cwd" contains a NUL byte'),
        ('[[task]]\ncommand = "true"\ncwd = "plain-file"\n', ':3: "cwd" is not a directory: '),
    ],
)
def test_unrunnable_commands_and_cwds_are_config_errors_with_file_and_line(
    tmp_path: Path, content: str, message: str
) -> None:
    (tmp_path / "plain-file").write_text("not a directory\n")
    path = tmp_path / "bad.toml"
    path.write_text(content)
    for mode in ("--no-ui", "--json"):
        proc = subprocess.run(
            [*cli_argv(), "run", str(path), mode],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert proc.returncode == 2, proc.stderr
        assert f"{path}{message}" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert not (Path(os.environ["ONESHOT_TUI_HOME"]) / "runs").exists()
