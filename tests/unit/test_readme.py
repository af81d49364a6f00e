"""The README's two commands are the ones CI and users actually run."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    quick = text[text.index("## Quick start") : text.index("## Running tasks")]
    return re.findall(r"```sh\n(.+?)\n```", quick)


def test_the_readme_has_exactly_two_setup_commands() -> None:
    commands = readme_commands()
    assert len(commands) == 2
    assert "examples/demo.toml" in commands[0]
    assert "pytest" in commands[1]
    assert (ROOT / "examples" / "demo.toml").is_file()


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert readme_commands()[1] in ci.splitlines()
