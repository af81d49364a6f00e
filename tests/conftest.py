"""Shared fixtures: an isolated data dir and environment for every test; a private tmux server."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ui.tmux import Tmux


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test reads or writes the user's real config or data, or depends on their shell."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("ONESHOT_TUI_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("PYTHONUNBUFFERED", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    yield
    _stop_live_runs(tmp_path)


def _stop_live_runs(tmp_path: Path) -> None:
    """A test that failed half-way may leave a detached run serving (it stays open until told
    to stop): stop every run still live under the test's directory, so nothing outlives it."""
    sockets = list(tmp_path.glob("**/runs/*/control.sock"))
    if not sockets:
        return
    import signal

    from oneshot_tui.cli.live_runs import live_runs

    for data_dir in {socket.parents[2] for socket in sockets}:
        for run in live_runs(data_dir):
            if run.pid != os.getpid():  # a run served by this very process ends with its test
                with contextlib.suppress(ProcessLookupError):
                    os.kill(run.pid, signal.SIGTERM)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    """A tmux server of our own (its own socket), killed after the test."""
    server = Tmux(f"oneshot-test-{os.getpid()}-{tmp_path.name}")
    try:
        yield server
    finally:
        server.close()
