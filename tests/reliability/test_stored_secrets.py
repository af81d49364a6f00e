"""What we store keeps no secret: a secret's value typed literally into a command (a `-c`
string, an argv list) is kept in history by the name of its variable, never in clear, and
`rerun` takes the value back from the environment, or refuses naming the variable."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.helpers import cli_argv

SECRET = "sk-literal-0123456789abcdef"


def _cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*cli_argv(), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        check=False,
        timeout=60,
    )


def test_a_literal_secret_is_stored_by_name_and_rerun_takes_it_from_the_environment(
    tmp_path: Path,
) -> None:
    task_file = tmp_path / "t.toml"
    task_file.write_text(
        '[[task]]\nname = "as-list"\n'
        f'command = ["sh", "-c", "printf %s \\"$0\\" > list.txt", "{SECRET}"]\n'
    )
    with_secret = {**os.environ, "OPENAI_API_KEY": SECRET}
    proc = _cli(
        "run",
        str(task_file),
        "--no-ui",
        "-c",
        f"printf %s {SECRET} > string.txt",
        env=with_secret,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "string.txt").read_text() == SECRET
    data_dir = Path(os.environ["ONESHOT_TUI_HOME"])
    stored = b"".join(p.read_bytes() for p in data_dir.glob("history.db*"))
    assert SECRET.encode() not in stored
    assert b"[REDACTED:OPENAI_API_KEY]" in stored
    for command in (("show", "last", "--json"), ("history", "--json"), ("show", "last")):
        shown = _cli(*command, env=with_secret, cwd=tmp_path)
        assert shown.returncode == 0, shown.stderr
        assert SECRET not in shown.stdout + shown.stderr
    run = json.loads(_cli("show", "last", "--json", env=with_secret, cwd=tmp_path).stdout)["run"]
    assert "printf %s [REDACTED:OPENAI_API_KEY] > string.txt" in run["argv"]

    without = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    refused = _cli("rerun", "last", "--no-ui", env=without, cwd=tmp_path)
    assert refused.returncode == 2
    assert "OPENAI_API_KEY" in refused.stderr and "set OPENAI_API_KEY" in refused.stderr

    (tmp_path / "string.txt").unlink()
    now = "sk-the-value-of-today-42"
    again = _cli("rerun", "last", "--no-ui", env={**without, "OPENAI_API_KEY": now}, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "string.txt").read_text() == now
    assert (tmp_path / "list.txt").read_text() == now
