"""Names of `-c` tasks: made from the command's words, or given as NAME=command."""

from __future__ import annotations

from pathlib import Path

import pytest

from oneshot_tui.config import ConfigError
from oneshot_tui.config.command_names import name_from_command, split_named
from oneshot_tui.config.loader import load_run_config


@pytest.mark.parametrize(
    ("command", "name"),
    [
        ("make test", "make-test"),
        ("make lint", "make-lint"),
        ("cd sub && make", "cd-sub-make"),
        ("FOO=1 ./scripts/run.sh -v fast", "run.sh-fast"),  # variables and options skipped
        ("ls|wc -l", "ls-wc"),
        ("python3 -m pytest tests/unit -q", "python3-pytest"),  # at most 24 characters
        ('echo "unclosed', "echo"),  # the shell will say what is wrong; a name all the same
        ("printf 'one\\ntwo\\n'", "printf"),  # quoted text and escapes make no name
        ("echo $HOME x", "echo-x"),
        ("true", "true"),
        ("&&", "task"),
    ],
)
def test_a_name_from_the_command(command: str, name: str) -> None:
    assert name_from_command(command) == name


@pytest.mark.parametrize(
    ("arg", "split"),
    [
        ("test=make test", ("test", "make test")),
        ("a.b-c_d=echo hi", ("a.b-c_d", "echo hi")),
        ("FOO=1 make", (None, "FOO=1 make")),  # uppercase: the shell's variable
        ("Name=echo", (None, "Name=echo")),
        ("x=", (None, "x=")),  # nothing to run: a command (the shell's assignment)
        ("x=  ", (None, "x=  ")),
        ("build=foo=1 make", ("build", "foo=1 make")),
    ],
)
def test_name_equals_command_only_for_a_task_name(arg: str, split: tuple[str | None, str]) -> None:
    assert split_named(arg) == split


def test_the_loader_names_c_tasks_and_refuses_a_name_twice(tmp_path: Path) -> None:
    commands = ["make test", "make test", "lint=make lint", "FOO=1 make"]
    config = load_run_config(None, commands=commands, cwd=tmp_path)
    names = [spec.name for spec in config.specs]
    assert names == ["make-test", "make-test-2", "lint", "make"]
    assert config.specs[2].command == "make lint"
    assert config.specs[3].command == "FOO=1 make"
    with pytest.raises(ConfigError, match='duplicate task name "lint"'):
        load_run_config(None, commands=["lint=true", "lint=false"], cwd=tmp_path)
