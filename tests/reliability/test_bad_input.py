"""Bad input gets a clear error and loses nothing."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from pathlib import Path

import anyio
import pytest

from oneshot_tui.core.events import Output, StateChanged
from oneshot_tui.core.spec import TaskPolicy, TaskSpec
from oneshot_tui.core.states import TaskState as S
from oneshot_tui.orchestrator import Orchestrator
from tests.helpers import Watcher, cli_argv, run_recorded


async def test_a_cwd_deleted_mid_run_ends_the_attempt_and_a_restart_says_why(
    data_dir: Path, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    spec = TaskSpec("w", "echo started; sleep 0.5; pwd; echo done", cwd=str(work))
    orch = Orchestrator([spec], data_dir=data_dir)
    watcher = Watcher(orch.bus)
    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: orch.run(stay_open=True))
        await watcher.wait_for(lambda e: isinstance(e, Output) and "started" in e.text)
        shutil.rmtree(work)
        await watcher.wait_for(lambda e: isinstance(e, StateChanged) and e.target.ended)
        assert orch.restart("w")
        again = await watcher.wait_state("w", S.FAILED)
        orch.shutdown()
    assert again.attempt == 2
    assert again.reason == f"working directory does not exist: {work}"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            '[[task]]\ncommand = "true"\nenv = { "BAD NAME" = "x" }\n',
            ':3: invalid environment variable name "BAD NAME"',
        ),
        (
            '[[task]]\ncommand = "true"\n[task.env]\nNUL = "a\\u0000b"\n',
            ':4: environment variable "NUL" contains a NUL byte',
        ),
        ('[[task]]\ncommand = "   "\n', ':2: "command" is empty'),
        ("[[task]]\ncommand = []\n", ':2: "command" must be a string'),
        ('[[task]]\ncommand = ["", "x"]\n', ':2: "command": the program (first element) is empty'),
        ('[run]\ntimeout = "soon"\n', ':2: "timeout": expected a duration'),
        (b"[run]\nmax_concurrent = 2 # \xff\n".decode("latin-1"), ":2: not valid UTF-8"),
    ],
)
def test_bad_values_are_refused_with_file_and_line(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "bad.toml"
    if "not valid UTF-8" in message:
        path.write_bytes(content.encode("latin-1"))
    else:
        path.write_text(content)
    proc = subprocess.run(
        [*cli_argv(), "run", str(path), "--no-ui"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2
    assert f"{path}{message}" in proc.stderr, proc.stderr


def test_an_empty_c_command_and_a_non_executable_file(tmp_path: Path) -> None:
    proc = subprocess.run(
        [*cli_argv(), "run", "--no-ui", "-c", ""], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2 and "-c: the command is empty" in proc.stderr
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    task = tmp_path / "t.toml"
    task.write_text(f'[[task]]\nname = "s"\ncommand = ["{script}"]\n')
    proc = subprocess.run(
        [*cli_argv(), "run", str(task), "--no-ui", "-c", "echo=echo other"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert f"s: created -> failed (not executable: {script})" in proc.stderr
    assert "echo | other" in proc.stdout


async def test_a_log_that_cannot_be_written_stops_the_task_with_the_reason(data_dir: Path) -> None:
    # /dev/full answers every write with ENOSPC: a disk that fills up while the task runs.
    run_dir = data_dir / "runs" / "run-full"
    run_dir.mkdir(parents=True)
    (run_dir / "chatty.log").symlink_to("/dev/full")
    spec = TaskSpec(
        "chatty", "while true; do echo line; sleep 0.01; done", policy=TaskPolicy(grace=1)
    )
    orch = Orchestrator(
        [spec, TaskSpec("other", "echo fine")], data_dir=data_dir, run_id="run-full"
    )
    result, watcher = await run_recorded(orch)
    by_id = {r.task_id: r for r in result.results}
    assert by_id["chatty"].state is S.INTERRUPTED
    assert "cannot write its log" in by_id["chatty"].reason
    assert "No space left on device" in by_id["chatty"].reason
    assert by_id["other"].state is S.COMPLETED
    assert "line" in watcher.output_text("chatty")  # what it printed still reached the display


def test_a_full_data_dir_is_refused_before_anything_starts(tmp_path: Path) -> None:
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here to fill: {mounted.stderr.strip()}")
    try:
        with (mount_point / "filler").open("wb") as f, contextlib.suppress(OSError):
            while True:
                f.write(b"x" * 65536)
        marker = tmp_path / "started"
        proc = subprocess.run(
            [
                *cli_argv(),
                "run",
                "--no-ui",
                "--data-dir",
                str(mount_point / "d"),
                "-c",
                f"touch {marker}",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 2
        assert f"data dir {mount_point / 'd'}" in proc.stderr
        assert "full" in proc.stderr or "No space left" in proc.stderr
        assert not marker.exists()
    finally:
        subprocess.run(["umount", str(mount_point)], check=False)
