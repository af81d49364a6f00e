"""Agent tasks in task files and on the command line; mistakes are reported at file:line."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from oneshot_tui.config import ConfigError, load_run_config
from oneshot_tui.core.spec import AgentSettings, Budget
from tests.helpers import cli_argv


def load(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "tasks.toml"
    path.write_text(text)
    return load_run_config(path, cwd=tmp_path, user_config=tmp_path / "none.toml")


def test_agent_tasks_from_a_file(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
[[task]]
agent = "claude"
prompt = "fix the bug"
model = "sonnet"
args = ["--add-dir", "../lib"]
max_cost_usd = 0.5
max_tokens = 100000
max_tool_calls = 40
retry_on_rate_limit = true
rate_limit_backoff = "10s"

[[task]]
executor = "claude"
prompt = "write the docs"

[[task]]
agent = "direct"
prompt = "hello"
model = "llama3.2"
base_url = "http://localhost:8080/v1"
api_key = "sk-x"
""",
    )
    first, second, third = config.specs
    assert (first.name, second.name, third.name) == ("claude", "claude-2", "direct")
    assert first.kind == "agent" and first.command == ("claude", "fix the bug")
    assert first.agent == AgentSettings(
        "claude",
        "fix the bug",
        model="sonnet",
        args=("--add-dir", "../lib"),
        budget=Budget(0.5, 100000, 40),
        retry_on_rate_limit=3,
        rate_limit_backoff=10.0,
    )
    assert third.agent is not None and third.agent.api_key == "sk-x"
    assert "sk-x" not in repr(third)


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        ('agent = "gpt"\nprompt = "x"', 3, '"agent": expected one of claude, codex'),
        ('agent = "claude"\ncommand = "ls"\nprompt = "x"', 4, 'has both "agent" and "command"'),
        ('agent = "claude"', 2, 'agent task #1 has no "prompt"'),
        ('agent = "claude"\nprompt = "x"\nmax_cost_usd = "lots"', 5, '"max_cost_usd": expected a'),
        ('agent = "claude"\nprompt = "x"\nmax_tool_calls = -1', 5, '"max_tool_calls": must be'),
        ('agent = "claude"\nprompt = "x"\nbase_url = "http://h"', 5, 'for the "direct" agent'),
        ('agent = "direct"\nprompt = "x"', 3, '"direct" needs a "model"'),
        ('command = "ls"\nprompt = "x"', 4, '"prompt" is for agent tasks'),
        ('agent = "claude"\nexecutor = "codex"\nprompt = "x"', 4, "mean the same"),
        ('agent = "claude"\nprompt = "x"\nargs = "--fast"', 5, '"args": expected a list'),
    ],
)
def test_mistakes_are_located(tmp_path: Path, body: str, line: int, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load(tmp_path, f"\n[[task]]\n{body}\n")
    assert err.value.line == line, str(err.value)
    assert message in err.value.message


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*cli_argv(), *args], capture_output=True, text=True, timeout=60, env=env, check=False
    )


def test_run_an_agent_from_the_command_line_names_a_missing_package(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(Path(cli_argv()[0]).parent)}  # our venv only: no claude
    proc = run_cli("run", "-a", "claude", "-p", "fix it", "--no-ui", env=env)
    assert proc.returncode == 1
    assert "npm install -g @anthropic-ai/claude-code" in proc.stderr
    assert "claude | ✗ error: claude not found on PATH" in proc.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-p", "hi"], "-p/--prompt needs -a AGENT"),
        (["-a", "claude"], "-a claude needs -p PROMPT"),
        (["-a", "direct", "-p", "hi"], "-a direct needs --model MODEL"),
    ],
)
def test_agent_flag_mistakes_are_usage_errors(args: list[str], message: str) -> None:
    proc = run_cli("run", *args, "--no-ui", env=dict(os.environ))
    assert proc.returncode == 2
    assert message in proc.stderr
