"""Fixtures for the UI tests: a private tmux server per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ui.tmux import Tmux


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    server = Tmux(f"oneshot-test-{os.getpid()}-{tmp_path.name}")
    try:
        yield server
    finally:
        server.close()
