"""`oneshot-tui stats` against a history made by real runs: real claude against the fake model
server (whose tokens, and so claude's own cost, are known), next to plain commands."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.agents.clis import require_clis, setup
from tests.fakes.model_server import INPUT_TOKENS, OUTPUT_TOKENS, FakeModelServer
from tests.helpers import cli_argv

pytestmark = pytest.mark.contract

OPUS_PRICE = (5e-6, 25e-6)
"""USD per input and output token of claude's default model, as claude prices it itself (its
transcripts in tests/agents/transcripts: 12 in + 7 out = $0.000235)."""


def toml_table(env: dict[str, str]) -> str:
    return "{" + ", ".join(f"{k} = {json.dumps(v)}" for k, v in env.items()) + "}"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*cli_argv(), *args], capture_output=True, text=True, timeout=300, check=False
    )


def stats(data_dir: Path, *args: str) -> Any:
    proc = cli("stats", "--data-dir", str(data_dir), "--json", *args)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_stats_of_real_claude_runs_add_up_to_what_the_server_served(tmp_path: Path) -> None:
    require_clis()
    data_dir = tmp_path / "data"
    with FakeModelServer() as server:
        env, _ = setup("claude", tmp_path / "home", server.url)
        work = tmp_path / "work"
        work.mkdir()
        task_file = tmp_path / "tasks.toml"
        task_file.write_text(
            f"""
[[task]]
name = "talk"
agent = "claude"
prompt = "say hello"
cwd = {json.dumps(str(work))}
env = {toml_table(env)}

[[task]]
name = "tool"
agent = "claude"
prompt = "RUN_TOOL: echo hi"
cwd = {json.dumps(str(work))}
env = {toml_table(env)}

[[task]]
name = "spin"
command = "python3 -c 'sum(range(10**7))'"

[[task]]
name = "broken"
command = "exit 3"
"""
        )
        for _ in range(2):  # two runs of the same file
            run = cli("run", "--no-ui", "--data-dir", str(data_dir), str(task_file))
            assert run.returncode == 1, run.stderr  # "broken" fails
    # Per run: "talk" is one turn, "tool" two (the tool call, then the answer to its output).
    turns = 2 * 3
    turn_cost = INPUT_TOKENS * OPUS_PRICE[0] + OUTPUT_TOKENS * OPUS_PRICE[1]
    doc = stats(data_dir, "--by", "agent")
    total = doc["total"]
    assert (total["runs"], total["tasks"], total["ended"]) == (2, 8, 8)
    assert total["states"] == {"completed": 6, "failed": 2, "interrupted": 0, "unfinished": 0}
    assert total["success_rate"] == pytest.approx(6 / 8)
    assert (total["attempts"], total["restarts"], total["retries"]) == (8, 0, 0)
    assert (total["input_tokens"], total["output_tokens"]) == (
        turns * INPUT_TOKENS,
        turns * OUTPUT_TOKENS,
    )
    assert total["cost_measured"] == pytest.approx(turns * turn_cost)
    assert total["cost_estimated"] is None  # claude reports its cost: nothing is estimated
    assert total["tool_calls"] == 2
    assert total["agent_tasks"] == 4
    groups = {g["key"]: g for g in doc["groups"]}
    assert set(groups) == {"claude", "(command)"}
    assert groups["claude"]["cost_measured"] == pytest.approx(total["cost_measured"])
    assert groups["(command)"]["states"]["failed"] == 2
    assert groups["(command)"]["cost_measured"] is None
    # The burn rate is the window's cost spread over its span.
    assert doc["burn"]["cost_usd_per_hour"] == pytest.approx(
        total["cost_measured"] * 3600 / doc["window_seconds"]
    )

    by_task = {g["key"]: g for g in stats(data_dir, "--by", "task")["groups"]}
    assert by_task["tool"]["tool_calls"] == 2 and by_task["talk"]["tool_calls"] == 0
    assert by_task["spin"]["cpu_seconds"] > 0  # measured at the process's end (wait4)
    assert by_task["broken"]["success_rate"] == 0.0
    runs = stats(data_dir, "--by", "run")["groups"]
    assert [r["tasks"] for r in runs] == [4, 4]
    assert [r["cost_measured"] for r in runs] == pytest.approx([turns * turn_cost / 2] * 2)
    assert stats(data_dir, "--since", "2999-01-01")["total"]["runs"] == 0

    text = cli("stats", "--data-dir", str(data_dir), "--by", "agent")
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert "tasks         8: 6 completed, 2 failed, 0 interrupted, 0 not ended" in lines
    assert "success rate  75.0%" in lines
    assert "tool calls    2" in lines
    [burn] = [line for line in lines if line.startswith("burn rate")]
    assert "/h, " in burn and " tok/h, " in burn and " CPU/h over " in burn
    header = next(line for line in lines if line.startswith("AGENT"))
    claude = next(line for line in lines if line.startswith("claude"))
    assert len(claude) == len(header)  # the figures line up under their headers, on the right


def test_a_limit_waited_out_counts_as_a_retry(tmp_path: Path) -> None:
    require_clis()
    data_dir = tmp_path / "data"
    with FakeModelServer() as server:
        env, _ = setup("claude", tmp_path / "home", server.url)
        work = tmp_path / "work"
        work.mkdir()
        task_file = tmp_path / "tasks.toml"
        prompt = "FAKE_RATE_LIMIT_AFTER_TOOL:1 seconds\nRUN_TOOL: echo one"
        task_file.write_text(
            f"""
[[task]]
name = "limited"
agent = "claude"
prompt = {json.dumps(prompt)}
retry_on_rate_limit = 2
rate_limit_backoff = "1s"
cwd = {json.dumps(str(work))}
env = {toml_table(env)}
"""
        )
        run = cli("run", "--no-ui", "--data-dir", str(data_dir), str(task_file))
        assert run.returncode == 0, run.stderr
    total = stats(data_dir)["total"]
    assert (total["retries"], total["restarts"], total["attempts"]) == (1, 0, 1)
    assert total["states"]["completed"] == 1
