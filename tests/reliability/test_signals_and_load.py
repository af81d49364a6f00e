"""Signals to the orchestrator, a flooding child beside quiet ones, and 500 tasks under a limit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from oneshot_tui.core.spec import RunSettings, TaskPolicy, TaskSpec
from oneshot_tui.core.states import TaskState as S
from oneshot_tui.orchestrator import Orchestrator
from tests.fakes import fake
from tests.helpers import cli_argv, pid_alive, py, run_recorded

SIGNALS = [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130)]


@pytest.mark.parametrize(("sig", "code"), SIGNALS)
def test_a_signal_in_headless_mode_interrupts_everything_flushes_logs_and_leaves_nothing(
    sig: int, code: int
) -> None:
    proc = subprocess.Popen(
        [
            *cli_argv(),
            "run",
            "--json",
            "--grace",
            "1",
            "-c",
            f"{sys.executable} {fake('stubborn.py')}",
            "-c",
            f"{sys.executable} {fake('escaper.py')}",
            "-c",
            f"{sys.executable} {fake('ticker.py')} tick 0.05 100000",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    pids: set[int] = set()
    printed: list[str] = []
    deadline = time.monotonic() + 30
    while (len(pids) < 5 or len(printed) < 3) and time.monotonic() < deadline:
        event = json.loads(proc.stdout.readline())
        if event["event"] == "process":
            pids.add(event["pid"])
        elif event["event"] == "output":
            line = event["line"]
            if line.startswith(("child", "grandchild", "escaped")):
                pids.add(int(line.split()[1]))
            if line.startswith("tick"):
                printed.append(line)
    assert len(pids) >= 5
    proc.send_signal(sig)
    rest, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    final = json.loads(rest.splitlines()[-1])
    assert final["exit_code"] == code
    assert {r["state"] for r in final["results"]} == {"interrupted"}
    assert not [pid for pid in pids if pid_alive(pid)]
    ticker_log = Path(final["results"][2]["log"])  # -c tasks keep their order
    printed += [json.loads(line)["line"] for line in rest.splitlines() if '"line":"tick ' in line]
    logged = ticker_log.read_text().splitlines()
    # Everything shown was logged first, and the log ends with whole lines (it was flushed).
    assert printed and logged[: len(printed)] == printed
    assert ticker_log.read_text().endswith("\n")


@pytest.mark.slow
def test_a_flooding_child_beside_twenty_quiet_ones_stays_bounded_and_loses_nothing(
    tmp_path: Path,
) -> None:
    count_file = tmp_path / "count"
    args = ["-c", f"{sys.executable} {fake('counter_flood.py')} 30 {count_file}"]
    for i in range(20):
        args += ["-c", f"{sys.executable} {fake('ticker.py')} q{i} 0.5 64"]
    out = tmp_path / "out.ndjson"
    driver = (
        "import json, sys\n"
        "from oneshot_tui.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "hwm = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM'))\n"
        "print(json.dumps({'code': code, 'hwm_kb': hwm}), file=sys.stderr)\n"
    )
    with out.open("wb") as f:
        proc = subprocess.run(
            [sys.executable, "-c", driver, "run", "--json", "--max-concurrent", "21", *args],
            stdout=f,
            stderr=subprocess.PIPE,
            timeout=240,
            check=False,
        )
    report = json.loads(proc.stderr.decode().strip().splitlines()[-1])
    assert report["code"] == 0, proc.stderr.decode()[-2000:]
    # Memory stays bounded although the flood wrote far more than fits in it.
    assert report["hwm_kb"] < 200 * 1024, report
    late = []
    finished = None
    with out.open() as f:
        for raw in f:
            if '"event":"output"' in raw and '"q' in raw:
                event = json.loads(raw)
                _, sent = event["line"].split()
                late.append(event["ts"] - float(sent))
            elif '"run_finished"' in raw:
                finished = json.loads(raw)
    assert len(late) == 20 * 64
    # Quiet tasks are not starved by the flood: their lines arrive within a couple of seconds.
    assert max(late) < 3.0, max(late)
    assert finished is not None
    flood_log = Path(finished["results"][0]["log"])
    written = int(count_file.read_text())
    with flood_log.open("rb") as f:
        logged = sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b""))
    assert logged == written > 100_000


@pytest.mark.slow
async def test_five_hundred_tasks_under_a_limit_of_64_complete_with_every_log(
    data_dir: Path,
) -> None:
    code = (
        "import sys, time; print('start', sys.argv[1]); time.sleep(0.05); print('end', sys.argv[1])"
    )
    specs = [
        TaskSpec(f"t{i:03d}", py("-c", code, str(i)), policy=TaskPolicy(grace=1))
        for i in range(500)
    ]
    orch = Orchestrator(specs, RunSettings(max_concurrent=64), data_dir=data_dir)
    result, watcher = await run_recorded(orch)
    assert result.exit_code == 0, [r for r in result.results if r.state is not S.COMPLETED][:3]
    running: set[str] = set()
    peak = 0
    from oneshot_tui.core.events import StateChanged

    for e in watcher.all():
        if isinstance(e, StateChanged):
            (running.add if e.target.active else running.discard)(e.task_id)
            peak = max(peak, len(running))
    assert peak <= 64
    for i, task in enumerate(orch.tasks.values()):
        assert task.state is S.COMPLETED
        assert task.log_paths[0].read_text() == f"start {i}\nend {i}\n"


def test_the_data_dir_and_logs_are_private(tmp_path: Path) -> None:
    home = tmp_path / "fresh-home"
    proc = subprocess.run(
        [*cli_argv(), "run", "--no-ui", "--data-dir", str(home), "-c", "echo x"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0
    assert home.stat().st_mode & 0o777 == 0o700
    logs = list(home.rglob("*.log"))
    assert logs and all(p.stat().st_mode & 0o777 == 0o600 for p in logs)
    assert all(p.stat().st_mode & 0o777 == 0o700 for p in home.rglob("*") if p.is_dir())
    assert os.access(home, os.W_OK)
