"""The `oneshot` console script: one loop on the console, --async, config files, --resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers import pid_alive
from tests.loop_helpers import ScriptedAgents, verdict


def oneshot_argv() -> list[str]:
    script = Path(sys.executable).parent / "oneshot"
    return [str(script)] if script.exists() else [sys.executable, "-m", "oneshot_tui.cli.oneshot"]


def run(
    agents: ScriptedAgents, *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*oneshot_argv(), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **agents.env, **(env or {})},
        timeout=120,
        check=False,
    )


def test_a_retry_then_done_exits_0_with_live_lines(tmp_path: Path) -> None:
    agents = ScriptedAgents(
        tmp_path,
        [
            {"result": "wrote it"},
            verdict("RETRY", "add tests"),
            {"result": "added tests"},
            verdict("DONE", "good"),
        ],
    )
    proc = run(agents, "Write a parser", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "── worker #1 of 3 ──"
    assert "⚖ RETRY: add tests" in lines and "⚖ DONE: good" in lines
    assert "add tests" in agents.prompts()[2]
    assert "✔ completed: DONE after 2 iterations" in proc.stderr


def test_impossible_and_exhausted_loops_exit_1(tmp_path: Path) -> None:
    agents = ScriptedAgents(tmp_path, [{"result": "x"}, verdict("IMPOSSIBLE", "no network")])
    proc = run(agents, "Fetch it", cwd=tmp_path)
    assert proc.returncode == 1
    assert "IMPOSSIBLE: no network" in proc.stderr


def test_a_missing_executor_is_a_usage_error_naming_the_package(tmp_path: Path) -> None:
    proc = subprocess.run(
        [*oneshot_argv(), "--executor", "gemini", "Do it"],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert proc.returncode == 2
    assert (
        "gemini not found on PATH: install it with `npm install -g @google/gemini-cli`"
        in proc.stderr
    )


def test_the_original_json_config_is_read_with_its_comments_and_unknown_keys_reported(
    tmp_path: Path,
) -> None:
    home = Path(os.environ["HOME"])
    (home / ".oneshot.json").write_text(
        json.dumps(
            {
                "_comment": "the original's own examples carry these",
                "max_iterations": 1,
                "web_port": 8080,
                "bogus_key": True,
            }
        )
    )
    agents = ScriptedAgents(tmp_path, [{"result": "x"}, verdict("RETRY", "more")])
    proc = run(agents, "Do it", cwd=tmp_path)
    assert proc.returncode == 1
    assert 'unknown key "bogus_key" ignored' in proc.stderr
    assert "_comment" not in proc.stderr and "web_port" not in proc.stderr
    assert "no DONE after 1 iteration" in proc.stderr
    # Our project config beats the user's JSON; a flag beats both.
    (tmp_path / "oneshot-tui.toml").write_text("[oneshot]\nmax_iterations = 2\n")
    agents = ScriptedAgents(tmp_path, [{"result": "x"}, verdict("RETRY", "more")])
    assert "no DONE after 2 iterations" in run(agents, "Do it", cwd=tmp_path).stderr
    agents = ScriptedAgents(tmp_path, [{"result": "x"}, verdict("RETRY", "more")])
    proc = run(agents, "--max-iterations", "3", "Do it", cwd=tmp_path)
    assert "no DONE after 3 iterations" in proc.stderr
    (tmp_path / "oneshot-tui.toml").write_text("[oneshot]\nmax_iteration = 2\n")
    proc = run(agents, "Do it", cwd=tmp_path)
    assert proc.returncode == 2
    assert (
        'oneshot-tui.toml:2: unknown key "max_iteration" in [oneshot] (did you mean "max_iterations"?)'
        in proc.stderr
    )


def auditor_session_saved(tmp_path: Path) -> bool:
    for path in (tmp_path / "data" / "oneshot").glob("*/state.json"):
        try:
            sessions = json.loads(path.read_text()).get("sessions", {})
        except (OSError, ValueError):
            continue
        if "auditor#1" in sessions:
            return True
    return False


def test_resume_after_kill_9_mid_auditor_continues_with_the_auditor(tmp_path: Path) -> None:
    agents = ScriptedAgents(
        tmp_path,
        [
            {"result": "the worker's work"},
            {"sleep": 120, "result": "never"},
            verdict("DONE", "fine"),
        ],
    )
    proc = subprocess.Popen(
        [*oneshot_argv(), "--auditor-executor", "codex", "Do the thing"],
        cwd=tmp_path,
        env={**os.environ, **agents.env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        # Killed once the auditor's session is saved (what a resume needs), not merely started.
        while not auditor_session_saved(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [c["binary"] for c in agents.calls()] == ["claude", "codex"]
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    os.kill(agents.calls()[1]["pid"], signal.SIGKILL)  # nobody is left to stop the orphan
    resumed = run(agents, "--resume", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    calls = agents.calls()
    assert [c["binary"] for c in calls] == ["claude", "codex", "codex"]
    prompt = calls[2]["argv"][-1]
    assert prompt.startswith("(This session was interrupted and is being resumed")
    assert any(line.endswith("audit #1") for line in prompt.splitlines()[:3])
    assert "<worker-result>\nthe worker's work\n</worker-result>" in calls[2]["argv"][-1]
    assert resumed.stdout.splitlines()[0] == "── auditor #1 of 3 ──"
    # The auditor's first session was recorded when it started, and codex can resume its own.
    assert "resume" in calls[2]["argv"] and "fake-session-1" in calls[2]["argv"]
    assert not pid_alive(calls[1]["pid"])


def test_async_runs_several_loops_side_by_side(tmp_path: Path) -> None:
    agents = ScriptedAgents(tmp_path, [{"result": "w"}, verdict("DONE")])
    proc = run(agents, "--async", "--no-ui", "fix bug A", "fix bug B", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    names = {line.split(" | ")[0].strip() for line in proc.stdout.splitlines()}
    assert names == {"fix-bug-a", "fix-bug-b"}
    assert len(agents.calls()) == 4


def test_resume_after_kill_9_stops_the_lost_runs_agent_first(tmp_path: Path) -> None:
    """Item 8: the lost run's agent is still running; `--resume` stops it (as cleanup does),
    says so, and only then goes on, so one session never has two agents at once."""
    agents = ScriptedAgents(
        tmp_path,
        [{"result": "the worker's work"}, {"sleep": 120, "result": "never"}, verdict("DONE")],
    )
    proc = subprocess.Popen(
        [*oneshot_argv(), "--auditor-executor", "codex", "Do the thing"],
        cwd=tmp_path,
        env={**os.environ, **agents.env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not auditor_session_saved(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    orphan = agents.calls()[1]["pid"]
    assert pid_alive(orphan)  # the lost run's auditor goes on by itself
    resumed = run(agents, "--resume", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "was lost and left its agent running: stopping" in resumed.stderr
    assert not pid_alive(orphan)
    assert [c["binary"] for c in agents.calls()] == ["claude", "codex", "codex"]


def test_budgets_idle_and_direct_settings_are_flags_and_oneshot_keys(tmp_path: Path) -> None:
    """Item 4: budgets stop the loop, from a flag or from [oneshot]; direct without a model is a
    usage error like `run -a direct`."""
    agents = ScriptedAgents(tmp_path, [{"result": "w"}, verdict("RETRY", "more"), {"result": "w"}])
    proc = run(agents, "--max-tokens", "20", "Do it", cwd=tmp_path)
    assert proc.returncode == 1 and "runaway: " in proc.stderr
    assert " tokens, over max_tokens = 20" in proc.stderr
    (tmp_path / "oneshot-tui.toml").write_text(
        '[oneshot]\nmax_tool_calls = 5\nmax_cost_usd = 0.0015\nidle_action = "restart"\n'
    )
    agents = ScriptedAgents(tmp_path, [{"result": "w"}, verdict("RETRY", "more"), {"result": "w"}])
    proc = run(agents, "Do it", cwd=tmp_path)
    assert proc.returncode == 1 and "over max_cost_usd = 0.0015" in proc.stderr, proc.stderr
    proc = run(agents, "--executor", "direct", "Do it", cwd=tmp_path)
    assert proc.returncode == 2
    assert "--executor direct needs --worker-model MODEL" in proc.stderr
    assert "--base-url" in run(agents, "--help", cwd=tmp_path).stdout


def test_the_original_flags_and_files_are_accepted(tmp_path: Path) -> None:
    """Item 5: the original's flags map onto ours or say they have no effect; its files in the
    current directory are read, ours winning."""
    (tmp_path / ".oneshotrc").write_text("# the original's key=value file\nmax_iterations=1\n")
    agents = ScriptedAgents(tmp_path, [{"result": "w"}, verdict("RETRY", "more")])
    log = tmp_path / "session.ndjson"
    proc = run(
        agents,
        "--initial-timeout",
        "300",
        "--max-timeout",
        "3600",
        "--activity-interval",
        "30",
        "--keep-log",
        "--debug",
        "--session-log",
        str(log),
        "Do it",
        cwd=tmp_path,
    )
    assert proc.returncode == 1, proc.stderr
    assert "unrecognized arguments" not in proc.stderr
    assert "notice: --activity-interval has no effect" in proc.stderr
    assert "notice: --keep-log has no effect" in proc.stderr
    assert "no DONE after 1 iteration" in proc.stderr  # max_iterations from .oneshotrc
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert {x["role"] for x in lines} == {"worker", "auditor"}
    (tmp_path / ".oneshot.json").write_text(json.dumps({"max_iterations": 2}))
    agents = ScriptedAgents(tmp_path, [{"result": "w"}, verdict("RETRY", "more")])
    assert "no DONE after 2 iterations" in run(agents, "Do it", cwd=tmp_path).stderr
    (tmp_path / "oneshot-tui.toml").write_text("[oneshot]\nmax_iterations = 3\n")
    agents = ScriptedAgents(tmp_path, [{"result": "w"}, verdict("RETRY", "more")])
    assert "no DONE after 3 iterations" in run(agents, "Do it", cwd=tmp_path).stderr
    config = tmp_path / "legacy.json"
    config.write_text(json.dumps({"max_iterations": 1, "max_timeout": 600}))
    (tmp_path / "oneshot-tui.toml").unlink()
    agents = ScriptedAgents(tmp_path, [{"result": "w"}, verdict("RETRY", "more")])
    proc = run(agents, "--config", str(config), "Do it", cwd=tmp_path)
    assert "no DONE after 1 iteration" in proc.stderr


def test_the_originals_timeouts_map_to_idle_and_wall_time() -> None:
    from oneshot_tui.config.oneshot import initial_timeout

    assert initial_timeout(300) == {
        "idle_threshold": 30.0,
        "idle_timeout": 270.0,
        "idle_action": "restart",
    }
    assert initial_timeout(10)["idle_threshold"] == 10 and initial_timeout(10)["idle_timeout"] == 0
