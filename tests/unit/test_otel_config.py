"""The otel keys: off by default, on from a [run] table or --otel, checked like every key."""

from __future__ import annotations

from pathlib import Path

import pytest

from oneshot_tui.config import ConfigError, load_run_config


def load(tmp_path: Path, text: str, **flags: object) -> tuple[bool, bool]:
    path = tmp_path / "tasks.toml"
    path.write_text(text + '\n[[task]]\ncommand = "true"\n')
    settings = load_run_config(
        path, flags=flags, cwd=tmp_path, user_config=tmp_path / "none"
    ).settings
    return settings.otel, settings.otel_capture_output


def test_otel_is_off_unless_asked(tmp_path: Path) -> None:
    assert load(tmp_path, "") == (False, False)
    assert load(tmp_path, "[run]\notel = true\notel_capture_output = true") == (True, True)
    assert load(tmp_path, "", otel=True) == (True, False)  # --otel


def test_a_wrong_otel_value_is_located(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"tasks.toml:2.*otel"):
        load(tmp_path, '[run]\notel = "yes please"')
