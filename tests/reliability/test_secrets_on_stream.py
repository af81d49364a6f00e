"""Redaction works on the stream, not on the chunk: a secret cut by a read (a pause between two
writes, or one big write that a pipe read cuts through) never reaches stdout, NDJSON or the log.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from oneshot_tui.core.events import Output
from oneshot_tui.core.spec import TaskSpec
from oneshot_tui.orchestrator import Orchestrator
from tests.helpers import cli_argv, run_recorded

SECRET = "sk-xxxxxxxxxxxx0123"
SPLIT = 'printf "split=sk-xxxxxx"; sleep 0.3; printf "xxxxxx0123\\n"'


def _logs(data_dir: Path) -> bytes:
    logs = sorted(data_dir.rglob("*.log"))
    assert logs
    return b"".join(log.read_bytes() for log in logs)


def test_a_secret_written_in_two_pieces_is_redacted_on_stdout_ndjson_and_the_log(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "OPENAI_API_KEY": SECRET}
    data_dir = Path(os.environ["ONESHOT_TUI_HOME"])
    for mode in ("--no-ui", "--json"):
        proc = subprocess.run(
            [*cli_argv(), "run", mode, "-c", SPLIT],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            check=False,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        assert SECRET not in proc.stdout + proc.stderr
        if mode == "--json":
            lines = [json.loads(line) for line in proc.stdout.splitlines()]
            output = [e["line"] for e in lines if e["event"] == "output"]
            assert output == ["split=[REDACTED]"]
        else:
            assert "| split=[REDACTED]" in proc.stdout
    logs = _logs(data_dir)
    assert SECRET.encode() not in logs and b"xxxxxx0123" not in logs
    assert logs.count(b"split=[REDACTED]\n") == 2


async def test_one_big_write_that_reads_cut_through_secrets_loses_none_and_leaks_none(
    data_dir: Path,
) -> None:
    """1 MiB in one write: the 64 KiB pipe makes the reads cut it, most cuts inside a secret
    (a record is the secret and 3 bytes more)."""
    records = 40_000
    script = (
        "import os, sys\n"
        f"data = (b'S=' + sys.argv[1].encode() + b'\\n') * {records}\n"
        "view = memoryview(data)\n"
        "while view:\n"
        "    view = view[os.write(1, view):]\n"
    )
    spec = TaskSpec("big", (sys.executable, "-c", script, SECRET), env={"DEMO_TOKEN": SECRET})
    orch = Orchestrator([spec], data_dir=data_dir)
    result, watcher = await run_recorded(orch)
    assert result.exit_code == 0
    text = "\n".join(
        e.text for e in watcher.all() if isinstance(e, Output) and e.task_id == "big" and e.lines
    )
    assert SECRET not in text
    assert text.split("\n") == ["S=[REDACTED]"] * records
    logs = _logs(data_dir)
    assert SECRET.encode() not in logs
    assert logs == b"S=[REDACTED]\n" * records
