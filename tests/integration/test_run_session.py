"""One place runs a run (orchestrator/session.py): every front end opens the backend the same way
and says a backend that cannot be had in the same one line, exit 2, before anything starts."""

from __future__ import annotations

import shlex
import socket
import subprocess
from pathlib import Path

import pytest

from oneshot_tui.core.exit_codes import ExitCode, exit_code_for, usage_error
from oneshot_tui.core.spec import RunSettings, TaskSpec
from oneshot_tui.orchestrator.session import RunSession
from oneshot_tui.runner.backend import BackendError
from tests.helpers import cli_argv
from tests.ui.tmux import Tmux, environment, needs_tmux


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def unreachable() -> list[str]:
    return ["--backend", "ray", "--ray-address", f"127.0.0.1:{closed_port()}"]


def expected_line(stderr: str, prog: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"{prog}: error: cannot connect to the Ray cluster at 127.0.0.1:")
    return lines[0].split(":", 1)[1]


def run(argv: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = environment(tmp_path)
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120, check=False)


def test_headless_and_oneshot_say_an_unreachable_cluster_the_same_way(tmp_path: Path) -> None:
    cluster = unreachable()
    headless = run([*cli_argv(), "run", "--no-ui", "-c", "true", *cluster], tmp_path)
    oneshot = [str(Path(cli_argv()[0]).parent / "oneshot"), "--executor", "direct"]
    loop = run([*oneshot, "--worker-model", "m", *cluster, "say hi"], tmp_path)
    assert headless.returncode == loop.returncode == ExitCode.USAGE
    assert headless.stdout == loop.stdout == ""
    assert expected_line(headless.stderr, "oneshot-tui") == expected_line(loop.stderr, "oneshot")
    assert not (tmp_path / "data" / "history.db").exists()  # nothing started, nothing recorded


@needs_tmux
def test_the_tui_says_it_in_the_same_line_and_exits_2(tmux: Tmux, tmp_path: Path) -> None:
    command = shlex.join([*cli_argv(), "run", "-c", "echo never", *unreachable()])
    tmux.start(command, environment(tmp_path), size=(100, 30))
    screen = tmux.wait_text("EXIT=")
    assert "EXIT=2" in screen
    assert "oneshot-tui: error: cannot connect to the Ray cluster at 127.0.0.1:" in screen
    assert "Traceback" not in screen and "ExceptionGroup" not in screen


async def test_a_session_raises_the_usage_error_before_anything_starts(tmp_path: Path) -> None:
    settings = RunSettings(backend="ray", ray_address=f"127.0.0.1:{closed_port()}")
    session = RunSession([TaskSpec("t", "echo hi")], settings, data_dir=tmp_path)
    events = session.bus.subscribe("test")
    with pytest.raises(BackendError) as caught:
        await session.run()
    assert exit_code_for(caught.value) == ExitCode.USAGE
    assert usage_error(BaseExceptionGroup("one", [caught.value])) is caught.value
    assert events.receive_nowait() == []  # not even run_started was published
