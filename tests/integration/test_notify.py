"""Notifications: the command notifier gets each alert as JSON on its stdin (a real script); a
headless run on a terminal rings the bell and writes OSC 9 / OSC 777 to it (read from a real
pty), wrapped for tmux inside tmux; by default only the bell, only when a task needs you."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers import cli_argv

FAIL = f"{sys.executable} -c 'raise SystemExit(3)'"
OK = f"{sys.executable} -c pass"


def test_the_command_notifier_gets_an_alert_per_mark_and_one_at_the_end(tmp_path: Path) -> None:
    alerts = tmp_path / "alerts.ndjson"
    notifier = tmp_path / "notifier.sh"
    notifier.write_text(f"#!/bin/sh\ncat >> {alerts}\n")
    notifier.chmod(0o755)
    tasks = tmp_path / "tasks.toml"
    tasks.write_text(
        f'[run]\nnotify = ["command"]\nnotify_command = "{notifier}"\n'
        f'[[task]]\nname = "bad"\ncommand = "{FAIL}"\n'
        f'[[task]]\nname = "good"\ncommand = "{OK}"\n'
    )
    done = subprocess.run(
        [*cli_argv(), "run", "--no-ui", str(tasks)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1, done.stderr
    got = [json.loads(line) for line in alerts.read_text().splitlines()]
    assert [(a["event"], a["task"]) for a in got] == [("attention", "bad"), ("finished", None)]
    assert got[0]["title"] == "bad needs you" and got[0]["body"] == "failed: exit 3"
    assert got[1]["exit_code"] == 1 and got[1]["body"] == "exit 1, 1 failed"


def on_a_terminal(argv: list[str], env: dict[str, str], timeout: float = 60) -> tuple[bytes, int]:
    """Run `argv` with its stdout and stderr on a real pty; everything it wrote there."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower, env=env
    )
    os.close(follower)
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: every writer closed it
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    os.close(leader)
    return out, proc.wait(timeout=10)


def failing(tmp_path: Path) -> str:
    """A task file with one task, `bad`, that fails (exit 3)."""
    tasks = tmp_path / "bad.toml"
    tasks.write_text(f'[[task]]\nname = "bad"\ncommand = "{FAIL}"\n')
    return str(tasks)


def test_a_headless_run_on_a_terminal_rings_and_writes_osc(tmp_path: Path) -> None:
    env = {**os.environ, "ONESHOT_TUI_HOME": str(tmp_path / "data")}
    env.pop("TMUX", None)
    argv = [*cli_argv(), "run", "--no-ui", "--notify", "bell,osc", failing(tmp_path)]
    out, code = on_a_terminal(argv, env)
    assert code == 1
    assert b"\x1b]9;bad needs you: failed: exit 3\x07" in out
    assert b"\x1b]777;notify;bad needs you;failed: exit 3\x07" in out
    assert b"\x1b]777;notify;run " in out and b" ended;exit 1, 1 failed\x07" in out
    assert out.count(b"\a") >= 2 + 2  # a bell per alert, and each OSC ends with BEL


def test_inside_tmux_osc_is_wrapped_and_by_default_only_the_bell_rings(tmp_path: Path) -> None:
    env = {**os.environ, "ONESHOT_TUI_HOME": str(tmp_path / "data"), "TMUX": "/tmp/x,1,0"}
    run = [*cli_argv(), "run", "--no-ui"]
    out, _ = on_a_terminal([*run, "--notify", "osc", failing(tmp_path)], env)
    assert b"\x1bPtmux;\x1b\x1b]9;bad needs you: failed: exit 3\x07" in out
    quiet, _ = on_a_terminal([*run, failing(tmp_path)], env)
    assert b"\x1b]" not in quiet.replace(b"\x1b]8;", b"")  # no OSC notification (links aside)
    assert quiet.count(b"\a") == 1  # the bell, once: a task needs you (not for the run's end)
    none, _ = on_a_terminal([*run, "--notify", "none", failing(tmp_path)], env)
    assert b"\a" not in none


def test_a_bad_notifier_is_a_config_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [*cli_argv(), "run", "--no-ui", "--notify", "bell,pager", "-c", "true"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "ONESHOT_TUI_HOME": str(tmp_path / "data")},
    )
    assert done.returncode == 2
    assert "--notify: expected notifiers among bell, osc, desktop, command" in done.stderr
