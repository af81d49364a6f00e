"""A run that fills its disk still reaches the history as it really ended.

The guarantee: when a task's log takes the last block (the task is stopped for it) and the
history cannot be written either, the run's end is still recorded truly (finished, exit 1, the
completed task completed, the stopped one interrupted with its reason), never `lost` with a
completed task `failed (lost)` that `rerun --failed` would run again. The disk is a real small
tmpfs, mounted in a mount namespace of the test's own (`unshare`), so nothing else sees it.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import cli_argv


def _in_own_mount_namespace(script: str) -> subprocess.CompletedProcess[str]:
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("no unshare(1) to mount a small tmpfs")
    probe = subprocess.run([unshare, "-rm", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot make a mount namespace here: {probe.stderr.decode().strip()}")
    return subprocess.run(
        [unshare, "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=120
    )


def test_a_run_that_fills_the_disk_is_recorded_as_it_ended(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    cli = shlex.join(cli_argv())
    script = f"""
set -e
mount -t tmpfs -o size=6m tmpfs {disk}
export ONESHOT_TUI_HOME={disk}/data
code=0
{cli} run --no-ui -c 'echo=echo ok' -c 'sleep=sleep 0.5; yes | head -c 8000000' >/dev/null \
    2>{tmp_path}/run.err || code=$?
echo "$code" >{tmp_path}/code
ls -A {disk}/data/runs/* >{tmp_path}/listing
rm {disk}/data/runs/*/sleep.log  # later, someone frees the disk
{cli} show last --json >{tmp_path}/show.json 2>{tmp_path}/show.err
"""
    done = _in_own_mount_namespace(script)
    assert done.returncode == 0, done.stderr + _read(tmp_path / "show.err")
    run_err = _read(tmp_path / "run.err")
    assert _read(tmp_path / "code").strip() == "1", run_err
    assert "No space left on device; stopped to lose no more output" in run_err
    record = json.loads(_read(tmp_path / "show.json"))
    assert (record["run"]["status"], record["run"]["exit_code"]) == ("finished", 1)
    tasks = {t["name"]: t for t in record["tasks"]}
    assert (tasks["echo"]["state"], tasks["echo"]["exit_code"]) == ("completed", 0)
    assert tasks["sleep"]["state"] == "interrupted"
    assert "cannot write its log" in tasks["sleep"]["reason"]
    listing = _read(tmp_path / "listing").split()
    assert "echo.log" in listing and ".history-reserve" not in listing  # given back at the end


def _read(path: Path) -> str:
    return path.read_text() if path.exists() else ""
