"""The user dirs found without platformdirs are the ones platformdirs names."""

from __future__ import annotations

from pathlib import Path

import platformdirs
import pytest

from oneshot_tui.core.userdirs import APP, user_dir


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"XDG_DATA_HOME": "/x/data", "XDG_CONFIG_HOME": "/x/config"},
        {"XDG_DATA_HOME": "", "XDG_CONFIG_HOME": ""},
        {"XDG_DATA_HOME": "relative/data", "XDG_CONFIG_HOME": "relative/config"},
        {"HOME": "relative-home"},
    ],
)
def test_user_dirs_are_platformdirs_ones(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    monkeypatch.setenv("HOME", "/home/someone")
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    assert user_dir("data") == Path(platformdirs.user_data_dir(APP, appauthor=False))
    assert user_dir("config") == Path(platformdirs.user_config_dir(APP, appauthor=False))
