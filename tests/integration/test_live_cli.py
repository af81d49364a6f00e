"""`ps`, `events`, `ctl` and `add` on a headless run and on a detached one: real processes, the
real control socket, the documented exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.fakes import fake
from tests.helpers import cli_argv
from tests.ui.tmux import quiet_pids


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*cli_argv(), *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def wait_for(cond: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.1)


def live() -> list[dict[str, object]]:
    runs: list[dict[str, object]] = json.loads(cli("ps", "--json").stdout)
    return runs


def test_a_headless_run_is_steered_from_another_shell(tmp_path: Path) -> None:
    quiet = f"{sys.executable} {fake('quiet.py')} headless-steered"
    with subprocess.Popen(
        [*cli_argv(), "run", "--no-ui", "--grace", "2", "-c", quiet, "-c", "echo=echo first"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as headless:
        wait_for(lambda: len(live()) == 1 and bool(quiet_pids("headless-steered")))
        [run] = live()
        run_id = str(run["run"])
        assert run["counts"] == {"running": 1, "completed": 1}
        table = cli("ps").stdout.splitlines()
        assert table[0].split() == ["RUN", "PID", "STARTED", "CLIENTS", "TASKS"]
        assert table[1].startswith(run_id)
        assert cli("ctl", "nope", "stop").returncode == 2  # no such run
        unknown = cli("ctl", run_id, "interrupt", "ghost")
        assert unknown.returncode == 2 and "no task 'ghost'" in unknown.stderr
        refused = cli("ctl", run_id, "kill", "echo")
        assert refused.returncode == 1 and "echo is completed" in refused.stderr
        added = cli("add", run_id, "-c", "echo added later", "--name", "later")
        assert added.returncode == 0 and added.stdout.split() == ["later"]
        bad = tmp_path / "bad.toml"
        bad.write_text('[[task]]\ncommand = "true"\n\n[[task]]\ncommand = "true"\ncolour = 1\n')
        rejected = cli("add", run_id, str(bad))
        assert rejected.returncode == 2 and f"{bad}:6" in rejected.stderr
        good = tmp_path / "more.toml"
        good.write_text('[[task]]\nname = "from-file"\ncommand = "echo from a file"\n')
        assert cli("add", run_id, str(good)).stdout.split() == ["from-file"]
        wait_for(lambda: live()[0]["counts"] == {"running": 1, "completed": 3})
        with subprocess.Popen(
            [*cli_argv(), "events", run_id], stdout=subprocess.PIPE, text=True
        ) as events:
            assert events.stdout is not None
            first = [json.loads(events.stdout.readline()) for _ in range(2)]
            assert [o["event"] for o in first] == ["run_started", "task_added"]
            assert cli("ctl", run_id, "interrupt", "python3").returncode == 0
            rest = [json.loads(line) for line in events.stdout]
            assert events.wait(30) == 1  # the run's exit code: a task was interrupted
        kinds = [o["event"] for o in rest]
        assert "snapshot_end" in kinds and kinds[-1] == "run_finished"
        assert any(o.get("event") == "output_tail" and o["task"] == "later" for o in rest)
        out = headless.stdout.read() if headless.stdout else ""
        assert headless.wait(30) == 1
        assert "later   | added later" in out  # an added task's lines are printed too
    assert live() == []


def test_a_detached_run_stays_open_until_stopped_and_keeps_its_exit_code(tmp_path: Path) -> None:
    started = cli("run", "--detach", "-c", "echo quick", "-c", "exit=exit 4")
    assert started.returncode == 0, started.stderr
    run_id = started.stdout.strip()
    wait_for(lambda: bool(live()) and live()[0]["counts"] == {"completed": 1, "failed": 1})
    again = cli("ctl", run_id, "restart", "exit")  # it stayed open: its tasks can be restarted
    assert again.returncode == 0, again.stderr
    time.sleep(0.5)
    assert cli("ctl", run_id, "stop").returncode == 0
    wait_for(lambda: live() == [])
    shown = cli("show", run_id, "--json")
    doc = json.loads(shown.stdout)
    assert doc["run"]["exit_code"] == 1 and doc["run"]["status"] == "finished"
    tasks = {t["name"]: t for t in doc["tasks"]}
    assert tasks["exit"]["attempts"] == 2


def test_a_config_error_with_detach_exits_2_before_anything_starts(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[task]]\ncommand = "true"\ncolour = 1\n')
    result = cli("run", "--detach", str(bad))
    assert result.returncode == 2 and f"{bad}:3" in result.stderr and result.stdout == ""
    assert live() == [] and not (Path(os.environ["ONESHOT_TUI_HOME"]) / "runs").exists()
