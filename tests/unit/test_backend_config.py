"""The backend and cluster-resource keys: defaults, precedence, located errors, history."""

from __future__ import annotations

from pathlib import Path

import pytest

from oneshot_tui.config import ConfigError, RunConfig, load_run_config
from oneshot_tui.core.spec import RunSettings, TaskPolicy
from oneshot_tui.store.specs import (
    settings_from_json,
    settings_to_json,
    spec_from_json,
    spec_to_json,
)


def load(tmp_path: Path, text: str, **flags: object) -> RunConfig:
    path = tmp_path / "tasks.toml"
    path.write_text(text)
    return load_run_config(path, flags=flags, cwd=tmp_path, user_config=tmp_path / "none")


def test_defaults_run_locally_with_one_cpu_per_task(tmp_path: Path) -> None:
    config = load(tmp_path, '[[task]]\ncommand = "true"\n')
    assert config.settings.backend == "local"
    assert config.settings.ray_address is None
    (spec,) = config.specs
    assert spec.policy.num_cpus == 1.0
    assert dict(spec.policy.resources) == {}
    assert spec.policy.restart_on_node_lost == 0


def test_run_table_task_keys_and_flags_set_them(tmp_path: Path) -> None:
    text = """
[run]
backend = "ray"
ray_address = "10.0.0.1:6379"
num_cpus = 0.5
restart_on_node_lost = true

[[task]]
name = "plain"
command = "true"

[[task]]
name = "big"
command = "true"
num_cpus = 4
restart_on_node_lost = 0

[task.resources]
gpu_box = 1
licence = 0.25
"""
    config = load(tmp_path, text, ray_address="127.0.0.1:7000")
    settings = config.settings
    assert (settings.backend, settings.ray_address) == ("ray", "127.0.0.1:7000")
    plain, big = config.specs
    assert (plain.policy.num_cpus, plain.policy.restart_on_node_lost) == (0.5, 3)
    assert (big.policy.num_cpus, big.policy.restart_on_node_lost) == (4.0, 0)
    assert dict(big.policy.resources) == {"gpu_box": 1.0, "licence": 0.25}


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('[run]\nbackend = "spark"\n', 2, '"backend": expected one of local, ray'),
        ("[run]\nray_address = 5\n", 2, '"ray_address": expected a string'),
        ('[[task]]\ncommand = "true"\nnum_cpus = -1\n', 3, '"num_cpus": must be zero or more'),
        (
            '[[task]]\ncommand = "true"\nnum_cpus = 1.5\n',
            3,
            '"num_cpus": a fraction must be below 1',
        ),
        (
            '[[task]]\ncommand = "true"\n\n[task.resources]\ngpu_box = 1\nbad = "x"\n',
            6,
            '"resources": "bad": expected a number',
        ),
        (
            '[[task]]\ncommand = "true"\nresources = { CPU = 2 }\n',
            3,
            '"resources": "CPU" has a key of its own: set "num_cpus"',
        ),
        ('[[task]]\ncommand = "true"\nresources = 3\n', 3, '"resources": expected a table'),
        (
            '[[task]]\ncommand = "true"\nrestart_on_node_lost = -1\n',
            3,
            '"restart_on_node_lost": must be at least 0',
        ),
    ],
)
def test_bad_values_are_located(tmp_path: Path, text: str, line: int, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    assert caught.value.line == line, str(caught.value)
    assert message in caught.value.message


def test_a_bad_backend_flag_names_the_flag(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--backend: expected one of local, ray"):
        load(tmp_path, '[[task]]\ncommand = "true"\n', backend="spark")


def test_history_keeps_resources_and_the_backend_for_rerun(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        '[run]\nbackend = "ray"\n[[task]]\ncommand = "true"\nresources = { box = 2 }\n',
    )
    (spec,) = config.specs
    again = spec_from_json(spec_to_json(spec))
    assert again.policy == spec.policy
    assert isinstance(again.policy, TaskPolicy)
    settings: RunSettings = config.settings
    assert settings_from_json(settings_to_json(settings)) == settings


def test_forward_env_names_variables_and_survives_a_rerun(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        '[run]\nforward_env = ["ANTHROPIC_API_KEY", "HTTPS_PROXY"]\n[[task]]\ncommand = "true"\n',
    )
    assert config.settings.forward_env == ("ANTHROPIC_API_KEY", "HTTPS_PROXY")
    assert RunSettings().forward_env == ()  # nothing of ours is forwarded unless named
    assert settings_from_json(settings_to_json(config.settings)) == config.settings
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, '[run]\nforward_env = ["A=1"]\n[[task]]\ncommand = "true"\n')
    assert "tasks.toml:2" in str(caught.value) and "forward_env" in str(caught.value)
    assert "expected environment variable names, got 'A=1'" in str(caught.value)
