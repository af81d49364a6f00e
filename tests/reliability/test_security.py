"""Commands run literally, names show literally, and secrets stay out of what we write."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import cli_argv

SECRET = "sk-test-0123456789abcdef"


def test_lists_never_pass_through_a_shell_and_odd_names_are_shown_literally(tmp_path: Path) -> None:
    pwned = tmp_path / "pwned"
    name = 'it\'s "$(touch PWNED)"\nnew line — ünïcødé'
    task_file = tmp_path / "t.toml"
    task_file.write_text(
        "[[task]]\n"
        f"name = {json.dumps(name)}\n"
        f'command = [{json.dumps(sys.executable)}, "-c", "import sys; print(sys.argv[1])", '
        f'"$(touch {pwned}) `touch {pwned}` ; touch {pwned}"]\n'
    )
    proc = subprocess.run(
        [*cli_argv(), "run", str(task_file), "--json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert not pwned.exists() and not (tmp_path / "PWNED").exists()
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    output = [e for e in events if e["event"] == "output"]
    assert output[0]["task"] == name
    assert output[0]["line"] == f"$(touch {pwned}) `touch {pwned}` ; touch {pwned}"
    text = subprocess.run(
        [*cli_argv(), "run", str(task_file), "--no-ui"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    first = text.stdout.splitlines()[0]
    assert first.startswith('it\'s "$(touch PWNED)"\\nnew line — ünïcødé | $(touch')


def test_secret_values_from_env_and_task_files_never_reach_logs_output_or_ndjson(
    tmp_path: Path,
) -> None:
    task_file = tmp_path / "t.toml"
    task_file.write_text(
        "[[task]]\n"
        'name = "leaky"\n'
        'command = "echo key=$OPENAI_API_KEY; echo token=$SERVICE_TOKEN; env | grep -c PASSWORD"\n'
        "[task.env]\n"
        'SERVICE_TOKEN = "tok-from-the-task-file-42"\n'
        'DB_PASSWORD = "hunter2-but-longer"\n'
    )
    env = {**os.environ, "OPENAI_API_KEY": SECRET}
    for mode in ("--json", "--no-ui"):
        proc = subprocess.run(
            [*cli_argv(), "run", str(task_file), mode, "-c", f"echo {SECRET}"],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        everything = proc.stdout + proc.stderr
        for secret in (SECRET, "tok-from-the-task-file-42", "hunter2-but-longer"):
            assert secret not in everything
        assert "key=[REDACTED]" in everything and "token=[REDACTED]" in everything
    data_dir = Path(os.environ["ONESHOT_TUI_HOME"])
    logs = list(data_dir.rglob("*.log"))
    assert logs
    for log in logs:
        content = log.read_bytes()
        assert SECRET.encode() not in content and b"tok-from-the-task-file-42" not in content


def test_history_keeps_no_secret_and_rerun_takes_it_from_the_environment(tmp_path: Path) -> None:
    task_file = tmp_path / "t.toml"
    task_file.write_text(
        '[[task]]\nname = "uses-token"\ncommand = "test -n \\"$SERVICE_TOKEN\\" && echo ok"\n'
        '[task.env]\nSERVICE_TOKEN = "tok-from-the-task-file-42"\nPLAIN = "visible"\n'
    )
    proc = subprocess.run(
        [*cli_argv(), "run", str(task_file), "--no-ui"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    data_dir = Path(os.environ["ONESHOT_TUI_HOME"])
    stored = b"".join(p.read_bytes() for p in data_dir.glob("history.db*"))
    assert b"tok-from-the-task-file-42" not in stored
    assert b"visible" in stored
    env = {k: v for k, v in os.environ.items() if k != "SERVICE_TOKEN"}
    proc = subprocess.run(
        [*cli_argv(), "rerun", "last", "--no-ui"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 2
    assert "SERVICE_TOKEN is a secret, and history does not keep secrets" in proc.stderr
    proc = subprocess.run(
        [*cli_argv(), "rerun", "last", "--no-ui"],
        capture_output=True,
        text=True,
        env={**env, "SERVICE_TOKEN": "from-the-env-123"},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "uses-token | ok" in proc.stdout
