"""Settings of the `oneshot` command: worker and auditor executors, models, iterations, prompts,
budgets, the idle policy of a step, rate limits and `direct`'s endpoint.

Precedence, highest first: flags > `./oneshot-tui.toml` [oneshot] > the user's config [oneshot] >
the original oneshot's files: `--config FILE`, then `./.oneshot.json` and `./.oneshotrc` (in the
current directory), then `~/.oneshot.json` > defaults. (The original let HOME override the
current directory; here the nearer file wins.) An unknown key in our TOML files is an error naming
file, line and key; in the original's files it is reported and skipped, and `_comment`-style keys
(leading underscore) are ignored, as the original's own examples use them. The original's
`initial_timeout` (seconds of silence before a stalled step is acted on) and `max_timeout` (a wall
time) map to our idle and timeout settings.
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
    number,
    optional_seconds,
    positive_seconds,
    retries,
    seconds,
    strings,
    text,
)
from oneshot_tui.config.loader import PROJECT_CONFIG_NAME, _TomlFile, user_config_path
from oneshot_tui.core.spec import AGENTS, IdleAction

LEGACY_JSON = ".oneshot.json"
LEGACY_RC = ".oneshotrc"
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
        Field("max_cost_usd", number, "stop the loop as a runaway above this cost", "USD"),
        Field("max_tokens", integer(0), "stop the loop as a runaway above this many tokens", "N"),
        Field("max_tool_calls", integer(0), "stop the loop above this many tool calls", "N"),
        Field("retry_on_rate_limit", retries, "retries after a rate or usage limit", "N"),
        Field("max_rate_limit_wait", seconds, "the longest rate-limit wait worth waiting", "S"),
        Field("base_url", non_empty_text, "direct: the OpenAI-compatible endpoint", "URL"),
        Field("api_key", text, "direct: the endpoint's key (never shown)", "KEY"),
    )
}

RUN_KEYS: dict[str, Field] = {
    f.name: f
    for f in (
        Field(
            "idle_action",
            choice(tuple(a.value for a in IdleAction)),
            "a stalled step: none, interrupt (the loop) or restart (the step, in its session)",
            "ACTION",
        ),
        Field("idle_timeout", seconds, "seconds a step may stay idle before the idle action"),
        Field("idle_threshold", optional_seconds, "seconds without output before idle"),
        Field("timeout", optional_seconds, "wall-time limit of a whole loop"),
    )
}
"""[oneshot] keys that are task-policy settings of the loops it runs (as flags they exist too)."""

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


def _read_rc(text_: str) -> dict[str, Any]:
    """The original's `.oneshotrc`: `key=value` lines, `#` comments, optional quotes."""
    data: dict[str, Any] = {}
    for line in text_.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = (part.strip() for part in line.split("=", 1))
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        data[key.replace("-", "_")] = value
    return data


def _read_legacy(path: Path, settings: OneshotSettings, *, required: bool = False) -> None:
    try:
        raw = path.read_text()
    except FileNotFoundError:
        if required:
            raise ConfigError("no such file", path=path) from None
        return
    except OSError as exc:
        settings.warnings.append(f"{path}: ignored, cannot read it: {exc}")
        return
    data: Any
    if path.name.endswith("rc") or not raw.lstrip().startswith("{"):
        data = _read_rc(raw)
    else:
        try:
            data = json.loads(raw)
        except ValueError as exc:
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
            if key == "initial_timeout":
                settings.run_values.update(initial_timeout(seconds(value)))
            elif key == "max_timeout":
                settings.run_values["timeout"] = optional_seconds(value)
            elif key in ONESHOT_FIELDS:
                settings.values[key] = ONESHOT_FIELDS[key].convert(value)
            elif key in LEGACY_RUN_KEYS:
                settings.run_values[key] = LEGACY_RUN_KEYS[key](value)
            elif key in RUN_KEYS:
                settings.run_values[key] = RUN_KEYS[key].convert(value)
            else:
                settings.warnings.append(f'{path}: unknown key "{raw_key}" ignored')
        except FieldError as exc:
            settings.warnings.append(f'{path}: "{raw_key}" ignored: {exc}')


IDLE_THRESHOLD = 30.0


def initial_timeout(silence: float) -> dict[str, Any]:
    """The original's inactivity timeout: a step silent for `silence` seconds is stopped and run
    again (in its session). Here that is idle after min(30 s, silence), then the rest."""
    threshold = min(IDLE_THRESHOLD, silence) or None
    return {
        "idle_threshold": threshold,
        "idle_timeout": max(silence - (threshold or 0.0), 0.0),
        "idle_action": IdleAction.RESTART.value,
    }


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
        f = ONESHOT_FIELDS.get(key) or RUN_KEYS.get(key)
        if f is None:
            import difflib

            known = [*ONESHOT_FIELDS, *RUN_KEYS]
            close = difflib.get_close_matches(key, known, n=1)
            hint = f' (did you mean "{close[0]}"?)' if close else ""
            raise file.error(f'unknown key "{key}" in [oneshot]{hint}', ("oneshot", None), key)
        try:
            converted = f.convert(value)
        except FieldError as exc:
            raise file.error(f'"{key}": {exc}', ("oneshot", None), key) from None
        if key in RUN_KEYS:
            settings.run_values[key] = converted
        else:
            settings.values[key] = converted


def load_oneshot_settings(
    flags: Mapping[str, Any],
    *,
    cwd: Path | None = None,
    home: Path | None = None,
    user_config: Path | None = None,
    legacy_config: Path | None = None,
) -> OneshotSettings:
    settings = OneshotSettings()
    here = cwd or Path.cwd()
    _read_legacy((home or Path.home()) / LEGACY_JSON, settings)
    _read_legacy(here / LEGACY_RC, settings)
    _read_legacy(here / LEGACY_JSON, settings)
    if legacy_config is not None:
        _read_legacy(legacy_config, settings, required=True)
    _read_toml(user_config if user_config is not None else user_config_path(), settings)
    _read_toml(here / PROJECT_CONFIG_NAME, settings)
    for key, value in flags.items():
        if value is None:
            continue
        try:
            settings.values[key] = ONESHOT_FIELDS[key].convert(value)
        except FieldError as exc:
            raise ConfigError(f"--{key.replace('_', '-')}: {exc}") from None
    return settings
