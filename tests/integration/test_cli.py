"""The real `oneshot-tui` console script, run in a subprocess, headless."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.fakes import fake
from tests.helpers import cli_argv, pid_alive


def run_cli(
    *args: str, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*cli_argv(), *args], capture_output=True, text=True, cwd=cwd, timeout=timeout, check=False
    )


FIVE_TASKS = f"""
[run]
max_concurrent = 3
grace = "1s"

[[task]]
name = "alpha"
command = "seq 3"

[[task]]
name = "beta-long-name"
command = ["{sys.executable}", "-c", "print('b1'); print('b2')"]

[[task]]
name = "gamma"
command = "echo to-stderr >&2; echo out"
separate_stderr = true

[[task]]
name = "delta"
command = "printf 'no newline at end'"

[[task]]
name = "eps"
command = "echo 'quotes \\" and $(not run)'"
"""


@pytest.fixture
def five(tmp_path: Path) -> Path:
    path = tmp_path / "five.toml"
    path.write_text(FIVE_TASKS)
    return path


def test_text_mode_prefixes_whole_lines_and_summarises_on_stderr(five: Path) -> None:
    proc = run_cli("run", str(five), "--no-ui")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    width = len("beta-long-name")
    by_task: dict[str, list[str]] = {}
    for line in lines:
        name, sep, rest = line.partition(" | ")
        assert sep and len(name) == width, line
        by_task.setdefault(name.strip(), []).append(rest)
    assert by_task == {
        "alpha": ["1", "2", "3"],
        "beta-long-name": ["b1", "b2"],
        "gamma": ["to-stderr", "out"]
        if by_task["gamma"][0] == "to-stderr"
        else ["out", "to-stderr"],
        "delta": ["no newline at end"],
        "eps": ['quotes " and $(not run)'],
    }
    assert "alpha: created -> running" in proc.stderr
    assert "alpha: running -> completed (exit 0)" in proc.stderr
    summary = proc.stderr[proc.stderr.index("TASK  ") :]
    for name in ("alpha", "beta-long-name", "gamma", "delta", "eps"):
        assert f"\n{name} " in summary
    assert "\x1b[" not in proc.stdout + proc.stderr  # no colour when not on a terminal


ORDER = "for i in 1 2 3 4 5 6; do echo out $i; echo err $i >&2; done"


def test_stdout_and_stderr_keep_the_order_the_task_wrote_them(tmp_path: Path) -> None:
    """One pipe for both by default: lines come out as written, on stdout and in the log."""
    proc = run_cli("run", "-c", ORDER, "--no-ui")
    assert proc.returncode == 0, proc.stderr
    written = [f"{s} {i}" for i in range(1, 7) for s in ("out", "err")]
    assert [line.split(" | ", 1)[1] for line in proc.stdout.splitlines()] == written
    lines = proc.stderr.splitlines()
    log_dir = next(line.removeprefix("logs in ") for line in lines if line.startswith("logs in "))
    log = next(line.split()[-1] for line in lines if line.endswith(".log"))
    assert (Path(log_dir) / log).read_text().splitlines() == written


def test_separate_stderr_tags_each_line_with_its_stream(tmp_path: Path) -> None:
    task_file = tmp_path / "t.toml"
    task_file.write_text(f'[[task]]\nname = "o"\ncommand = "{ORDER}"\nseparate_stderr = true\n')
    proc = run_cli("run", str(task_file), "--json")
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    streams = {(e["line"], e["stream"]) for e in events if e["event"] == "output"}
    assert {("out 1", "stdout"), ("err 1", "stderr")} <= streams


def test_json_mode_emits_one_event_per_line(five: Path) -> None:
    proc = run_cli("run", str(five), "--json")
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert all({"ts", "run", "task", "event"} <= set(e) for e in events)
    assert len({e["run"] for e in events}) == 1
    outputs = [(e["task"], e["line"], e["stream"]) for e in events if e["event"] == "output"]
    assert [o[1] for o in outputs if o[0] == "alpha"] == ["1", "2", "3"]
    assert ("gamma", "to-stderr", "stderr") in outputs
    states = [
        (e["task"], e["from"], e["to"], e["attempt"]) for e in events if e["event"] == "state"
    ]
    assert ("alpha", "created", "running", 1) in states
    assert ("alpha", "running", "completed", 1) in states
    exits = {e["task"]: e for e in events if e["event"] == "exit"}
    assert exits["alpha"]["exit_code"] == 0 and exits["alpha"]["signal"] is None
    final = events[-1]
    assert final["event"] == "run_finished" and final["exit_code"] == 0
    assert {r["task"] for r in final["results"]} == set(exits)
    log = Path(next(r["log"] for r in final["results"] if r["task"] == "alpha"))
    assert log.read_text() == "1\n2\n3\n"


def test_a_failing_task_gives_exit_1(tmp_path: Path) -> None:
    proc = run_cli("run", "--no-ui", "-c", "true", "-c", "exit 3")
    assert proc.returncode == 1
    assert "exit-3: running -> failed (exit 3)" in proc.stderr


def test_c_commands_are_named_from_their_words_or_by_name_equals() -> None:
    proc = run_cli(
        "run",
        "--json",
        *("-c", "make test", "-c", "make lint", "-c", "cd sub && make"),
        *("-c", "/bin/echo x", "-c", "echo x", "-c", "FOO=1 true", "-c", "quick=echo hi"),
    )
    events = list(map(json.loads, proc.stdout.splitlines()))
    names = [e["task"] for e in events if e["event"] == "task_added"]
    assert names == [
        "make-test",
        "make-lint",
        "cd-sub-make",
        "echo-x",
        "echo-x-2",
        "true",  # an uppercase FOO= is the shell's variable, not a name
        "quick",
    ]
    ended = {e["task"]: e for e in events if e["event"] == "exit"}
    assert ended["true"]["exit_code"] == 0 and ended["quick"]["exit_code"] == 0


def test_a_c_name_given_twice_is_refused() -> None:
    proc = run_cli("run", "--no-ui", "-c", "a=true", "-c", "a=false")
    assert proc.returncode == 2 and 'duplicate task name "a"' in proc.stderr


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("[run]\nmax_concurrent = \n", ":2: invalid TOML"),
        (
            '[[task]]\nname = "a"\ncommand = "true"\ncomand = "x"\n',
            ':4: unknown key "comand" in task #1 (did you mean "command"?)',
        ),
        ('[run]\nmax_concurrent = "many"\n', ':2: "max_concurrent": expected a whole number'),
        (
            '[[task]]\nname = "a"\n\n[[task]]\nname = "b"\ncommand = "true"\n',
            ':1: task "a" has no "command"',
        ),
        (
            '[[task]]\nname = "a"\ncommand = "true"\n[[task]]\nname = "a"\ncommand = "true"\n',
            ':5: duplicate task name "a"',
        ),
        ('[[task]]\ncommand = ""\n', ':2: "command" is empty'),
        (
            '[run]\nidle_action = "explode"\n',
            ':2: "idle_action": expected one of none, interrupt, restart',
        ),
        (
            '[[task]]\ncommand = "true"\n[task.env]\nGOOD = "1"\nBAD = true\n',
            ':5: environment variable "BAD" must be a string',
        ),
        ("[runn]\n", ':1: unknown key "runn" in the file (did you mean "run"?)'),
    ],
)
def test_bad_task_files_exit_2_naming_file_and_line_and_start_nothing(
    tmp_path: Path, content: str, expected: str
) -> None:
    marker = tmp_path / "started"
    path = tmp_path / "bad.toml"
    path.write_text(content)
    proc = run_cli("run", str(path), "--no-ui", "-c", f"touch {marker}")
    assert proc.returncode == 2
    assert f"oneshot-tui: error: {path}{expected}" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not marker.exists()


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run_cli("run").returncode == 2
    assert run_cli("run", "--no-ui", "--max-concurrent", "0", "-c", "true").returncode == 2
    proc = run_cli("run", str(tmp_path / "missing.toml"))
    assert proc.returncode == 2 and "missing.toml: no such file" in proc.stderr


def test_an_unwritable_data_dir_is_refused_before_starting(tmp_path: Path) -> None:
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("")
    proc = run_cli("run", "--no-ui", "--data-dir", str(blocker / "sub"), "-c", "true")
    assert proc.returncode == 2
    assert "is not writable" in proc.stderr


def test_config_precedence_flags_over_task_file_over_project_config(tmp_path: Path) -> None:
    (tmp_path / "oneshot-tui.toml").write_text("[run]\nmax_concurrent = 1\ngrace = 9\n")
    (tmp_path / "t.toml").write_text('[run]\ngrace = 7\n[[task]]\ncommand = "true"\n')
    proc = run_cli("run", "t.toml", "--json", cwd=tmp_path)
    started = next(
        e for e in map(json.loads, proc.stdout.splitlines()) if e["event"] == "run_started"
    )
    assert started["max_concurrent"] == 1
    proc = run_cli("run", "t.toml", "--json", "--max-concurrent", "5", cwd=tmp_path)
    started = next(
        e for e in map(json.loads, proc.stdout.splitlines()) if e["event"] == "run_started"
    )
    assert started["max_concurrent"] == 5


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*cli_argv(), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_every_child_and_exits_128_plus_n(sig: int, code: int) -> None:
    proc = _start(
        "run",
        "--json",
        "--grace",
        "1",
        "-c",
        f"{sys.executable} {fake('stubborn.py')}",
        "-c",
        "sleep 60",
    )
    assert proc.stdout is not None
    pids: list[int] = []
    deadline = time.monotonic() + 30
    while len(pids) < 3 and time.monotonic() < deadline:
        event = json.loads(proc.stdout.readline())
        if event["event"] == "output" and "child" in event["line"]:
            pids.append(int(event["line"].split()[1]))
        if event["event"] == "process":
            pids.append(event["pid"])
    assert len(pids) >= 3
    time.sleep(0.2)
    proc.send_signal(sig)
    rest, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    final = json.loads(rest.splitlines()[-1])
    assert final["event"] == "run_finished" and final["exit_code"] == code
    assert {r["state"] for r in final["results"]} == {"interrupted"}
    assert not any(pid_alive(pid) for pid in pids)


def test_twenty_tasks_of_seq_50000_lose_and_split_nothing(tmp_path: Path) -> None:
    args = [arg for _ in range(20) for arg in ("-c", "seq 50000")]
    out = tmp_path / "out.txt"
    with out.open("wb") as f:
        proc = subprocess.run(
            [*cli_argv(), "run", "--no-ui", *args],
            stdout=f,
            stderr=subprocess.PIPE,
            timeout=300,
            check=False,
        )
    assert proc.returncode == 0, proc.stderr
    expected = [str(i) for i in range(1, 50001)]
    seen: dict[str, list[str]] = {}
    count = 0
    with out.open() as f:
        for line in f:
            count += 1
            name, sep, value = line.rstrip("\n").partition(" | ")
            assert sep, line
            seen.setdefault(name.strip(), []).append(value)
    assert count == 1_000_000
    assert len(seen) == 20
    assert all(values == expected for values in seen.values())
    run_dirs = list((Path(os.environ["ONESHOT_TUI_HOME"]) / "runs").iterdir())
    assert len(run_dirs) == 1
    logs = sorted(run_dirs[0].glob("*.log"))
    assert len(logs) == 20
    reference = "".join(f"{i}\n" for i in range(1, 50001)).encode()
    assert all(log.read_bytes() == reference for log in logs)


def test_a_headless_run_never_imports_textual_or_rich(tmp_path: Path) -> None:
    code = textwrap.dedent(
        """
        import sys
        from oneshot_tui.cli import main
        code = main(["run", "--no-ui", "-c", "echo hi"])
        assert code == 0, code
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("textual", "rich"))
        print("LOADED:", loaded, file=sys.stderr)
        sys.exit(3 if loaded else 0)
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_a_local_run_never_imports_ray(tmp_path: Path) -> None:
    code = textwrap.dedent(
        """
        import sys
        from oneshot_tui.cli import main
        code = main(["run", "--no-ui", "-c", "echo hi"])
        assert code == 0, code
        loaded = sorted(m for m in sys.modules if m == "ray" or m.startswith("ray."))
        print("LOADED:", loaded, file=sys.stderr)
        sys.exit(3 if loaded else 0)
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_help_is_fast_to_import_and_lists_every_option() -> None:
    code = (
        "import sys\n"
        "from oneshot_tui.cli import build_parser\n"
        "build_parser().format_help()\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'anyio', 'statemachine')]\n"
        "sys.exit(1 if bad else 0)\n"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
    proc = run_cli("run", "--help")
    assert proc.returncode == 0
    for flag in (
        "--no-ui",
        "--json",
        "--max-concurrent",
        "--idle-threshold",
        "--heartbeat-interval",
        "--idle-action",
        "--idle-timeout",
        "--timeout",
        "--grace",
        "--fail-fast",
        "--data-dir",
        "--backend",
        "--ray-address",
    ):
        assert flag in proc.stdout
    assert "exit codes:" in proc.stdout
