"""Settings of the `oneshot` command: worker and auditor executors, models, iterations, prompts.

Precedence, highest first: flags > `./oneshot-tui.toml` [oneshot] > the user's config [oneshot] >
`~/.oneshot.json` (the original oneshot's file) > defaults. An unknown key in our TOML files is an
error naming file, line and key; in the original JSON file it is reported and skipped, and its
`_comment`-style keys (leading underscore) are ignored, as the original's own examples use them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oneshot_tui.config.errors import ConfigError
from oneshot_tui.config.fields import (
    Field,
    FieldError,
    choice,
    integer,
    non_empty_text,
    optional_seconds,
    positive_seconds,
    strings,
)
from oneshot_tui.config.loader import PROJECT_CONFIG_NAME, _TomlFile, user_config_path
from oneshot_tui.core.spec import AGENTS

LEGACY_JSON = ".oneshot.json"
DEFAULT_EXECUTOR = "claude"

ONESHOT_FIELDS: dict[str, Field] = {
    f.name: f
    for f in (
        Field("executor", choice(AGENTS), "the worker's agent executor", "E"),
        Field(
            "auditor_executor", choice(AGENTS), "the auditor's executor (default: --executor)", "E"
        ),
        Field("worker_model", non_empty_text, "the worker's model", "M"),
        Field("auditor_model", non_empty_text, "the auditor's model", "M"),
        Field("worker_args", strings, "extra flags for the worker CLI", "ARGS"),
        Field("auditor_args", strings, "extra flags for the auditor CLI", "ARGS"),
        Field("max_iterations", integer(1), "worker runs to judge before giving up", "N"),
        Field("worker_prompt_header", non_empty_text, "first line of the worker's prompt", "H"),
        Field("reworker_prompt_header", non_empty_text, "first line of a retry's prompt", "H"),
        Field("auditor_prompt_header", non_empty_text, "first line of the auditor's prompt", "H"),
        Field("worker_template", non_empty_text, "the whole worker prompt template", "T"),
        Field("reworker_template", non_empty_text, "the whole retry prompt template", "T"),
        Field("auditor_template", non_empty_text, "the whole auditor prompt template", "T"),
    )
}

# Keys of the original oneshot's JSON file that mean something here under another name, and
# those that no longer do (its web UI, its log files): accepted without a complaint.
LEGACY_RENAMES = {"model": "worker_model"}
LEGACY_RUN_KEYS = {
    "max_concurrent": integer(1),
    "idle_threshold": optional_seconds,
    "heartbeat_interval": positive_seconds,
}
LEGACY_IGNORED = frozenset(
    {
        "initial_timeout",
        "max_timeout",
        "activity_interval",
        "web_port",
        "tui_refresh",
        "keep_log",
        "logs_dir",
        "session_log",
        "verbose",
        "debug",
    }
)


@dataclass
class OneshotSettings:
    values: dict[str, Any] = field(default_factory=dict)
    run_values: dict[str, Any] = field(default_factory=dict)
    """`[run]`-level values found only in the original JSON file (max_concurrent, ...)."""
    warnings: list[str] = field(default_factory=list)
    sources: list[Path] = field(default_factory=list)

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    @property
    def executor(self) -> str:
        value: str = self.values.get("executor", DEFAULT_EXECUTOR)
        return value

    @property
    def auditor_executor(self) -> str:
        value: str = self.values.get("auditor_executor", self.executor)
        return value


def _read_legacy(path: Path, settings: OneshotSettings) -> None:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return
    except (OSError, ValueError) as exc:
        settings.warnings.append(f"{path}: ignored, cannot read it: {exc}")
        return
    if not isinstance(data, dict):
        settings.warnings.append(f"{path}: ignored, it is not a JSON object")
        return
    settings.sources.append(path)
    for raw_key, value in data.items():
        if raw_key.startswith("_") or raw_key in LEGACY_IGNORED:
            continue
        key = LEGACY_RENAMES.get(raw_key, raw_key)
        try:
            if key in ONESHOT_FIELDS:
                settings.values[key] = ONESHOT_FIELDS[key].convert(value)
            elif key in LEGACY_RUN_KEYS:
                settings.run_values[key] = LEGACY_RUN_KEYS[key](value)
            else:
                settings.warnings.append(f'{path}: unknown key "{raw_key}" ignored')
        except FieldError as exc:
            settings.warnings.append(f'{path}: "{raw_key}" ignored: {exc}')


def _read_toml(path: Path, settings: OneshotSettings) -> None:
    if not path.is_file():
        return
    file = _TomlFile.read(path)
    table = file.data.get("oneshot")
    if table is None:
        return
    if not isinstance(table, dict):
        raise file.error('"oneshot" must be a table: [oneshot]', ("", None), "oneshot")
    settings.sources.append(path)
    for key, value in table.items():
        f = ONESHOT_FIELDS.get(key)
        if f is None:
            import difflib

            close = difflib.get_close_matches(key, list(ONESHOT_FIELDS), n=1)
            hint = f' (did you mean "{close[0]}"?)' if close else ""
            raise file.error(f'unknown key "{key}" in [oneshot]{hint}', ("oneshot", None), key)
        try:
            settings.values[key] = f.convert(value)
        except FieldError as exc:
            raise file.error(f'"{key}": {exc}', ("oneshot", None), key) from None


def load_oneshot_settings(
    flags: Mapping[str, Any],
    *,
    cwd: Path | None = None,
    home: Path | None = None,
    user_config: Path | None = None,
) -> OneshotSettings:
    settings = OneshotSettings()
    _read_legacy((home or Path.home()) / LEGACY_JSON, settings)
    _read_toml(user_config if user_config is not None else user_config_path(), settings)
    _read_toml((cwd or Path.cwd()) / PROJECT_CONFIG_NAME, settings)
    for key, value in flags.items():
        if value is None:
            continue
        try:
            settings.values[key] = ONESHOT_FIELDS[key].convert(value)
        except FieldError as exc:
            raise ConfigError(f"--{key.replace('_', '-')}: {exc}") from None
    return settings
