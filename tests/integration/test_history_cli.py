"""The history commands end to end: the real console script, real children, a real history.db."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import fake
from tests.helpers import cli_argv, group_members, pid_alive

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo.toml"


def cli(
    *args: str, cwd: Path | None = None, stdin: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*cli_argv(), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        input=stdin,
        timeout=timeout,
        check=False,
    )


def cli_bytes(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*cli_argv(), *args], capture_output=True, timeout=120, check=False)


def cli_json(*args: str) -> Any:
    proc = cli(*args, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def ndjson(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def states_of(events: list[dict[str, Any]]) -> list[tuple[str, int, str, str, str]]:
    return [
        (e["task"], e["attempt"], e["from"], e["to"], e["reason"])
        for e in events
        if e["event"] == "state"
    ]


def recorded_states(show: dict[str, Any]) -> list[tuple[str, int, str, str, str]]:
    return [(t["task"], t["attempt"], t["from"], t["to"], t["reason"]) for t in show["transitions"]]


def wait_for(check: Any, timeout: float = 30, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(0.05)


def test_a_demo_run_is_told_back_by_history_show_and_logs(tmp_path: Path) -> None:
    demo = tomllib.loads(DEMO.read_text())
    # The same commands run straight from here, for the bytes each child writes.
    reference = {
        task["name"]: subprocess.Popen(
            ["/bin/sh", "-c", task["command"]]
            if isinstance(task["command"], str)
            else task["command"],
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
        )
        for task in demo["task"]
    }
    proc = cli("run", str(DEMO), "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "warning" not in proc.stderr
    events = ndjson(proc.stdout)
    run_id = events[0]["run"]

    (listed,) = cli_json("history")
    assert listed["id"] == run_id and listed["status"] == "finished"
    assert listed["exit_code"] == 0 and listed["tasks"] == 6
    assert listed["states"] == {"completed": 6}
    assert listed["task_file"] == str(DEMO)
    assert listed["argv"] == ["oneshot-tui", "run", str(DEMO), "--json"]
    assert listed["cwd"] == str(tmp_path)

    show = cli_json("show", run_id)
    assert show["run"]["id"] == run_id
    assert recorded_states(show) == states_of(events)  # every transition, in order
    exits = {e["task"]: e for e in events if e["event"] == "exit"}
    for task in show["tasks"]:
        assert task["state"] == "completed" == exits[task["name"]]["state"]
        assert task["exit_code"] == 0 and task["attempts"] == 1
    assert [t["name"] for t in show["tasks"]] == [t["name"] for t in demo["task"]]

    for name, child in reference.items():
        expected, _ = child.communicate(timeout=60)
        logged = cli_bytes("logs", "last", name)
        assert logged.returncode == 0, logged.stderr
        assert logged.stdout == expected, name
    text = cli("show", "last")
    assert text.returncode == 0
    assert "thinker" in text.stdout and "created -> running" in text.stdout
    assert "running -> completed  (exit 0)" in text.stdout


FAKE_STUBBORN = f"{sys.executable} {fake('stubborn.py')}"


def test_a_killed_run_shows_as_lost_and_cleanup_stops_its_orphans() -> None:
    proc = subprocess.Popen(
        [*cli_argv(), "run", "--json", "-c", FAKE_STUBBORN, "-c", "sleep 60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    groups: list[int] = []
    run_id = ""
    while len(groups) < 2:
        event = json.loads(proc.stdout.readline())
        run_id = event["run"]
        if event["event"] == "process":
            groups.append(event["pid"])
    # Both processes are in the history (with who they are) before the crash.
    wait_for(lambda: len(cli_json("show", run_id)["processes"]) == 2, what="processes recorded")
    stubborn = groups[0]
    wait_for(lambda: len(group_members(stubborn)) >= 2, what="the grandchild")
    pids = [pid for pgid in groups for pid in group_members(pgid)]
    try:
        proc.kill()  # SIGKILL: no chance to stop its children or finish its history
        proc.wait(timeout=30)
        proc.stdout.close()
        proc.stderr.close()
        assert all(pid_alive(pid) for pid in pids)

        (lost,) = cli_json("history")
        assert lost["id"] == run_id and lost["status"] == "lost"
        assert lost["states"] == {"failed": 2} and lost["duration"] is None
        assert "lost" in cli("history").stdout
        show = cli_json("show", "last")
        assert [(t["state"], t["reason"]) for t in show["tasks"]] == [("failed", "lost")] * 2
        assert [t["to"] for t in show["transitions"]][-2:] == ["failed", "failed"]

        # The next run says what was left behind and how to stop it.
        nudged = cli("run", "--no-ui", "-c", "true")
        assert nudged.returncode == 0
        assert f"process(es) of lost run(s) {run_id} are still running" in nudged.stderr
        assert "`oneshot-tui cleanup` stops them" in nudged.stderr

        declined = cli("cleanup", stdin="n\n")
        assert declined.returncode == 1, declined.stderr
        assert "stop them?" in declined.stdout and "sleep 60" in declined.stdout
        assert all(pid_alive(pid) for pid in pids)

        done = cli("cleanup", "--yes", "--grace", "1")
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"stopped {len(pids)} process(es)" in done.stdout
        assert not any(pid_alive(pid) for pid in pids)
        again = cli("cleanup")
        assert again.returncode == 0 and "nothing to clean up" in again.stdout
    finally:
        for pid in pids:
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)


def _task_file(path: Path, names: list[str], command: str = "echo {name}") -> Path:
    path.write_text(
        "[run]\nmax_concurrent = 6\n"
        + "".join(f'[[task]]\nname = "{n}"\ncommand = "{command.format(name=n)}"\n' for n in names)
    )
    return path


def test_two_runs_at_once_on_one_data_dir_both_record_everything(tmp_path: Path) -> None:
    files = [
        _task_file(tmp_path / f"run{r}.toml", [f"r{r}-t{i}" for i in range(30)]) for r in (1, 2)
    ]
    procs = [
        subprocess.Popen(
            [*cli_argv(), "run", str(f), "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for f in files
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert "warning" not in err and "locked" not in err
        events = ndjson(out)
        show = cli_json("show", events[0]["run"])
        assert recorded_states(show) == states_of(events)
        assert len(show["transitions"]) == 60
        assert {t["state"] for t in show["tasks"]} == {"completed"}
        assert len(show["processes"]) == 30
    assert len(cli_json("history")) == 2


@pytest.mark.parametrize("damage", ["garbage", "directory"])
def test_a_damaged_history_warns_but_the_run_and_its_logs_go_on(
    tmp_path: Path, damage: str
) -> None:
    data = Path(os.environ["ONESHOT_TUI_HOME"])
    data.mkdir(parents=True, exist_ok=True)
    db = data / "history.db"
    if damage == "garbage":
        db.write_bytes(b"\x00garbage, not SQLite\n" * 500)
    else:
        db.mkdir()
    proc = cli("run", "--no-ui", "-c", "printf 'one\\ntwo\\n'")
    assert proc.returncode == 0
    assert proc.stdout == "printf | one\nprintf | two\n"
    assert "oneshot-tui: warning: history:" in proc.stderr
    assert ("damaged" if damage == "garbage" else "cannot open") in proc.stderr
    assert "Traceback" not in proc.stderr
    (log,) = (data / "runs").glob("*/printf.log")
    assert log.read_bytes() == b"one\ntwo\n"
    history = cli("history")
    assert history.returncode == 2
    assert "oneshot-tui: error:" in history.stderr and "Traceback" not in history.stderr


def test_rerun_failed_runs_exactly_the_tasks_that_did_not_complete(tmp_path: Path) -> None:
    first_dir = tmp_path / "first"
    first_dir.mkdir()
    (tmp_path / "first" / "tasks.toml").write_text(
        "[run]\nmax_concurrent = 1\nfail_fast = true\n"
        '[[task]]\nname = "fine"\ncommand = "echo fine"\n'
        '[[task]]\nname = "needs-marker"\ncommand = "test -f marker"\n'
        '[[task]]\nname = "never-started"\ncommand = "echo late"\n'
    )
    first = cli("run", "tasks.toml", "--no-ui", cwd=first_dir)
    assert first.returncode == 1
    states = {t["name"]: t["state"] for t in cli_json("show", "last")["tasks"]}
    assert states == {"fine": "completed", "needs-marker": "failed", "never-started": "failed"}
    first_id = cli_json("history")[0]["id"]

    (first_dir / "marker").write_text("")  # relative to where the first run ran
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    rerun = cli("rerun", "last", "--failed", "--json", cwd=elsewhere)
    assert rerun.returncode == 0, rerun.stderr
    assert "rerunning 2 of 3 tasks" in rerun.stderr
    events = ndjson(rerun.stdout)
    assert [e["task"] for e in events if e["event"] == "task_added"] == [
        "needs-marker",
        "never-started",
    ]
    assert {e["task"] for e in events if e["event"] == "exit"} == {
        "needs-marker",
        "never-started",
    }
    newest = cli_json("history")[0]
    assert newest["rerun_of"] == first_id and newest["states"] == {"completed": 2}

    nothing = cli("rerun", "last", "--failed")
    assert nothing.returncode == 0 and "nothing to rerun" in nothing.stderr
    everything = cli("rerun", first_id, "--json", cwd=elsewhere)
    assert {e["task"] for e in ndjson(everything.stdout) if e["event"] == "exit"} == {
        "fine",
        "needs-marker",
        "never-started",
    }


def test_run_references_prefix_last_unknown_and_ambiguous() -> None:
    for _ in range(2):
        assert cli("run", "--no-ui", "-c", "true").returncode == 0
    ids = [r["id"] for r in cli_json("history")]
    assert len(ids) == 2
    newest = ids[0]
    assert cli_json("show", "last")["run"]["id"] == newest
    shortest = next(
        newest[:n] for n in range(1, len(newest) + 1) if not ids[1].startswith(newest[:n])
    )
    assert cli_json("show", shortest)["run"]["id"] == newest
    ambiguous = cli("show", newest[0])
    assert ambiguous.returncode == 2 and "ambiguous" in ambiguous.stderr
    assert ids[1] in ambiguous.stderr
    unknown = cli("logs", "zzz")
    assert unknown.returncode == 2 and "no run matches 'zzz'" in unknown.stderr
    no_task = cli("logs", "last", "nope")
    assert no_task.returncode == 2 and "has no task 'nope'" in no_task.stderr


def test_no_history_yet_is_not_an_error() -> None:
    proc = cli("history")
    assert proc.returncode == 0 and "no runs recorded yet" in proc.stderr
    assert cli_json("history") == []
    assert cli("show", "last").returncode == 2


def test_logs_follow_prints_a_live_log_to_its_end(tmp_path: Path) -> None:
    script = "for i in 1 2 3 4 5 6 7 8; do echo line $i; sleep 0.25; done; printf tail"
    run = subprocess.Popen(
        [*cli_argv(), "run", "--no-ui", "-c", script],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def started() -> bool:
            runs = cli_json("history")
            return bool(runs) and bool(cli_json("show", runs[0]["id"])["attempts"])

        wait_for(started, what="the run's first log")
        follower = cli_bytes("logs", "last", "--follow")
        assert run.wait(timeout=60) == 0
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert follower.returncode == 0, follower.stderr
    expected = b"".join(b"line %d\n" % i for i in range(1, 9)) + b"tail"
    assert follower.stdout == expected
    assert cli_bytes("logs", "last").stdout == expected


def test_rerun_failed_takes_what_did_not_complete_and_keeps_its_order(tmp_path: Path) -> None:
    # build fails until a marker exists; test waits for build (failed) and lint (completed).
    (tmp_path / "tasks.toml").write_text(
        '[[task]]\nname = "lint"\ncommand = "echo lint"\n'
        '[[task]]\nname = "build"\ncommand = "test -f marker && echo built > out"\n'
        '[[task]]\nname = "test"\ncommand = "cat out"\ndepends_on = ["build", "lint"]\n'
    )
    first = cli("run", "tasks.toml", "--no-ui", cwd=tmp_path)
    assert first.returncode == 1
    tasks = {t["name"]: t for t in cli_json("show", "last")["tasks"]}
    assert tasks["test"]["state"] == "failed"
    assert tasks["test"]["reason"] == "dependency build failed"

    (tmp_path / "marker").write_text("")
    rerun = cli("rerun", "last", "--failed", "--json", cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    events = ndjson(rerun.stdout)
    assert [e["task"] for e in events if e["event"] == "task_added"] == ["build", "test"]
    # test waited for build again (lint completed before: it is not waited for).
    assert [e["on"] for e in events if e["event"] == "waiting"] == ["build (completed)", ""]
    started = {e["task"]: e["ts"] for e in events if e["event"] == "state" and e["to"] == "running"}
    ended = {e["task"]: e["ts"] for e in events if e["event"] == "exit"}
    assert ended["build"] <= started["test"]
    assert [e["line"] for e in events if e["event"] == "output" and e["task"] == "test"] == [
        "built"
    ]
